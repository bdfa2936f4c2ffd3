//! A net file's places, and the initial tokens of shared places, counted
//! against the host's ceiling before any is made.

use indexmap::IndexMap;
use toml::Spanned;

use super::{Ctx, RawPlace, check_name};
use crate::net::{NetError, Place};

pub(super) fn parse_places(
    cx: &Ctx<'_>,
    raw: &IndexMap<Spanned<String>, Spanned<RawPlace>>,
) -> Result<Vec<Place>, NetError> {
    let mut places = Vec::with_capacity(raw.len());
    // Initial tokens left to the whole net (a stored net was checked when deployed).
    let mut budget = if cx.stored {
        u64::MAX
    } else {
        cx.limits.initial_tokens
    };
    for (name, p) in raw {
        let field = format!("places.{}", name.get_ref());
        check_name(cx, name, &field)?;
        let span = p.span();
        let p = p.get_ref();
        if let Some(c) = &p.capacity
            && *c.get_ref() == 0
        {
            return Err(cx.err(
                c.span(),
                format!("{field}.capacity"),
                "capacity 0 (expected at least 1, or no `capacity` for an unbounded place)",
            ));
        }
        if p.shared && (p.start || p.is_final) {
            return Err(cx.err(
                span,
                &field,
                "a shared place cannot be `start` or `final` (those are per-case places)",
            ));
        }
        let initial = match &p.initial {
            None => Vec::new(),
            Some(v) if !p.shared => {
                return Err(cx.err(v.span(), format!("{field}.initial"), "`initial` tokens are only for `shared = true` places (a case's tokens come with `petrel start`)"));
            }
            Some(v) => initial_tokens(cx, v, &format!("{field}.initial"), &mut budget)?,
        };
        if let Some(c) = &p.capacity
            && initial.len() > *c.get_ref() as usize
        {
            return Err(cx.err(
                span,
                format!("{field}.initial"),
                format!(
                    "{} initial tokens exceed the capacity {}",
                    initial.len(),
                    c.get_ref()
                ),
            ));
        }
        places.push(Place {
            name: name.get_ref().clone(),
            capacity: p.capacity.as_ref().map(|c| *c.get_ref()),
            shared: p.shared,
            is_final: p.is_final,
            start: p.start,
            initial,
            line: cx.line(name.span()),
        });
    }
    Ok(places)
}

/// `initial = 3` (three tokens with a nil payload) or `initial = [{..}, {..}]`
/// (one token per element, the element as its payload), counted against
/// what is left of the net's `budget` before any token is made.
fn initial_tokens(
    cx: &Ctx<'_>,
    value: &Spanned<toml::Value>,
    field: &str,
    budget: &mut u64,
) -> Result<Vec<serde_json::Value>, NetError> {
    let count = match value.get_ref() {
        toml::Value::Integer(n) => u64::try_from(*n).unwrap_or(0),
        toml::Value::Array(items) => items.len() as u64,
        _ => 0,
    };
    if count > *budget {
        return Err(cx.err(
            value.span(),
            field,
            format!(
                "{count} initial tokens exceed what is left of the net's ceiling of {} initial tokens ({} left; `[limits] initial_tokens` in petrel.toml)",
                cx.limits.initial_tokens, budget
            ),
        ));
    }
    *budget -= count;
    match value.get_ref() {
        toml::Value::Integer(n) if (0..=1_000_000).contains(n) => {
            Ok(vec![serde_json::Value::Null; *n as usize])
        }
        toml::Value::Array(items) => items
            .iter()
            .map(|item| {
                serde_json::to_value(item).map_err(|e| {
                    cx.err(
                        value.span(),
                        field,
                        format!("token payload is not representable: {e}"),
                    )
                })
            })
            .collect(),
        other => Err(cx.err(
            value.span(),
            field,
            format!(
                "expected a token count (0..=1000000) or an array of payloads, found {}",
                other.type_str()
            ),
        )),
    }
}
