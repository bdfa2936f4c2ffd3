//! Shared tokens lent between hosts sharing a store: a case waits (is not
//! stuck) while another host holds the shared token it needs, runs once
//! the token is lent here, and only free tokens are given back.

use serde_json::json;

use super::{Harness, fire};
use crate::store::CaseStatus;

/// One shared desk; `serve` takes a request and the desk, gives the desk back.
const DESK: &str = r#"
[net]
name = "n"
[places.request]
start = true
[places.desk]
shared = true
initial = [{ name = "ana" }]
[places.done]
final = true
[transitions.serve]
guest = "serve.wasm"
inputs = { request = 1, desk = 1 }
outcomes.ok = { done = 1, desk = 1 }
"#;

#[test]
fn a_case_waits_for_a_shared_token_another_host_holds_and_runs_once_it_is_lent() {
    let mut h = Harness::new(DESK);
    h.core.share_with_hosts();
    // This host gives its desk to another host.
    let given = h.core.take_free_shared("v1");
    assert_eq!(given.len(), 1);
    assert_eq!(given[0].place, "desk");

    h.start("c1", &[("request", json!(1))]);
    assert!(h.plan().is_empty());
    assert_eq!(h.status("c1"), CaseStatus::Running, "waiting, not stuck");
    assert_eq!(h.core.awaiting_versions(), vec!["v1".to_string()]);

    // The desk comes back: the case is planned again and runs.
    h.core.lend(given);
    let launch = h.one("serve");
    // A reserved token is not given away.
    assert!(h.core.take_free_shared("v1").is_empty());
    h.settle(
        launch,
        fire("ok", &[("done", json!(1)), ("desk", json!("ana"))]),
    );
    h.plan();
    assert_eq!(h.status("c1"), CaseStatus::Completed);
    // The desk the firing put back is free here, to give to another host.
    let back = h.core.take_free_shared("v1");
    assert_eq!(back.len(), 1);
    assert!(h.core.awaiting_versions().is_empty());
}

#[test]
fn alone_on_its_store_a_case_lacking_a_shared_token_is_stuck() {
    let mut h = Harness::new(DESK);
    let _ = h.core.take_free_shared("v1");
    h.start("c1", &[("request", json!(1))]);
    assert!(h.plan().is_empty());
    assert_eq!(h.status("c1"), CaseStatus::Stuck);
}
