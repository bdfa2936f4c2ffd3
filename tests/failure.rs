//! Failure handling in the engine with real guests and an injected clock:
//! retry delays, what retries and what goes straight to the dead-letter
//! queue, retry/discard of dead letters, and saga compensation.

mod binary;

use std::sync::Arc;

use petrel::engine::{Engine, EngineConfig, ManualClock, RunOptions};
use petrel::store::{CaseStatus, DeadLetterKind, Event, EventRecord, FiringError, Owner, replay};
use serde_json::json;

use crate::util::{repo, write_net};

/// A net whose one transition runs the fault-injecting `flaky` guest, with
/// `extra` lines in its table (limits, retry policy).
pub(crate) fn flaky_net(extra: &str) -> String {
    format!(
        r#"
[net]
name = "flaky"
[places.todo]
start = true
[places.done]
final = true

[transitions.work]
guest = "GUEST(flaky)"
inputs = {{ todo = 1 }}
outcomes.ok = {{ done = 1 }}
{extra}
"#
    )
}

const FLAKY: &str = r#"
timeout_ms = 300
# Enough fuel that the wall-clock deadline is what stops a hang.
fuel = 1_000_000_000_000
retry = { max_attempts = 4, initial_delay_ms = 1000, multiplier = 2.0, max_delay_ms = 60000, jitter = 0.0 }
"#;

const T0: u64 = 1_800_000_000_000;

async fn engine(dir: &std::path::Path, clock: &Arc<ManualClock>) -> Engine {
    let mut config = EngineConfig::new(dir.join("data"));
    config.clock = clock.clone();
    Engine::open(config).await.unwrap()
}

fn history(engine: &Engine, case: &str) -> Vec<EventRecord> {
    engine.store().events(Some(case), 0, 10_000).unwrap()
}

/// (attempt, at_ms, retry_at_ms) of each failed attempt of a case.
fn failures(events: &[EventRecord]) -> Vec<(u32, u64, Option<u64>)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::FiringFailed {
                attempt,
                retry_at_ms,
                ..
            } => Some((*attempt, e.at_ms, *retry_at_ms)),
            _ => None,
        })
        .collect()
}

fn completed_attempt(events: &[EventRecord]) -> Option<(u32, u64)> {
    events.iter().find_map(|e| match &e.event {
        Event::FiringCompleted { attempt, .. } => Some((*attempt, e.at_ms)),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_with_backoff_then_dead_letter_by_class() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let engine = engine(dir.path(), &clock).await;
    let net = write_net(dir.path(), "net.toml", &flaky_net(FLAKY));
    let v = engine.deploy(&net).await.unwrap().version;
    let cases = [
        ("trap-twice", json!({ "fail": 2, "how": "trap" })),
        ("hang-once", json!({ "fail": 1, "how": "hang" })),
        ("always-errs", json!({ "fail": 99, "how": "error" })),
        ("undeclared", json!({ "fail": 1, "how": "undeclared" })),
        ("fatal", json!({ "fail": 1, "how": "fatal" })),
    ];
    for (case, plan) in &cases {
        engine
            .start_case(&v, case, vec![("todo".into(), plan.clone())])
            .await
            .unwrap();
    }
    let summary = engine.run(RunOptions::default()).await.unwrap();
    assert_eq!(
        (summary.completed, summary.dead_lettered, summary.waiting),
        (2, 3, 0),
        "{summary:?}"
    );

    // Trapped twice: retried after 1 s, then 2 s (exactly: no jitter), and
    // never before its timer.
    let h = history(&engine, "trap-twice");
    let f = failures(&h);
    assert_eq!(
        f.iter()
            .map(|&(a, at, r)| (a, r.map(|r| r - at)))
            .collect::<Vec<_>>(),
        [(1, Some(1000)), (2, Some(2000))]
    );
    let (attempt, at) = completed_attempt(&h).unwrap();
    assert_eq!(attempt, 3);
    assert!(at >= f[1].2.unwrap(), "attempt 3 ran before its timer");
    // A deadline is retried too.
    assert_eq!(
        completed_attempt(&history(&engine, "hang-once")).unwrap().0,
        2
    );
    // The clock only moved by sleeping until timers.
    assert!(
        clock.sleeps().contains(&(f[0].1 + 1000)),
        "{:?}",
        clock.sleeps()
    );

    // A retryable error: 4 attempts, waits 1 s, 2 s, 4 s, then a dead letter
    // with the whole error chain; the case is stuck and holds no token.
    let h = history(&engine, "always-errs");
    let f = failures(&h);
    assert_eq!(
        f.iter()
            .map(|&(a, at, r)| (a, r.map(|r| r - at)))
            .collect::<Vec<_>>(),
        [(1, Some(1000)), (2, Some(2000)), (3, Some(4000)), (4, None)]
    );
    let store = engine.store();
    let letters = engine.dead_letters().unwrap();
    let errs = letters.iter().find(|d| d.case == "always-errs").unwrap();
    assert_eq!((errs.attempts, errs.failures.len()), (4, 4));
    assert_eq!(errs.kind, DeadLetterKind::Firing);
    assert_eq!(errs.tokens[0].place, "todo");
    assert!(
        store
            .tokens(&Owner::Case("always-errs".into()))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.case("always-errs").unwrap().unwrap().status,
        CaseStatus::Stuck
    );

    // An undeclared outcome and a fatal error are not retried.
    let undeclared = letters.iter().find(|d| d.case == "undeclared").unwrap();
    assert_eq!(undeclared.attempts, 1);
    assert!(matches!(
        undeclared.failures[0].error,
        FiringError::UndeclaredOutcome { .. }
    ));
    assert_eq!(
        undeclared.last_decision.as_ref().unwrap().outcome,
        "no_such_outcome"
    );
    assert_eq!(
        letters.iter().find(|d| d.case == "fatal").unwrap().attempts,
        1
    );
    assert!(replay(store.as_ref()).unwrap().mismatches.is_empty());

    // Retry: the tokens come back under their seqs and fire again from
    // attempt 1. Discard: needs a reason, which the log keeps.
    let seq = undeclared.tokens[0].seq;
    engine
        .retry_dead_letter(undeclared.id, "ops")
        .await
        .unwrap();
    assert_eq!(
        store.tokens(&Owner::Case("undeclared".into())).unwrap()[0].seq,
        seq
    );
    assert!(
        engine
            .retry_dead_letter(undeclared.id, "ops")
            .await
            .is_err(),
        "retried twice"
    );
    assert!(
        engine
            .discard_dead_letter(errs.id, "ops", " ")
            .await
            .is_err()
    );
    engine
        .discard_dead_letter(errs.id, "ops", "customer cancelled")
        .await
        .unwrap();
    engine.run(RunOptions::default()).await.unwrap();
    let attempts: Vec<u32> = failures(&history(&engine, "undeclared"))
        .iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(
        attempts,
        [1, 1],
        "a retried dead letter starts at attempt 1"
    );
    assert!(history(&engine, "always-errs").iter().any(|e| matches!(
        &e.event,
        Event::DeadLetterDiscarded { reason, by, .. } if reason == "customer cancelled" && by == "ops"
    )));
    let left: Vec<String> = engine
        .dead_letters()
        .unwrap()
        .into_iter()
        .map(|d| d.case)
        .collect();
    assert_eq!(left, ["fatal", "undeclared"]);
    let report = replay(store.as_ref()).unwrap();
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(report.dead_tokens, 2);
}

/// The order-fulfilment example, its guest paths pointed at this build's
/// guests, edited by `edit`.
pub(crate) fn fulfilment(
    dir: &std::path::Path,
    edit: impl Fn(String) -> String,
) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/order-fulfilment/net.toml")).unwrap();
    let text = text.replace(
        "../../guests/target/wasm32-wasip2/release/",
        &format!("{}/", env!("PETREL_GUESTS_DIR")),
    );
    let path = dir.join("fulfilment.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

fn order(id: &str, carrier: &str, undo_fails: u32) -> Vec<(String, serde_json::Value)> {
    vec![(
        "order".into(),
        json!({ "order_id": id, "amount_cents": 1250, "items": 2, "carrier": carrier, "undo_fails": undo_fails }),
    )]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_saga_compensates_newest_first_retrying_a_failed_compensation() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let engine = engine(dir.path(), &clock).await;
    let v = engine
        .deploy(&fulfilment(dir.path(), |t| t))
        .await
        .unwrap()
        .version;
    engine
        .start_case(&v, "lost", order("o-1", "down", 1))
        .await
        .unwrap();
    engine
        .start_case(&v, "fine", order("o-2", "ok", 0))
        .await
        .unwrap();
    let summary = engine.run(RunOptions::default()).await.unwrap();
    assert_eq!(
        (summary.aborted, summary.compensated),
        (1, 2),
        "{summary:?}"
    );

    let h = history(&engine, "lost");
    let fired: Vec<(u64, String)> = h
        .iter()
        .filter_map(|e| match &e.event {
            Event::FiringCompleted {
                firing, transition, ..
            } => Some((*firing, transition.clone())),
            _ => None,
        })
        .collect();
    let compensated: Vec<(String, u64, u32)> = h
        .iter()
        .filter_map(|e| match &e.event {
            Event::CompensationCompleted {
                transition,
                compensated,
                attempt,
                ..
            } => Some((transition.clone(), *compensated, *attempt)),
            _ => None,
        })
        .collect();
    // ship: 3 attempts then abort; each compensation failed once (the
    // order's undo_fails) and was retried; each got the firing it undoes.
    assert_eq!(
        compensated,
        [
            ("release_charge".to_string(), fired[1].0, 2),
            ("release_stock".to_string(), fired[0].0, 2)
        ]
    );
    assert!(h.iter().any(|e| matches!(&e.event,
        Event::CaseAborted { compensations, reason, .. }
            if compensations.len() == 2 && reason.contains("after 3 attempt(s)"))));
    let store = engine.store();
    assert_eq!(
        store.case("lost").unwrap().unwrap().status,
        CaseStatus::Aborted
    );
    let mut places: Vec<String> = store
        .tokens(&Owner::Case("lost".into()))
        .unwrap()
        .into_iter()
        .map(|t| t.place)
        .collect();
    places.sort();
    assert_eq!(places, ["charge_reversals", "stock_releases"]);
    assert_eq!(
        store.case("fine").unwrap().unwrap().status,
        CaseStatus::Completed
    );
    assert!(replay(store.as_ref()).unwrap().mismatches.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_compensation_is_dead_lettered_and_discarding_it_runs_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let engine = engine(dir.path(), &clock).await;
    let net = fulfilment(dir.path(), |t| {
        t.replacen(
            "retry = { max_attempts = 5, initial_delay_ms = 200 }",
            "retry = { max_attempts = 2, initial_delay_ms = 200 }",
            1,
        )
    });
    let v = engine.deploy(&net).await.unwrap().version;
    engine
        .start_case(&v, "stuck", order("o-3", "reject", 2))
        .await
        .unwrap();
    engine.run(RunOptions::default()).await.unwrap();
    let store = engine.store();
    assert_eq!(
        store.case("stuck").unwrap().unwrap().status,
        CaseStatus::CompensationFailed
    );
    let letters = engine.dead_letters().unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].transition, "release_charge");
    assert!(matches!(
        letters[0].kind,
        DeadLetterKind::Compensation { .. }
    ));
    assert_eq!(letters[0].attempts, 2);

    // Discarded: the chain goes on with release_stock (5 attempts allowed).
    engine
        .discard_dead_letter(letters[0].id, "ops", "refunded by hand")
        .await
        .unwrap();
    engine.run(RunOptions::default()).await.unwrap();
    assert_eq!(
        store.case("stuck").unwrap().unwrap().status,
        CaseStatus::Aborted
    );
    let places: Vec<String> = store
        .tokens(&Owner::Case("stuck".into()))
        .unwrap()
        .into_iter()
        .map(|t| t.place)
        .collect();
    assert_eq!(places, ["stock_releases"]);
    assert!(engine.dead_letters().unwrap().is_empty());
    assert!(replay(store.as_ref()).unwrap().mismatches.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_cancels_the_cases_waiting_retries() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let engine = engine(dir.path(), &clock).await;
    let net = write_net(
        dir.path(),
        "net.toml",
        r#"
[net]
name = "branches"
[places.start]
start = true
[places.a]
[places.b]
[places.a_done]
[places.b_done]
[places.done]
final = true
[transitions.split]
external = true
inputs = { start = 1 }
outcomes.both = { a = 1, b = 1 }
[transitions.slow]
guest = "GUEST(flaky)"
inputs = { a = 1 }
outcomes.ok = { a_done = 1 }
retry = { initial_delay_ms = 60000, jitter = 0.0 }
[transitions.stop]
guest = "GUEST(flaky)"
inputs = { b = 1 }
outcomes.ok = { b_done = 1 }
[transitions.join]
external = true
inputs = { a_done = 1, b_done = 1 }
outcomes.ok = { done = 1 }
"#,
    );
    let v = engine.deploy(&net).await.unwrap().version;
    let tokens = vec![
        ("a".into(), json!({ "fail": 9, "how": "error" })),
        ("b".into(), json!({ "fail": 1, "how": "abort" })),
    ];
    engine.start_case(&v, "c", tokens).await.unwrap();
    let summary = engine.run(RunOptions::default()).await.unwrap();
    assert_eq!((summary.aborted, summary.waiting), (1, 0), "{summary:?}");
    let store = engine.store();
    assert_eq!(
        store.case("c").unwrap().unwrap().status,
        CaseStatus::Aborted
    );
    assert!(store.tokens(&Owner::Case("c".into())).unwrap().is_empty());
    assert!(
        store.reservations().unwrap().is_empty(),
        "the retry is cancelled"
    );
    assert!(
        !clock.sleeps().contains(&(T0 + 60_000)),
        "nobody waited for the cancelled retry: {:?}",
        clock.sleeps()
    );
    assert!(replay(store.as_ref()).unwrap().mismatches.is_empty());
}
