//! A transition's `on_timeout` outcome: checked to move the inputs unchanged.

use toml::Spanned;

use super::Ctx;
use crate::net::{Arc, NetError, Outcome, Place};

/// The index of the `on_timeout` outcome of transition `field`, whose case
/// tokens in and out must balance.
pub(super) fn parse(
    cx: &Ctx<'_>,
    raw: Option<&Spanned<String>>,
    inputs: &[Arc],
    outcomes: &[Outcome],
    places: &[Place],
    field: &str,
) -> Result<Option<usize>, NetError> {
    let on_timeout = match raw {
        None => None,
        Some(o) => {
            let of = format!("{field}.on_timeout");
            let Some(index) = outcomes.iter().position(|x| &x.name == o.get_ref()) else {
                let known: Vec<&str> = outcomes.iter().map(|x| x.name.as_str()).collect();
                return Err(cx.err(
                    o.span(),
                    of,
                    format!(
                        "unknown outcome `{}` (declared outcomes: {})",
                        o.get_ref(),
                        known.join(", ")
                    ),
                ));
            };
            let consumed: u32 = inputs
                .iter()
                .filter(|a| !places[a.place].shared)
                .map(|a| a.weight)
                .sum();
            let produced: u32 = outcomes[index]
                .outputs
                .iter()
                .filter(|a| !places[a.place].shared)
                .map(|a| a.weight)
                .sum();
            if consumed != produced {
                return Err(cx.err(o.span(), of, format!(
                    "outcome `{}` produces {produced} case token(s) but the transition consumes {consumed} (expected equal weights: on timeout the host moves the inputs unchanged)",
                    o.get_ref()
                )));
            }
            Some(index)
        }
    };
    Ok(on_timeout)
}
