use super::*;

/// Parses under the default ceilings, as a deploy does.
fn parse(text: &str, file: &Path) -> Result<Net, NetError> {
    super::parse(text, file, &HostLimits::default(), false)
}

const GOOD: &str = r#"
[net]
name = "mini"

[places.inbox]
start = true
[places.llm_slots]
shared = true
capacity = 2
initial = 2
[places.done]
final = true
[places.handoff]
final = true

[transitions.classify]
guest = "classify.wasm"
inputs = { inbox = 1, llm_slots = 1 }
outcomes.yes = { done = 1, llm_slots = 1 }
outcomes.human = { handoff = 1, llm_slots = 1 }
capabilities = ["llm"]
timeout_ms = 250
on_timeout = "human"
"#;

/// The error for `text` read as net file `n.toml` (shared by the table parsers' tests).
pub(super) fn net_error(text: &str) -> String {
    parse(text, Path::new("n.toml")).unwrap_err().to_string()
}

fn parse_err(text: &str) -> String {
    parse(text, Path::new("nets/x.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn parses_places_transitions_and_limits() {
    let net = parse(GOOD, Path::new("nets/mini.toml")).unwrap();
    assert_eq!(net.name(), "mini");
    let names: Vec<_> = net.places().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["inbox", "llm_slots", "done", "handoff"]);
    assert_eq!(net.places()[1].initial.len(), 2);
    let t = net.transition("classify").unwrap();
    assert_eq!(
        t.inputs,
        vec![
            Arc {
                place: 0,
                weight: 1
            },
            Arc {
                place: 1,
                weight: 1
            }
        ]
    );
    assert_eq!(t.capabilities, vec![Capability::Log, Capability::Llm]);
    assert_eq!(t.limits.timeout_ms, 250);
    assert_eq!(t.limits.memory_mb, crate::net::DEFAULT_MEMORY_MB);
    assert_eq!(t.on_timeout, Some(1));
    assert_eq!(t.line, 16);
    match &t.performer {
        Performer::Guest { path, .. } => assert_eq!(path, Path::new("nets/classify.wasm")),
        other => panic!("unexpected performer {other:?}"),
    }
}

#[test]
fn unknown_place_names_file_line_field_and_the_known_places() {
    let text = GOOD.replace("outcomes.yes = { done = 1", "outcomes.yes = { dnoe = 1");
    assert_eq!(
        parse_err(&text),
        "nets/x.toml:19: `transitions.classify.outcomes.yes.dnoe`: unknown place `dnoe` (declared places: inbox, llm_slots, done, handoff)"
    );
}

#[test]
fn syntax_errors_and_unknown_fields_name_the_line() {
    let err = parse_err(&GOOD.replace("timeout_ms = 250", "timeout_msec = 250"));
    assert!(
        err.starts_with("nets/x.toml:22: unknown field `timeout_msec`"),
        "{err}"
    );
    let err = parse_err("[net]\nname = \"a\"\n[places.p\n");
    assert!(err.starts_with("nets/x.toml:3:"), "{err}");
}

#[test]
fn duplicate_names_are_refused() {
    let err = parse_err(&format!("{GOOD}\n[places.inbox]\n"));
    assert!(err.contains("duplicate key"), "{err}");
    let err = parse_err(
        &GOOD
            .replace("[places.handoff]", "[places.classify]")
            .replace("handoff = 1", "classify = 1"),
    );
    assert!(
        err.contains("`transitions.classify`: `classify` is already the name of a place"),
        "{err}"
    );
}

#[test]
fn inconsistent_nets_are_refused_with_the_reason() {
    let cases = [
        (
            "on_timeout = \"human\"",
            "on_timeout = \"nope\"",
            "unknown outcome `nope` (declared outcomes: yes, human)",
        ),
        (
            "outcomes.yes = { done = 1, llm_slots = 1 }",
            "outcomes.yes = {}",
            "outcome produces no token",
        ),
        (
            "inputs = { inbox = 1, llm_slots = 1 }",
            "inputs = { llm_slots = 1 }",
            "every input place is shared",
        ),
        (
            "capabilities = [\"llm\"]",
            "capabilities = [\"net\"]",
            "unknown capability `net`",
        ),
        ("guest = \"classify.wasm\"", "", "missing `guest`"),
        (
            "capacity = 2\ninitial = 2",
            "capacity = 1\ninitial = 2",
            "2 initial tokens exceed the capacity 1",
        ),
        (
            "timeout_ms = 250",
            "timeout_ms = 0",
            "`transitions.classify.timeout_ms`: 0 is not allowed",
        ),
        (
            "inputs = { inbox = 1,",
            "inputs = { inbox = 0,",
            "arc weight 0",
        ),
        (
            "name = \"mini\"",
            "name = \"mini net\"",
            "invalid name `mini net`",
        ),
        (
            "outcomes.human = { handoff = 1, llm_slots = 1 }",
            "outcomes.human = { handoff = 2, llm_slots = 1 }",
            "produces 2 case token(s) but the transition consumes 1",
        ),
    ];
    for (from, to, expected) in cases {
        let text = GOOD.replace(from, to);
        assert_ne!(text, GOOD, "replacement `{from}` did not apply");
        let err = parse_err(&text);
        assert!(err.contains(expected), "{from} -> {to}: got {err}");
    }
}
