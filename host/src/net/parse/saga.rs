//! Saga fields: `compensation = true` transitions and the `compensate` links
//! that name them.
//!
//! A compensation transition consumes nothing from the marking: when a case
//! aborts, the host runs it once per completed firing that named it, handing
//! it that firing's inputs and outputs. It is a deterministic guest, or
//! external: offered to workers like any external firing, so the undo of a
//! real effect (a refund) is done by the trusted code that did the effect.

use toml::Spanned;

use super::{Ctx, RawArcs};
use crate::net::{Capability, NetError, Transition};

/// Checks the shape of a `compensation = true` transition. It may be a
/// guest or external (`external = true`): then the compensation is offered
/// to workers, who undo the real effect (refund a charge, release stock).
pub(super) fn check_compensation(
    cx: &Ctx<'_>,
    inputs: Option<&Spanned<RawArcs>>,
    field: &str,
) -> Result<(), NetError> {
    if let Some(inputs) = inputs {
        return Err(cx.err(
            inputs.span(),
            format!("{field}.inputs"),
            "a compensation transition consumes no tokens (the host hands it the compensated firing's inputs and outputs); drop `inputs`",
        ));
    }
    Ok(())
}

fn invalid(cx: &Ctx<'_>, line: usize, field: String, message: String) -> NetError {
    NetError::Invalid {
        file: cx.file.to_path_buf(),
        line,
        field,
        message,
    }
}

/// Resolves each transition's `compensate` (given in transition order) and
/// checks that compensations are deterministic and never compensated
/// themselves.
pub(super) fn link(
    cx: &Ctx<'_>,
    transitions: &mut [Transition],
    compensates: &[&Option<Spanned<String>>],
) -> Result<(), NetError> {
    for t in transitions.iter().filter(|t| t.compensation) {
        let field = format!("transitions.{}", t.name);
        if t.grants(Capability::Llm) {
            return Err(invalid(
                cx,
                t.line,
                format!("{field}.capabilities"),
                "a compensation transition cannot be granted `llm` (compensation must be deterministic: it undoes work whatever a model would say)".into(),
            ));
        }
        if t.on_timeout.is_some() {
            return Err(invalid(
                cx,
                t.line,
                format!("{field}.on_timeout"),
                "a compensation transition has no inputs to move on timeout; its failures follow its `retry` policy".into(),
            ));
        }
    }
    for (i, raw) in compensates.iter().enumerate() {
        let Some(name) = raw else { continue };
        let field = format!("transitions.{}.compensate", transitions[i].name);
        let target = transitions.iter().position(|t| &t.name == name.get_ref());
        let compensations: Vec<&str> = transitions
            .iter()
            .filter(|t| t.compensation)
            .map(|t| t.name.as_str())
            .collect();
        let expected = if compensations.is_empty() {
            "no transition of this net is `compensation = true`".to_string()
        } else {
            format!("compensation transitions: {}", compensations.join(", "))
        };
        match target {
            _ if transitions[i].compensation => {
                return Err(cx.err(
                    name.span(),
                    field,
                    "a compensation transition is not compensated itself (drop `compensate`)",
                ));
            }
            None => {
                return Err(cx.err(
                    name.span(),
                    field,
                    format!("unknown transition `{}` ({expected})", name.get_ref()),
                ));
            }
            Some(j) if !transitions[j].compensation => {
                return Err(cx.err(
                    name.span(),
                    field,
                    format!(
                        "transition `{}` is not `compensation = true` ({expected})",
                        name.get_ref()
                    ),
                ));
            }
            Some(j) => transitions[i].compensate = Some(j),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::net_error as err;
    use crate::net::Net;

    const NET: &str = r#"
[net]
name = "saga"
[places.order]
start = true
[places.reserved]
[places.shipped]
final = true
[places.released]
final = true
[transitions.reserve]
guest = "reserve.wasm"
inputs = { order = 1 }
outcomes.ok = { reserved = 1 }
compensate = "release"
[transitions.ship]
guest = "ship.wasm"
inputs = { reserved = 1 }
outcomes.ok = { shipped = 1 }
[transitions.release]
guest = "release.wasm"
compensation = true
outcomes.done = { released = 1 }
"#;

    #[test]
    fn compensate_links_a_transition_to_its_compensation() {
        let net = Net::parse(NET, Path::new("n.toml")).unwrap();
        let reserve = net.transition("reserve").unwrap();
        assert_eq!(
            reserve
                .compensate
                .map(|i| net.transitions()[i].name.as_str()),
            Some("release")
        );
        let release = net.transition("release").unwrap();
        assert!(release.compensation && release.inputs.is_empty());
        assert_eq!(net.transition("ship").unwrap().compensate, None);
    }

    #[test]
    fn a_compensation_may_be_performed_by_workers() {
        let text = NET.replace(
            "guest = \"release.wasm\"\ncompensation = true",
            "external = true\ncompensation = true",
        );
        let net = Net::parse(&text, Path::new("n.toml")).unwrap();
        let release = net.transition("release").unwrap();
        assert!(release.compensation && release.inputs.is_empty());
        assert_eq!(release.performer, crate::net::Performer::External);
        assert!(
            err(&text.replace(
                "compensation = true\n",
                "compensation = true\ninputs = { order = 1 }\n"
            ))
            .contains("`transitions.release.inputs`: a compensation transition consumes no tokens")
        );
    }

    #[test]
    fn bad_saga_fields_name_line_and_field() {
        assert_eq!(
            err(&NET.replace("compensate = \"release\"", "compensate = \"ship\"")),
            "n.toml:15: `transitions.reserve.compensate`: transition `ship` is not `compensation = true` (compensation transitions: release)"
        );
        assert!(
            err(&NET.replace("compensate = \"release\"", "compensate = \"nope\""))
                .contains("`transitions.reserve.compensate`: unknown transition `nope`")
        );
        assert!(
            err(&NET.replace(
                "compensation = true\n",
                "compensation = true\ninputs = { order = 1 }\n"
            ))
            .contains("`transitions.release.inputs`: a compensation transition consumes no tokens")
        );
        assert!(
            err(&NET.replace(
                "compensation = true\n",
                "compensation = true\ncapabilities = [\"llm\"]\n"
            ))
            .starts_with("n.toml:20: `transitions.release.capabilities`: a compensation transition cannot be granted `llm`")
        );
    }
}
