//! A transition's `on_timeout` outcome: checked to move the inputs
//! unchanged. The host produces it itself, from the consumed tokens alone:
//! as many case tokens as the firing consumed, and into each shared place
//! at most the tokens consumed from that same place (they go back where
//! they came from; nothing is made from nothing).

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
            let case_weight = |arcs: &[Arc]| -> u64 {
                arcs.iter()
                    .filter(|a| !places[a.place].shared)
                    .map(|a| u64::from(a.weight))
                    .sum()
            };
            let consumed = case_weight(inputs);
            let produced = case_weight(&outcomes[index].outputs);
            for arc in outcomes[index]
                .outputs
                .iter()
                .filter(|a| places[a.place].shared)
            {
                let from: u64 = inputs
                    .iter()
                    .filter(|i| i.place == arc.place)
                    .map(|i| u64::from(i.weight))
                    .sum();
                if u64::from(arc.weight) > from {
                    let place = &places[arc.place].name;
                    return Err(cx.err(o.span(), of, format!(
                        "outcome `{}` produces {} token(s) into shared place `{place}` but the transition consumes {from} from it (expected at most that: on timeout the host only moves the consumed tokens, shared ones back where they came from)",
                        o.get_ref(), arc.weight
                    )));
                }
            }
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
