//! Lints: structural smells of a Petrel net, each with its own code.
//!
//! | code | name | what |
//! | --- | --- | --- |
//! | P001 | `llm-without-timeout` | a transition granted `llm` has no `on_timeout` outcome, so a hung model stalls its cases |
//! | P002 | `capability-not-imported` | a transition is granted a capability its component does not import |
//! | P003 | `compensation-imports-llm` | a compensation guest imports `llm` (compensation must be deterministic) |
//! | P004 | `isolated-place` | no transition reads or writes the place |
//! | P005 | `no-start-place` | no place is `start = true`, so no case can start |
//!
//! P002 and P003 need each component's import list, which only the sandbox
//! can read: the caller passes it in (see [`lint`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::net::{Capability, Net, Performer};

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// Stable code, e.g. `P001`.
    pub code: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    /// The place or transition concerned (empty for the whole net).
    pub subject: String,
    /// 1-based line of the subject in the net file (0: the whole net).
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

/// Imports of each transition's component, by transition name: the import
/// names (`petrel:transition/llm@0.1.0`), or why they could not be read.
pub type Imports = BTreeMap<String, Result<Vec<String>, String>>;

/// Lints `net`. `imports` enables P002 (`None`: skipped, with a note).
/// Returns the findings and notes on what could not be checked.
pub fn lint(net: &Net, imports: Option<&Imports>) -> (Vec<Lint>, Vec<String>) {
    let mut lints = Vec::new();
    let mut notes = Vec::new();
    for t in net.transitions() {
        if t.grants(Capability::Llm) && t.on_timeout.is_none() {
            lints.push(Lint {
                code: "P001",
                name: "llm-without-timeout",
                subject: t.name.clone(),
                line: t.line,
                message: format!(
                    "transition `{}` is granted `llm` but has no `on_timeout` outcome: when the model hangs past {} ms the case waits on retries \
                     (add e.g. `outcomes.timed_out = {{ human_handoff = 1 }}` and `on_timeout = \"timed_out\"`)",
                    t.name, t.limits.timeout_ms
                ),
            });
        }
    }
    match imports {
        None => notes.push(
            "P002 (capability-not-imported) and P003 (compensation-imports-llm) skipped: component imports not available".to_string(),
        ),
        Some(imports) => {
            for t in net.transitions() {
                if !matches!(t.performer, Performer::Guest { .. }) {
                    continue;
                }
                match imports.get(&t.name) {
                    None => notes.push(format!(
                        "P002 skipped for `{}`: its component's imports were not given",
                        t.name
                    )),
                    Some(Err(why)) => notes.push(format!("P002 skipped for `{}`: {why}", t.name)),
                    Some(Ok(names)) => {
                        let imported = |iface: &str| {
                            names
                                .iter()
                                .any(|n| n.split_once('@').map_or(n.as_str(), |(b, _)| b) == iface)
                        };
                        if t.compensation && imported(Capability::Llm.interface()) {
                            lints.push(Lint {
                                code: "P003",
                                name: "compensation-imports-llm",
                                subject: t.name.clone(),
                                line: t.line,
                                message: format!(
                                    "compensation transition `{}` imports `{}`: compensation must be deterministic, and deploy will refuse it (build it without the llm helpers)",
                                    t.name,
                                    Capability::Llm.interface()
                                ),
                            });
                        }
                        // `log` is granted to every guest: only explicit grants are worth a lint.
                        for &cap in t.capabilities.iter().filter(|&&c| c != Capability::Log) {
                            if !imported(cap.interface()) {
                                lints.push(Lint {
                                    code: "P002",
                                    name: "capability-not-imported",
                                    subject: t.name.clone(),
                                    line: t.line,
                                    message: format!(
                                        "transition `{}` is granted `{}` but its component does not import `{}` (remove the grant: least privilege)",
                                        t.name,
                                        cap.name(),
                                        cap.interface()
                                    ),
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    for (i, p) in net.places().iter().enumerate() {
        let used = net.transitions().iter().any(|t| {
            t.inputs.iter().any(|a| a.place == i)
                || t.outcomes
                    .iter()
                    .any(|o| o.outputs.iter().any(|a| a.place == i))
        });
        if !used {
            lints.push(Lint {
                code: "P004",
                name: "isolated-place",
                subject: p.name.clone(),
                line: p.line,
                message: format!(
                    "no transition reads or writes place `{}` (remove it, or connect it)",
                    p.name
                ),
            });
        }
    }
    if !net.places().iter().any(|p| p.start) {
        lints.push(Lint {
            code: "P005",
            name: "no-start-place",
            subject: String::new(),
            line: 0,
            message: "no place is `start = true`, so no case can start (mark the place a new case's token goes to)".to_string(),
        });
    }
    (lints, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET: &str = r#"
[net]
name = "n"
[places.inbox]
start = true
[places.done]
final = true
[places.orphan]
[transitions.ask]
guest = "ask.wasm"
inputs = { inbox = 1 }
outcomes.ok = { done = 1 }
capabilities = ["llm"]
[places.undone]
final = true
[transitions.undo]
guest = "undo.wasm"
compensation = true
outcomes.ok = { undone = 1 }
"#;

    #[test]
    fn finds_llm_without_timeout_unused_grant_llm_compensation_and_isolated_place() {
        let net = Net::parse(NET, "net.toml").unwrap();
        let mut imports = Imports::new();
        imports.insert("ask".into(), Ok(vec!["petrel:transition/log@0.1.0".into()]));
        imports.insert(
            "undo".into(),
            Ok(vec!["petrel:transition/llm@0.1.0".into()]),
        );
        let (lints, notes) = lint(&net, Some(&imports));
        let codes: Vec<(&str, &str)> = lints.iter().map(|l| (l.code, l.subject.as_str())).collect();
        assert_eq!(
            codes,
            vec![
                ("P001", "ask"),
                ("P002", "ask"),
                ("P003", "undo"),
                ("P004", "orphan")
            ]
        );
        assert_eq!((lints[2].line, lints[3].line), (16, 8));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn skips_the_import_lint_with_a_note_when_imports_are_unknown() {
        let net = Net::parse(NET, "net.toml").unwrap();
        let (lints, notes) = lint(&net, None);
        assert!(lints.iter().all(|l| l.code != "P002"));
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("P002") && n.contains("P003"))
        );
        let mut imports = Imports::new();
        imports.insert("ask".into(), Err("cannot read `ask.wasm`".into()));
        let (_, notes) = lint(&net, Some(&imports));
        assert!(notes.iter().any(|n| n.contains("cannot read `ask.wasm`")));
    }
}
