//! Settling a guest's decision into a change.

use serde_json::json;

use super::*;
use crate::store::FiringError;

const TIMEOUT: &str = r#"
[net]
name = "n"
[places.a]
start = true
[places.ok]
final = true
[places.human]
final = true
[places.one]
capacity = 1
[transitions.classify]
guest = "classify.wasm"
inputs = { a = 1 }
outcomes.yes = { ok = 1 }
outcomes.two = { one = 2 }
outcomes.late = { human = 1 }
on_timeout = "late"
"#;

#[test]
fn a_fired_outcome_consumes_the_inputs_and_produces_its_tokens_in_one_change() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!("x"))]);
    let launch = h.one("first");
    let input = h.core.marking.token_id("c", launch.inputs[0].at);
    let firing = launch.firing;
    let changes = h.settle(launch, fire("ok", &[("b", json!("y"))]));
    let change = &changes[0];
    assert_eq!(change.release.len(), 1);
    assert_eq!(change.release[0].firing, firing);
    assert_eq!(change.consume, vec![input]);
    assert_eq!(change.produce.len(), 1);
    assert_eq!(change.produce[0].place, "b");
    assert_eq!(change.produce[0].payload, mp(json!("y")));
    let Event::FiringCompleted {
        outcome, produced, ..
    } = &change.events[0].event
    else {
        panic!("{:?}", change.events);
    };
    assert_eq!(outcome, "ok");
    assert_eq!(produced[0].seq, change.produce[0].seq);
    assert_eq!(h.count("c", "a"), (0, 0));
    assert_eq!(h.count("c", "b"), (1, 1));
}

#[test]
fn produced_tokens_enable_the_next_transition_with_their_payloads() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("first");
    h.settle(launch, fire("ok", &[("b", json!({"k": "v"}))]));
    let next = h.one("second");
    assert_eq!(next.inputs[0].payload, mp(json!({"k": "v"})));
}

#[test]
fn a_decline_keeps_the_inputs_and_blocks_the_transition_until_the_marking_changes() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!(1)), ("b", json!(2))]);
    let mut launches = h.plan();
    assert_eq!(names(&launches), "first@c, second@c");
    let second = launches.pop().unwrap();
    let first = launches.pop().unwrap();
    let changes = h.settle(second, Ok(Decision::Decline));
    assert!(changes[0].consume.is_empty() && changes[0].produce.is_empty());
    assert_eq!(h.count("c", "b"), (1, 1), "freed, not consumed");
    assert!(h.plan().is_empty(), "declined: not asked again");
    // The marking changes: asked again (with both `b` tokens).
    h.settle(first, fire("ok", &[("b", json!(3))]));
    assert_eq!(names(&h.plan()), "second@c, second@c");
}

#[test]
fn an_undeclared_outcome_is_a_failed_attempt_that_keeps_the_refused_decision() {
    let mut h = Harness::new(&STEPS.replace(
        "outcomes.ok = { b = 1 }",
        "outcomes.ok = { b = 1 }\nretry = { max_attempts = 1 }",
    ));
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("first");
    let changes = h.settle(launch, fire("maybe", &[("b", json!(1))]));
    let letter = changes[0].dead_letter.as_ref().unwrap();
    assert!(matches!(
        &letter.failures[0].error,
        FiringError::UndeclaredOutcome { outcome, .. } if outcome == "maybe"
    ));
    let last = letter.last_decision.as_ref().unwrap();
    assert_eq!(
        (last.outcome.as_str(), last.places.as_slice()),
        ("maybe", &["b".to_string()][..])
    );
    assert_eq!(h.count("c", "b"), (0, 0), "nothing produced");
}

#[test]
fn an_outcome_that_would_overfill_a_place_fails_and_produces_nothing() {
    let mut h = Harness::new(TIMEOUT);
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("classify");
    let changes = h.settle(launch, fire("two", &[("one", json!(1)), ("one", json!(2))]));
    assert!(changes[0].produce.is_empty());
    assert!(matches!(
        &changes[0].events[0].event,
        Event::FiringFailed { error: FiringError::CapacityExceeded { place, capacity: 1, would_hold: 2 }, .. } if place == "one"
    ));
    assert_eq!(h.count("c", "one"), (0, 0));
}

#[test]
fn a_missed_deadline_fires_on_timeout_with_the_inputs_unchanged() {
    let mut h = Harness::new(TIMEOUT);
    h.start("c", &[("a", json!({"msg": "refund?"}))]);
    let launch = h.one("classify");
    let changes = h.settle(launch, Err(GuestFailure::Deadline { timeout_ms: 50 }));
    assert_eq!(changes[0].produce[0].place, "human");
    assert_eq!(changes[0].produce[0].payload, mp(json!({"msg": "refund?"})));
    assert!(matches!(
        &changes[0].events[0].event,
        Event::FiringCompleted { outcome, timed_out: true, .. } if outcome == "late"
    ));
    h.plan();
    assert_eq!(h.status("c"), CaseStatus::Completed);
}

#[test]
fn a_missed_deadline_without_on_timeout_is_a_failed_attempt() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("first");
    let changes = h.settle(launch, Err(GuestFailure::Deadline { timeout_ms: 50 }));
    assert!(matches!(
        &changes[0].events[0].event,
        Event::FiringFailed {
            error: FiringError::Guest(GuestFailure::Deadline { .. }),
            retry_at_ms: Some(_),
            ..
        }
    ));
    assert_eq!(h.count("c", "a"), (0, 1), "held for the retry");
}

#[test]
fn a_payload_that_is_not_messagepack_is_refused() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("first");
    let bad = Ok(Decision::Fire(Fire {
        outcome: "ok".into(),
        outputs: vec![Token {
            place: "b".into(),
            payload: vec![0xc1],
        }],
    }));
    let changes = h.settle(launch, bad);
    assert!(matches!(
        &changes[0].events[0].event,
        Event::FiringFailed {
            error: FiringError::NotMessagePack { .. },
            ..
        }
    ));
}
