//! Workflow-level retry (`[net] retry`): a case that ends aborted or stuck
//! starts again from its start tokens, up to a cap, then is dead-lettered.

use serde_json::json;

use super::*;
use crate::engine::core::letters;
use crate::store::DeadLetterKind;

/// reserve (compensated by release) → ship; whole cases retried twice
/// more, 100 ms then 200 ms apart.
const RETRIED: &str = r#"
[net]
name = "n"
retry = { max_attempts = 3, initial_delay_ms = 100, multiplier = 2.0, jitter = 0.0 }
[places.order]
start = true
[places.reserved]
[places.shipped]
final = true
[places.undone]
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
retry = { max_attempts = 1 }
[transitions.release]
guest = "release.wasm"
compensation = true
outcomes.released = { undone = 1 }
"#;

/// Runs one attempt: reserve, then ship aborts, then release undoes.
fn failed_attempt(h: &mut Harness) {
    let l = h.one("reserve");
    h.settle(l, fire("ok", &[("reserved", json!("r"))]));
    let l = h.one("ship");
    h.settle(l, Ok(Decision::Abort("carrier down".into())));
    assert_eq!(h.status("c"), CaseStatus::Compensating);
    let l = h.one("release");
    h.settle(l, fire("released", &[("undone", json!("u"))]));
}

#[test]
fn an_aborted_case_starts_again_after_its_compensations_and_succeeds() {
    let mut h = Harness::new(RETRIED);
    h.start("c", &[("order", json!({"id": 7}))]);
    failed_attempt(&mut h);
    assert_eq!(h.status("c"), CaseStatus::Restarting);
    assert_eq!(h.record("c").restart_at_ms, h.now + 100);
    assert!(h.plan().is_empty(), "it waits for its timer");
    h.now += 100;
    let l = h.one("reserve");
    assert_eq!(l.inputs[0].payload, mp(json!({"id": 7})), "the start token");
    let restarted = h.log.iter().rev().find_map(|c| {
        c.events.iter().find_map(|e| match &e.event {
            Event::CaseRestarted {
                attempt, tokens, ..
            } => Some((*attempt, tokens.clone(), c.case.clone())),
            _ => None,
        })
    });
    let (attempt, tokens, record) = restarted.expect("case_restarted");
    assert_eq!(attempt, 2);
    assert_eq!(tokens.len(), 1);
    assert_ne!(tokens[0].seq, h.record("c").start[0].seq, "a fresh seq");
    let record = record.unwrap();
    assert_eq!((record.attempt, record.status), (2, CaseStatus::Running));
    assert!(record.compensable.is_empty());
    h.settle(l, fire("ok", &[("reserved", json!("r"))]));
    let l = h.one("ship");
    h.settle(l, fire("ok", &[("shipped", json!("s"))]));
    h.plan();
    assert_eq!(h.status("c"), CaseStatus::Completed);
    assert_eq!(h.record("c").attempt, 2);
}

#[test]
fn a_case_that_keeps_failing_stops_at_the_cap_in_the_dead_letter_queue() {
    let mut h = Harness::new(RETRIED);
    h.start("c", &[("order", json!({"id": 7}))]);
    failed_attempt(&mut h);
    h.now += 100;
    failed_attempt(&mut h);
    assert_eq!(h.record("c").restart_at_ms, h.now + 200, "the wait grows");
    h.now += 200;
    failed_attempt(&mut h);
    assert_eq!(h.status("c"), CaseStatus::Aborted, "no fourth attempt");
    let letter = h
        .log
        .iter()
        .rev()
        .find_map(|c| c.dead_letter.clone())
        .expect("the case is dead-lettered");
    assert_eq!(
        letter.kind,
        DeadLetterKind::Case {
            ended: CaseStatus::Aborted
        }
    );
    assert_eq!((letter.attempts, letter.case.as_str()), (3, "c"));
    assert!(matches!(
        h.events().last(),
        Some(Event::CaseDeadLettered { attempts: 3, ended: CaseStatus::Aborted, dead_letter })
            if *dead_letter == letter.id
    ));
    // Discarding it would leave the case as it ended.
    let ended = h.record("c").clone();
    let change = letters::discard(&letter, ended.clone(), "ana", "gave up", h.now).unwrap();
    assert_eq!(change.case.as_ref().unwrap().status, ended.status);
    // An operator's retry starts one attempt more, at once.
    let change = letters::retry(&letter, ended, "ana", h.now).unwrap();
    h.core.close_letter(&letter, change).unwrap();
    let l = h.one("reserve");
    h.settle(l, fire("ok", &[("reserved", json!("r"))]));
    assert_eq!(h.record("c").attempt, 4);
}

#[test]
fn a_stuck_case_starts_again_and_its_dead_letters_are_discarded() {
    let mut h = Harness::new(RETRIED);
    h.start("c", &[("order", json!({"id": 7}))]);
    let l = h.one("reserve");
    h.settle(l, fire("ok", &[("reserved", json!("r"))]));
    let l = h.one("ship");
    let firing = l.firing;
    h.settle(l, trap());
    h.plan();
    assert!(
        h.events()
            .iter()
            .any(|e| matches!(e, Event::CaseStuck { .. }))
    );
    assert_eq!(h.status("c"), CaseStatus::Restarting);
    h.now += 100;
    h.one("reserve");
    let removed: Vec<u64> = h.log.iter().filter_map(|c| c.remove_dead_letter).collect();
    assert_eq!(removed, [firing], "the letter goes with the restart");
    assert!(h.events().iter().any(|e| matches!(
        e,
        Event::CaseRestarted { attempt: 2, discarded, .. } if discarded == &[firing]
    )));
    assert_eq!(h.count("c", "order"), (0, 1), "one start token, reserved");
}

#[test]
fn an_operators_cancel_is_not_retried() {
    let mut h = Harness::new(RETRIED);
    h.start("c", &[("order", json!({"id": 7}))]);
    let l = h.one("reserve");
    h.settle(l, fire("ok", &[("reserved", json!("r"))]));
    h.core
        .cancel("c", "ops", "withdrawn".into(), h.now)
        .unwrap();
    h.commit();
    let l = h.one("release");
    h.settle(l, fire("released", &[("undone", json!("u"))]));
    assert_eq!(h.status("c"), CaseStatus::Aborted);
    assert!(h.log.iter().all(|c| c.dead_letter.is_none()));
}
