//! Aborts and sagas: tokens go, compensations run newest first.

use serde_json::json;

use super::*;
use crate::engine::core::Work;
use crate::store::DeadLetterKind;

/// reserve → charge → ship; reserve and charge compensate.
pub(super) const SAGA: &str = r#"
[net]
name = "n"
[places.order]
start = true
[places.reserved]
[places.charged]
[places.shipped]
final = true
[places.undone]
final = true
[transitions.reserve]
guest = "reserve.wasm"
inputs = { order = 1 }
outcomes.ok = { reserved = 1 }
compensate = "release"
[transitions.charge]
guest = "charge.wasm"
inputs = { reserved = 1 }
outcomes.ok = { charged = 1 }
compensate = "refund"
[transitions.ship]
guest = "ship.wasm"
inputs = { charged = 1 }
outcomes.ok = { shipped = 1 }
[transitions.release]
guest = "release.wasm"
compensation = true
outcomes.released = { undone = 1 }
retry = { max_attempts = 2, initial_delay_ms = 50, jitter = 0.0 }
[transitions.refund]
guest = "refund.wasm"
compensation = true
outcomes.refunded = { undone = 1 }
"#;

/// Runs reserve and charge, then aborts in ship.
fn aborted_in_ship(h: &mut Harness) {
    h.start("c", &[("order", json!({"id": 1}))]);
    let l = h.one("reserve");
    h.settle(l, fire("ok", &[("reserved", json!("r"))]));
    let l = h.one("charge");
    h.settle(l, fire("ok", &[("charged", json!("ch"))]));
    let l = h.one("ship");
    h.settle(l, Ok(Decision::Abort("card declined".into())));
}

#[test]
fn a_completed_compensable_firing_is_kept_with_its_case() {
    let mut h = Harness::new(SAGA);
    h.start("c", &[("order", json!({"id": 1}))]);
    let l = h.one("reserve");
    let changes = h.settle(l, fire("ok", &[("reserved", json!("r"))]));
    let record = changes[0]
        .case
        .as_ref()
        .expect("the record goes with the firing");
    assert_eq!(record.compensable.len(), 1);
    let step = &record.compensable[0];
    assert_eq!(
        (step.transition.as_str(), step.compensation.as_str()),
        ("reserve", "release")
    );
    assert_eq!(step.inputs[0].payload, mp(json!({"id": 1})));
    assert_eq!(step.outputs[0].payload, mp(json!("r")));
}

#[test]
fn an_abort_removes_the_case_tokens_and_queues_compensations_newest_first() {
    let mut h = Harness::new(SAGA);
    aborted_in_ship(&mut h);
    assert_eq!(h.status("c"), CaseStatus::Compensating);
    let saga = h.record("c").saga.as_ref().unwrap();
    let order: Vec<_> = saga.steps.iter().map(|s| s.compensation.as_str()).collect();
    assert_eq!(order, ["refund", "release"]);
    assert!(h.record("c").compensable.is_empty());
    assert_eq!(h.count("c", "charged"), (0, 0));
    let refund = h.one("refund");
    let Work::Compensation(step) = &refund.work else {
        panic!("a compensation");
    };
    assert_eq!(step.transition, "charge");
    assert_eq!(
        refund.input_records()[0].payload,
        mp(json!("r")),
        "charge's input"
    );
    assert!(refund.inputs.is_empty(), "it reserves nothing");
    h.settle(refund, fire("refunded", &[("undone", json!(1))]));
    let release = h.one("release");
    h.settle(release, fire("released", &[("undone", json!(2))]));
    assert!(h.plan().is_empty());
    assert_eq!(h.status("c"), CaseStatus::Aborted);
    assert!(h.record("c").saga.is_none());
    let compensated: Vec<_> = h
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::CompensationCompleted { remaining, .. } => Some(*remaining),
            _ => None,
        })
        .collect();
    assert_eq!(compensated, [1, 0]);
}

#[test]
fn a_failing_compensation_is_retried_then_dead_lettered_and_the_case_fails() {
    let mut h = Harness::new(SAGA);
    aborted_in_ship(&mut h);
    let refund = h.one("refund");
    h.settle(refund, fire("refunded", &[("undone", json!(1))]));
    let release = h.one("release");
    h.settle(release, trap());
    assert_eq!(h.record("c").saga.as_ref().unwrap().attempt, 2);
    assert!(h.plan().is_empty(), "waits for its timer");
    h.now = T0 + 50;
    let again = h.one("release");
    assert_eq!(again.attempt, 2);
    let changes = h.settle(again, trap());
    let letter = changes[0].dead_letter.as_ref().unwrap();
    assert!(matches!(letter.kind, DeadLetterKind::Compensation { .. }));
    assert_eq!(letter.failures.len(), 2);
    assert_eq!(h.status("c"), CaseStatus::CompensationFailed);
}

#[test]
fn a_firing_in_flight_when_its_case_aborts_is_discarded_and_its_inputs_go() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!(1)), ("b", json!(2))]);
    let mut launches = h.plan();
    let second = launches.pop().unwrap();
    let first = launches.pop().unwrap();
    let changes = h.settle(first, Ok(Decision::Abort("no".into())));
    // The other firing's input is held: it goes when that firing settles.
    assert!(
        matches!(&changes[0].events[0].event, Event::CaseAborted { consumed, .. } if consumed.len() == 1)
    );
    assert_eq!(h.count("c", "b"), (0, 1));
    let changes = h.settle(second, fire("ok", &[("done", json!(1))]));
    assert_eq!(changes[0].consume.len(), 1);
    assert!(changes[0].produce.is_empty());
    assert_eq!(h.count("c", "b"), (0, 0));
}

#[test]
fn an_abort_cancels_the_cases_waiting_retries() {
    let mut h = Harness::new(&STEPS.replace(
        "outcomes.ok = { b = 1 }",
        "outcomes.ok = { b = 1 }\nretry = { initial_delay_ms = 100 }",
    ));
    h.start("c", &[("a", json!(1)), ("b", json!(2))]);
    let mut launches = h.plan();
    let second = launches.pop().unwrap();
    let first = launches.pop().unwrap();
    let retry_firing = first.firing;
    h.settle(first, trap());
    let changes = h.settle(second, Ok(Decision::Abort("no".into())));
    let released: Vec<u64> = changes[0].release.iter().map(|r| r.firing).collect();
    assert!(released.contains(&retry_firing), "{released:?}");
    assert_eq!(changes[0].consume.len(), 2, "both case tokens go");
    h.now = T0 + 10_000;
    assert!(h.plan().is_empty(), "the retry never runs");
    assert_eq!(h.status("c"), CaseStatus::Aborted);
}
