//! Failures: retries on durable timers with backoff, dead letters, and
//! shared tokens while a firing waits.

use serde_json::json;

use super::*;
use crate::store::DeadLetterKind;

/// `work` retried up to three times, 100 ms doubling, no jitter.
fn policy(extra: &str) -> String {
    STEPS.replace(
        "outcomes.ok = { b = 1 }",
        &format!(
            "outcomes.ok = {{ b = 1 }}\nretry = {{ max_attempts = 3, initial_delay_ms = 100, multiplier = 2.0, jitter = 0.0{extra} }}"
        ),
    )
}

/// When the failure logged last says the next attempt may start.
fn retry_at(h: &Harness) -> Option<u64> {
    h.events().iter().rev().find_map(|e| match e {
        Event::FiringFailed { retry_at_ms, .. } => Some(*retry_at_ms),
        _ => None,
    })?
}

#[test]
fn a_failed_attempt_is_retried_after_its_backoff_as_the_next_attempt() {
    let mut h = Harness::new(&policy(""));
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("first");
    let firing = launch.firing;
    let changes = h.settle(launch, trap());
    // The reservation is rewritten with the next attempt and its timer.
    let (id, r) = &changes[0].reserve[0];
    assert_eq!((*id, r.attempt, r.not_before_ms), (firing, 2, T0 + 100));
    assert_eq!(r.failures.len(), 1);
    assert_eq!(retry_at(&h), Some(T0 + 100));
    // Not before its time.
    h.now = T0 + 99;
    assert!(h.plan().is_empty());
    assert_eq!(h.core.next_timer(false), Some(T0 + 100));
    h.now = T0 + 100;
    let again = h.one("first");
    assert_eq!((again.firing, again.attempt), (firing, 2));
    assert_eq!(again.failures.len(), 1);
    assert_eq!(again.started_at_ms, T0 + 100);
}

#[test]
fn backoff_grows_by_the_multiplier_and_attempts_end_in_the_dead_letter_queue() {
    let mut h = Harness::new(&policy(""));
    h.start("c", &[("a", json!({"n": 1}))]);
    let mut waits = Vec::new();
    for attempt in 1..=3 {
        let launch = h.one("first");
        assert_eq!(launch.attempt, attempt);
        h.settle(launch, trap());
        if let Some(at) = retry_at(&h) {
            waits.push(at - h.now);
            h.now = at;
        }
    }
    assert_eq!(waits, [100, 200]);
    let letter = h
        .log
        .iter()
        .find_map(|c| c.dead_letter.clone())
        .expect("dead-lettered");
    assert_eq!((letter.attempts, letter.failures.len()), (3, 3));
    assert_eq!(letter.kind, DeadLetterKind::Firing);
    assert_eq!(letter.tokens[0].payload, mp(json!({"n": 1})));
    assert_eq!(h.count("c", "a"), (0, 0), "the token left the marking");
    assert!(h.plan().is_empty());
    assert_eq!(
        h.status("c"),
        CaseStatus::Stuck,
        "a dead letter holds its token"
    );
}

#[test]
fn a_failure_the_policy_does_not_retry_is_dead_lettered_at_once() {
    let mut h = Harness::new(&policy(""));
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("first");
    let fatal = Err(GuestFailure::Guest {
        message: "no such order".into(),
        retryable: false,
    });
    let changes = h.settle(launch, fatal);
    assert!(changes[0].dead_letter.is_some());
    assert_eq!(retry_at(&h), None);
}

#[test]
fn an_exhausted_policy_that_says_abort_aborts_the_case() {
    let mut h = Harness::new(
        &policy(", max_attempts = 1, on_exhausted = \"abort\"").replace("max_attempts = 3, ", ""),
    );
    h.start("c", &[("a", json!(1)), ("b", json!(2))]);
    let mut launches = h.plan();
    let second = launches.pop().unwrap();
    let first = launches.pop().unwrap();
    let changes = h.settle(first, trap());
    let events: Vec<_> = changes[0].events.iter().map(|e| &e.event).collect();
    assert!(matches!(
        events[0],
        Event::FiringFailed {
            retry_at_ms: None,
            ..
        }
    ));
    assert!(
        matches!(events[1], Event::CaseAborted { reason, .. } if reason.contains("failed for good after 1 attempt"))
    );
    assert_eq!(h.status("c"), CaseStatus::Aborted);
    // The other firing in flight is void when it settles.
    let changes = h.settle(second, fire("ok", &[("done", json!(1))]));
    assert!(matches!(
        &changes[0].events[0].event,
        Event::FiringDiscarded { .. }
    ));
    assert!(changes[0].produce.is_empty());
}

const SHARED: &str = r#"
[net]
name = "n"
[places.a]
start = true
[places.slot]
shared = true
initial = [{ name = "ana" }]
[places.done]
final = true
[transitions.work]
guest = "work.wasm"
inputs = { a = 1, slot = 1 }
outcomes.ok = { done = 1, slot = 1 }
retry = { max_attempts = 2, initial_delay_ms = 100, jitter = 0.0 }
"#;

#[test]
fn a_shared_token_serves_one_case_at_a_time_and_wakes_the_one_waiting() {
    let mut h = Harness::new(SHARED);
    h.start("c1", &[("a", json!(1))]);
    h.start("c2", &[("a", json!(2))]);
    let launch = h.one("work");
    assert_eq!(launch.case, "c1");
    assert!(h.plan().is_empty(), "c2 waits for the slot");
    assert_eq!(h.status("c2"), CaseStatus::Running, "waiting is not stuck");
    let slot = launch.inputs[1].payload.clone();
    h.settle(
        launch,
        fire(
            "ok",
            &[("done", json!(1)), ("slot", json!({"name": "ana"}))],
        ),
    );
    let next = h.one("work");
    assert_eq!(next.case, "c2");
    assert_eq!(next.inputs[1].payload, slot);
}

#[test]
fn a_failed_firing_gives_its_shared_token_back_while_it_waits_and_takes_one_again() {
    let mut h = Harness::new(SHARED);
    h.start("c1", &[("a", json!(1))]);
    h.start("c2", &[("a", json!(2))]);
    let launch = h.one("work");
    let changes = h.settle(launch, trap());
    // Only the case token stays held.
    let (_, r) = &changes[0].reserve[0];
    assert_eq!(r.tokens.len(), 1);
    assert_eq!(r.tokens[0].place, "a");
    // c2 takes the slot meanwhile.
    let other = h.one("work");
    assert_eq!(other.case, "c2");
    h.now = T0 + 100;
    assert!(h.plan().is_empty(), "due, but the slot is taken");
    h.settle(other, fire("ok", &[("done", json!(1)), ("slot", json!(0))]));
    let retry = h.one("work");
    assert_eq!((retry.case.as_str(), retry.attempt), ("c1", 2));
    assert_eq!(retry.inputs.len(), 2);
}
