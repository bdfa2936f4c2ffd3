//! External firings: offers, claims, leases, completions.

use serde_json::json;

use super::*;
use crate::engine::EngineError;
use crate::engine::work::{ClaimRequest, Completion, WorkFailure, WorkToken};

const EXTERNAL: &str = r#"
[net]
name = "n"
[places.approved]
start = true
[places.paid]
final = true
[places.human]
final = true
[transitions.pay]
external = true
inputs = { approved = 1 }
outcomes.paid = { paid = 1 }
outcomes.late = { human = 1 }
retry = { max_attempts = 2, initial_delay_ms = 10, jitter = 0.0 }
"#;

fn claim(h: &mut Harness, lease_ms: u64) -> Option<crate::engine::work::WorkItem> {
    let request = ClaimRequest {
        worker: "payments".into(),
        transition: Some("pay".into()),
        ..ClaimRequest::default()
    };
    let item = h.core.claim(&request, lease_ms, h.now).unwrap();
    h.commit();
    item
}

fn paid() -> Completion {
    Completion {
        outcome: "paid".into(),
        tokens: vec![WorkToken {
            place: "paid".into(),
            payload: json!({"ok": true}),
        }],
    }
}

#[test]
fn an_external_transition_is_offered_to_workers_not_launched() {
    let mut h = Harness::new(EXTERNAL);
    h.start("c", &[("approved", json!({"amount": 5}))]);
    assert!(h.plan().is_empty());
    assert!(h.core.take_offered());
    let r = &h.log.iter().flat_map(|c| &c.reserve).next().unwrap().1;
    assert!(r.external && r.lease.is_none());
    assert_eq!(h.core.summary().awaiting_workers, 1);
}

#[test]
fn a_claim_leases_the_offer_with_its_inputs_and_outcomes() {
    let mut h = Harness::new(EXTERNAL);
    h.start("c", &[("approved", json!({"amount": 5}))]);
    h.plan();
    let item = claim(&mut h, 1000).unwrap();
    assert_eq!(item.inputs[0].payload, json!({"amount": 5}));
    assert_eq!(item.lease_until_ms, T0 + 1000);
    let outcomes: Vec<_> = item.outcomes.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outcomes, ["paid", "late"]);
    // Leased: nobody else gets it; the lease is in the stored reservation.
    assert!(claim(&mut h, 1000).is_none());
    let (_, r) = h.log.iter().flat_map(|c| &c.reserve).last().unwrap();
    assert_eq!(r.lease.as_ref().unwrap().id, item.lease);
    assert!(
        matches!(h.events().last(), Some(Event::FiringClaimed { worker, .. }) if worker == "payments")
    );
}

#[test]
fn a_completion_is_checked_like_a_decision_and_a_refused_one_keeps_the_lease() {
    let mut h = Harness::new(EXTERNAL);
    h.start("c", &[("approved", json!(1))]);
    h.plan();
    let item = claim(&mut h, 1000).unwrap();
    let wrong = Completion {
        outcome: "paid".into(),
        tokens: vec![],
    };
    let err = h
        .core
        .complete(item.firing, &item.lease, wrong, h.now)
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Invalid(m) if m.contains("produces 1 token(s) into `paid`"))
    );
    let err = h
        .core
        .complete(item.firing, "not-the-lease", paid(), h.now)
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)));
    h.core
        .complete(item.firing, &item.lease, paid(), h.now)
        .unwrap();
    h.commit();
    assert!(h.plan().is_empty());
    assert_eq!(h.status("c"), CaseStatus::Completed);
}

#[test]
fn a_lease_that_runs_out_is_a_missed_deadline_and_the_firing_is_offered_again() {
    let mut h = Harness::new(EXTERNAL);
    h.start("c", &[("approved", json!(1))]);
    h.plan();
    let item = claim(&mut h, 100).unwrap();
    h.now = T0 + 100;
    h.plan();
    assert!(matches!(
        h.events()
            .iter()
            .rev()
            .find(|e| matches!(e, Event::FiringFailed { .. })),
        Some(Event::FiringFailed { attempt: 1, .. })
    ));
    let err = h
        .core
        .complete(item.firing, &item.lease, paid(), h.now)
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)));
    h.now = T0 + 110;
    h.plan();
    let again = claim(&mut h, 100).unwrap();
    assert_eq!((again.firing, again.attempt), (item.firing, 2));
}

#[test]
fn an_extended_lease_outlives_its_first_end() {
    let mut h = Harness::new(EXTERNAL);
    h.start("c", &[("approved", json!(1))]);
    h.plan();
    let item = claim(&mut h, 100).unwrap();
    h.now = T0 + 50;
    let info = h
        .core
        .extend(item.firing, &item.lease, 1000, h.now)
        .unwrap();
    assert_eq!(info.lease_until_ms, T0 + 1050);
    h.now = T0 + 100;
    h.plan();
    h.core
        .complete(item.firing, &item.lease, paid(), h.now)
        .unwrap();
}

#[test]
fn a_worker_failure_is_a_failed_attempt_under_the_retry_policy() {
    let mut h = Harness::new(EXTERNAL);
    h.start("c", &[("approved", json!(1))]);
    h.plan();
    let item = claim(&mut h, 100).unwrap();
    let failure = WorkFailure {
        message: "gateway down".into(),
        retryable: false,
    };
    h.core
        .fail_work(item.firing, &item.lease, failure, h.now)
        .unwrap();
    let changes = h.commit();
    let letter = changes[0].dead_letter.as_ref().expect("not retryable");
    assert!(
        letter.failures[0]
            .error
            .to_string()
            .contains("gateway down")
    );
}
