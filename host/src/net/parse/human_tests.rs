//! `human`, `forms` and `offer_timeout_ms`: read, and refused with the
//! file, line and field when wrong.

use super::tests::net_error;
use crate::net::{DEFAULT_OFFER_TIMEOUT_MS, Net};

const BASE: &str = r#"
[net]
name = "n"
[places.todo]
start = true
[places.done]
final = true
[places.late]
final = true
[transitions.review]
human = true
inputs = { todo = 1 }
outcomes.approve = { done = 1 }
outcomes.escalate = { late = 1 }
"#;

fn net(extra: &str) -> Result<Net, String> {
    Net::parse(&format!("{BASE}{extra}"), "n.toml").map_err(|e| e.to_string())
}

#[test]
fn a_human_transition_is_external_with_forms_and_an_offer_deadline() {
    let n = net(
        "on_timeout = \"escalate\"\n[transitions.review.forms.approve]\ntype = \"object\"\nrequired = [\"amount\"]\nproperties.amount = { type = \"number\" }\n",
    )
    .unwrap();
    let t = n.transition("review").unwrap();
    assert!(t.human);
    assert_eq!(t.performer, crate::net::Performer::External);
    assert_eq!(t.offer_timeout_ms, Some(DEFAULT_OFFER_TIMEOUT_MS));
    let form = t.outcome("approve").unwrap().form.as_ref().unwrap();
    assert_eq!(form["properties"]["amount"]["type"], "number");
    assert!(t.outcome("escalate").unwrap().form.is_none());
    // Without on_timeout an offer waits for ever.
    assert_eq!(net("").unwrap().transitions()[0].offer_timeout_ms, None);
    let set = net("on_timeout = \"escalate\"\noffer_timeout_ms = 5000\n").unwrap();
    assert_eq!(set.transitions()[0].offer_timeout_ms, Some(5000));
}

#[test]
fn wrong_human_fields_are_refused_naming_them() {
    let cases = [
        (
            "[transitions.review.forms.nope]\ntype = \"object\"\n",
            "n.toml:15: `transitions.review.forms.nope`: unknown outcome `nope`",
        ),
        (
            "[transitions.review.forms.approve]\ntype = \"banana\"\n",
            "n.toml:15: `transitions.review.forms.approve`: not a valid JSON Schema",
        ),
        (
            "offer_timeout_ms = 5000\n",
            "`transitions.review.offer_timeout_ms`: an offer that times out takes the `on_timeout` outcome",
        ),
        (
            "on_timeout = \"escalate\"\noffer_timeout_ms = 0\n",
            "`transitions.review.offer_timeout_ms`: expected 1 to",
        ),
        (
            "guest = \"x.wasm\"\n",
            "`transitions.review.guest`: a transition is either external",
        ),
    ];
    for (extra, expected) in cases {
        let err = net(extra).unwrap_err();
        assert!(err.contains(expected), "{extra}: {err}");
    }
    let guest_form = net_error(
        "[net]\nname = \"n\"\n[places.a]\nstart = true\n[places.b]\nfinal = true\n[transitions.t]\nguest = \"t.wasm\"\ninputs = { a = 1 }\noutcomes.ok = { b = 1 }\n[transitions.t.forms.ok]\ntype = \"object\"\n",
    );
    assert!(
        guest_form.contains("`transitions.t.forms`: forms are filled by people"),
        "{guest_form}"
    );
}
