//! Fields of external transitions performed by people: `human = true`,
//! per-outcome `forms` (JSON Schemas written in TOML), and the deadline of
//! an unclaimed offer (`offer_timeout_ms`, with `on_timeout`).

use indexmap::IndexMap;
use toml::Spanned;

use super::Ctx;
use crate::net::{NetError, Outcome, Performer};

/// How long an offer waits for a worker unless `offer_timeout_ms` says
/// (when the transition has `on_timeout`): a day.
pub const DEFAULT_OFFER_TIMEOUT_MS: u64 = 86_400_000;
/// Longest `offer_timeout_ms`: 30 days.
pub const MAX_OFFER_TIMEOUT_MS: u64 = 30 * DEFAULT_OFFER_TIMEOUT_MS;
/// Largest form (its JSON), so a net file cannot make every offer huge.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

pub(super) type RawForms = IndexMap<Spanned<String>, Spanned<toml::Value>>;

/// Sets each outcome's form from `forms`; only external transitions have
/// them, each names a declared outcome and is a JSON Schema.
pub(super) fn forms(
    cx: &Ctx<'_>,
    raw: Option<&Spanned<RawForms>>,
    performer: &Performer,
    outcomes: &mut [Outcome],
    field: &str,
) -> Result<(), NetError> {
    let Some(raw) = raw else {
        return Ok(());
    };
    if *performer != Performer::External {
        return Err(cx.err(
            raw.span(),
            format!("{field}.forms"),
            "forms are filled by people: only an external transition (`human = true` or `external = true`) has them",
        ));
    }
    for (name, schema) in raw.get_ref() {
        let of = format!("{field}.forms.{}", name.get_ref());
        let Some(outcome) = outcomes.iter_mut().find(|o| &o.name == name.get_ref()) else {
            let known: Vec<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
            return Err(cx.err(
                name.span(),
                of,
                format!(
                    "unknown outcome `{}` (declared outcomes: {})",
                    name.get_ref(),
                    known.join(", ")
                ),
            ));
        };
        let json = serde_json::to_value(schema.get_ref())
            .map_err(|e| cx.err(schema.span(), &of, format!("not expressible as JSON: {e}")))?;
        let size = serde_json::to_vec(&json).map_or(usize::MAX, |b| b.len());
        if size > MAX_FORM_BYTES {
            return Err(cx.err(
                schema.span(),
                &of,
                format!("a form of {size} bytes (as JSON); at most {MAX_FORM_BYTES}"),
            ));
        }
        if !json.is_object() {
            return Err(cx.err(
                schema.span(),
                &of,
                "expected a table: a JSON Schema such as `type = \"object\"` with `properties`",
            ));
        }
        if let Err(e) = jsonschema::meta::validate(&json) {
            return Err(cx.err(schema.span(), &of, format!("not a valid JSON Schema: {e}")));
        }
        outcome.form = Some(json);
    }
    Ok(())
}

/// The offer deadline of a transition: only an external one with
/// `on_timeout` has one (`offer_timeout_ms`, or a day).
pub(super) fn offer_timeout(
    cx: &Ctx<'_>,
    raw: Option<&Spanned<u64>>,
    performer: &Performer,
    on_timeout: Option<usize>,
    field: &str,
) -> Result<Option<u64>, NetError> {
    let external = *performer == Performer::External;
    let Some(raw) = raw else {
        return Ok((external && on_timeout.is_some()).then_some(DEFAULT_OFFER_TIMEOUT_MS));
    };
    let of = format!("{field}.offer_timeout_ms");
    if !external {
        return Err(cx.err(
            raw.span(),
            of,
            "only an external transition's firings are offered to workers (a guest transition's deadline is `timeout_ms`)",
        ));
    }
    if on_timeout.is_none() {
        return Err(cx.err(
            raw.span(),
            of,
            "an offer that times out takes the `on_timeout` outcome; declare `on_timeout = \"OUTCOME\"` too",
        ));
    }
    let ms = *raw.get_ref();
    if ms == 0 || ms > MAX_OFFER_TIMEOUT_MS {
        return Err(cx.err(
            raw.span(),
            of,
            format!("expected 1 to {MAX_OFFER_TIMEOUT_MS} ms (30 days), got {ms}"),
        ));
    }
    Ok(Some(ms))
}
