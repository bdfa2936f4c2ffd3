//! Checking a guest's decision against its transition (rule 1 of the
//! design: only a declared outcome, only that outcome's places, exactly its
//! arc weights).

use crate::net::{Net, Transition};
use crate::sandbox::Fire;
use crate::store::FiringError;

/// A decision that passed: the outcome and the tokens to produce (place index, payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub(crate) outcome: usize,
    pub(crate) outputs: Vec<(usize, Vec<u8>)>,
}

fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Whether `payload` is exactly one MessagePack value. Payloads are shown
/// decoded and, in the store, a byte MessagePack never uses marks a held
/// token (`store::token_entry`): a payload starting with it must not get in.
fn one_value(payload: &[u8]) -> Result<(), String> {
    use serde::Deserialize;
    let mut rest = payload;
    serde::de::IgnoredAny::deserialize(&mut rmp_serde::Deserializer::new(&mut rest))
        .map_err(|e| e.to_string())?;
    if rest.is_empty() {
        Ok(())
    } else {
        Err(format!("{} bytes follow the value", rest.len()))
    }
}

/// Checks `fire` against `t`.
pub(crate) fn check(net: &Net, t: &Transition, fire: &Fire) -> Result<Checked, FiringError> {
    let Some(outcome) = t.outcomes.iter().position(|o| o.name == fire.outcome) else {
        return Err(FiringError::UndeclaredOutcome {
            outcome: fire.outcome.clone(),
            declared: names(t.outcomes.iter().map(|o| o.name.as_str())),
        });
    };
    let declared = &t.outcomes[outcome];
    let place_names = || {
        names(
            declared
                .outputs
                .iter()
                .map(|a| net.places()[a.place].name.as_str()),
        )
    };
    let mut outputs = Vec::with_capacity(fire.outputs.len());
    let mut counts = vec![0u32; declared.outputs.len()];
    for token in &fire.outputs {
        let arc = declared
            .outputs
            .iter()
            .position(|a| net.places()[a.place].name == token.place);
        let Some(arc) = arc else {
            return Err(FiringError::WrongPlace {
                outcome: declared.name.clone(),
                place: token.place.clone(),
                declared: place_names(),
            });
        };
        if let Err(message) = one_value(&token.payload) {
            return Err(FiringError::NotMessagePack {
                place: token.place.clone(),
                message,
            });
        }
        counts[arc] += 1;
        outputs.push((declared.outputs[arc].place, token.payload.clone()));
    }
    for (arc, got) in declared.outputs.iter().zip(counts) {
        if got != arc.weight {
            return Err(FiringError::WrongCount {
                outcome: declared.name.clone(),
                place: net.places()[arc.place].name.clone(),
                expected: arc.weight,
                got,
            });
        }
    }
    Ok(Checked { outcome, outputs })
}

/// Checks a decision `fire` of transition `t` of `net` exactly as the
/// engine does before it commits one (the same check as [`check`], public
/// for tools and fuzzing).
pub fn check_decision(net: &Net, t: &Transition, fire: &Fire) -> Result<(), FiringError> {
    check(net, t, fire).map(|_| ())
}

/// The tokens the host produces itself when `t`'s deadline passes: the
/// inputs, unchanged, spread over the `on_timeout` outcome's arcs in order,
/// case tokens to case places and each shared token back to its own place.
/// The net parser checked the outcome produces only what was consumed.
pub(crate) fn timeout_route(
    net: &Net,
    t: &Transition,
    inputs: &[(usize, Vec<u8>)],
) -> Option<Checked> {
    let outcome = t.on_timeout?;
    let shared = |p: usize| net.places()[p].shared;
    let mut case_inputs = inputs
        .iter()
        .filter(|(p, _)| !shared(*p))
        .map(|(_, v)| v.clone());
    let mut taken = vec![false; inputs.len()];
    let mut outputs = Vec::new();
    for arc in &t.outcomes[outcome].outputs {
        for _ in 0..arc.weight {
            let payload = if shared(arc.place) {
                let next = (0..inputs.len()).find(|&i| !taken[i] && inputs[i].0 == arc.place);
                next.map(|i| {
                    taken[i] = true;
                    inputs[i].1.clone()
                })
            } else {
                case_inputs.next()
            };
            // Never made from nothing: what was not consumed is not produced.
            let Some(payload) = payload else { break };
            outputs.push((arc.place, payload));
        }
    }
    Some(Checked { outcome, outputs })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sandbox::Token;

    const NET: &str = r#"
[net]
name = "t"
[places.a]
start = true
[places.b]
final = true
[places.c]
final = true
[places.human]
final = true
[transitions.t]
guest = "t.wasm"
inputs = { a = 1 }
outcomes.two = { b = 2 }
outcomes.one_each = { b = 1, c = 1 }
outcomes.late = { human = 1 }
on_timeout = "late"
"#;

    fn fire(outcome: &str, places: &[&str]) -> Fire {
        Fire {
            outcome: outcome.into(),
            outputs: places
                .iter()
                .map(|p| Token {
                    place: p.to_string(),
                    payload: vec![0x90],
                })
                .collect(),
        }
    }

    #[test]
    fn accepts_exactly_the_declared_arcs() {
        let net = Net::parse(NET, Path::new("t.toml")).unwrap();
        let t = &net.transitions()[0];
        let ok = check(&net, t, &fire("one_each", &["c", "b"])).unwrap();
        assert_eq!(ok.outcome, 1);
        assert_eq!(
            ok.outputs.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [2, 1]
        );
        assert!(check(&net, t, &fire("two", &["b", "b"])).is_ok());
    }

    #[test]
    fn refuses_undeclared_outcomes_wrong_places_and_wrong_counts() {
        let net = Net::parse(NET, Path::new("t.toml")).unwrap();
        let t = &net.transitions()[0];
        let err = check(&net, t, &fire("three", &["b"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "undeclared outcome `three` (declared outcomes: two, one_each, late)"
        );
        let err = check(&net, t, &fire("two", &["b", "c"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "outcome `two` does not produce into place `c` (its places: b)"
        );
        let err = check(&net, t, &fire("two", &["b"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "outcome `two` produces 2 token(s) into `b`, the guest gave 1"
        );
        let err = check(&net, t, &fire("one_each", &["b", "b", "c"])).unwrap_err();
        assert!(
            matches!(
                err,
                FiringError::WrongCount {
                    expected: 1,
                    got: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn refuses_payloads_that_are_not_one_messagepack_value() {
        let net = Net::parse(NET, Path::new("t.toml")).unwrap();
        let t = &net.transitions()[0];
        let with = |payload: Vec<u8>| Fire {
            outcome: "late".into(),
            outputs: vec![Token {
                place: "human".into(),
                payload,
            }],
        };
        let ok = rmp_serde::to_vec_named(&serde_json::json!({ "a": [1, "x"] })).unwrap();
        assert!(check(&net, t, &with(ok)).is_ok());
        for (payload, why) in [
            (vec![0xc1, 1, 2], "marker Reserved"),
            (vec![], "failed to fill whole buffer"),
            (vec![0x92, 0x01], "failed to fill whole buffer"),
            (vec![0x01, 0x02], "1 bytes follow the value"),
        ] {
            let err = check(&net, t, &with(payload.clone())).unwrap_err();
            assert!(
                matches!(&err, FiringError::NotMessagePack { place, .. } if place == "human"),
                "{payload:?}: {err:?}"
            );
            assert!(
                err.to_string().starts_with(
                    "the payload produced into `human` is not one MessagePack value: "
                ),
                "{err}"
            );
            assert!(err.to_string().contains(why), "{payload:?}: {err}");
        }
    }

    #[test]
    fn timeout_moves_the_inputs_unchanged() {
        let net = Net::parse(NET, Path::new("t.toml")).unwrap();
        let t = &net.transitions()[0];
        let routed = timeout_route(&net, t, &[(0, vec![1, 2, 3])]).unwrap();
        assert_eq!(
            routed,
            Checked {
                outcome: 2,
                outputs: vec![(3, vec![1, 2, 3])]
            }
        );
    }

    #[test]
    fn timeout_sends_shared_tokens_back_to_their_own_places() {
        let text = r#"
[net]
name = "t"
[places.a]
start = true
[places.x]
shared = true
initial = 1
[places.y]
shared = true
initial = 1
[places.late]
final = true
[transitions.t]
guest = "t.wasm"
inputs = { a = 1, x = 1, y = 1 }
outcomes.ok = { late = 1, x = 1, y = 1 }
outcomes.late = { late = 1, y = 1, x = 1 }
on_timeout = "late"
"#;
        let net = Net::parse(text, Path::new("t.toml")).unwrap();
        let t = &net.transitions()[0];
        let inputs = [(0, vec![0xa0]), (1, vec![0x01]), (2, vec![0x02])];
        let routed = timeout_route(&net, t, &inputs).unwrap();
        // `y` is listed first in the outcome: it still gets y's token.
        assert_eq!(
            routed.outputs,
            vec![(3, vec![0xa0]), (2, vec![0x02]), (1, vec![0x01])]
        );
    }
}
