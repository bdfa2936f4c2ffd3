//! The always-on host (`petrel::Host`) as a library: its driver fires cases
//! as they start, and workers claim, complete, fail and extend external
//! firings under leases that survive a restart. Real store, real guests,
//! real clock (leases of a few hundred ms).

use std::time::Duration;

use petrel::Host;
use petrel::engine::{EngineConfig, EngineError, RunOptions};
use petrel::host::{ClaimRequest, Completion, WorkFailure, WorkItem, WorkToken};
use petrel::store::{CaseStatus, Event, StoreError, replay};
use serde_json::json;

use crate::failure::flaky_net;
use crate::util::write_net;

/// A review done by a person: `review` is external; `approve` leads on to
/// a final place, `reject` too. `escalate` (on_timeout) routes a review
/// whose lease runs out to a human hand-off place when `on_timeout` is set.
fn review_net(extra: &str) -> String {
    format!(
        r#"
[net]
name = "review"
[places.submitted]
start = true
[places.approved]
final = true
[places.rejected]
final = true
[places.handoff]
final = true

[transitions.review]
external = true
inputs = {{ submitted = 1 }}
outcomes.approve = {{ approved = 1 }}
outcomes.reject = {{ rejected = 1 }}
outcomes.escalate = {{ handoff = 1 }}
{extra}
"#
    )
}

const FAST_RETRY: &str =
    "retry = { max_attempts = 2, initial_delay_ms = 20, max_delay_ms = 20, jitter = 0.0 }";

async fn open(dir: &std::path::Path) -> Host {
    Host::open(EngineConfig::new(dir.join("data")))
        .await
        .unwrap()
}

fn request(lease_ms: u64, wait_ms: u64) -> ClaimRequest {
    ClaimRequest {
        worker: "ana".into(),
        transition: Some("review".into()),
        lease_ms: Some(lease_ms),
        wait_ms,
        ..ClaimRequest::default()
    }
}

async fn claim(host: &Host, lease_ms: u64) -> WorkItem {
    host.claim(request(lease_ms, 5_000))
        .await
        .unwrap()
        .expect("a claimable firing within 5 s")
}

fn approve(payload: serde_json::Value) -> Completion {
    Completion {
        outcome: "approve".into(),
        tokens: vec![WorkToken {
            place: "approved".into(),
            payload,
        }],
    }
}

/// Waits (up to 10 s) until case `id` has `status`.
async fn until_status(host: &Host, id: &str, status: CaseStatus) {
    for _ in 0..500 {
        if host.case(id).unwrap().record.status == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "case {id} stayed {:?}, expected {status:?}",
        host.case(id).unwrap().record
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_claim_and_complete_external_firings_checked_like_guests() {
    let dir = tempfile::tempdir().unwrap();
    let net = write_net(dir.path(), "review.toml", &review_net(""));
    let host = open(dir.path()).await;
    host.deploy(&net).await.unwrap();
    host.start_case(
        "review",
        "c-1",
        vec![("submitted".into(), json!({"doc": 1}))],
    )
    .await
    .unwrap();

    // Nothing of another transition; then the review, with its inputs.
    let other = ClaimRequest {
        worker: "bob".into(),
        transition: Some("pay".into()),
        ..ClaimRequest::default()
    };
    assert_eq!(host.claim(other).await.unwrap(), None);
    let item = claim(&host, 10_000).await;
    assert_eq!((item.case.as_str(), item.attempt), ("c-1", 1));
    assert_eq!(item.inputs[0].payload, json!({"doc": 1}));
    assert_eq!(item.outcomes.len(), 3);
    // Claimed: nobody else gets it.
    assert_eq!(host.claim(request(1_000, 0)).await.unwrap(), None);

    // Refused decisions leave the lease as it was.
    let undeclared = Completion {
        outcome: "maybe".into(),
        tokens: vec![],
    };
    let err = host
        .complete(item.firing, &item.lease, undeclared)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("maybe"), "{err}");
    let wrong_place = Completion {
        outcome: "approve".into(),
        tokens: vec![WorkToken {
            place: "rejected".into(),
            payload: json!(null),
        }],
    };
    let err = host
        .complete(item.firing, &item.lease, wrong_place)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Invalid(_)), "{err}");
    let err = host
        .complete(item.firing, "not-the-lease", approve(json!(1)))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");

    host.complete(item.firing, &item.lease, approve(json!({"ok": true})))
        .await
        .unwrap();
    until_status(&host, "c-1", CaseStatus::Completed).await;
    let case = host.case("c-1").unwrap();
    assert_eq!(case.tokens[0].place, "approved");
    assert_eq!(case.tokens[0].payload, json!({"ok": true}));
    // Completing twice is refused.
    let err = host
        .complete(item.firing, &item.lease, approve(json!(2)))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");

    let events = host.history("c-1", 0, 100).unwrap().events;
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.event, Event::FiringClaimed { worker, .. } if worker == "ana"))
    );
    assert!(events.iter().any(
        |e| matches!(&e.event, Event::FiringCompleted { outcome, .. } if outcome == "approve")
    ));
    // While the host drives the engine, a separate batch run is refused.
    let err = host.engine().run(RunOptions::default()).await.unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    host.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_is_a_missed_deadline_retried_or_routed_by_on_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let retried = write_net(dir.path(), "retried.toml", &review_net(FAST_RETRY));
    let routed = write_net(
        dir.path(),
        "routed.toml",
        &review_net("on_timeout = \"escalate\"").replace("name = \"review\"", "name = \"routed\""),
    );
    let host = open(dir.path()).await;
    host.deploy(&retried).await.unwrap();
    host.deploy(&routed).await.unwrap();
    host.start_case("review", "lapsed", vec![]).await.unwrap();

    let first = claim(&host, 1_000).await;
    // Extending keeps it alive past its first end (generous margins: CI
    // machines are slow and noisy).
    let extended = host
        .extend(first.firing, &first.lease, 1_500)
        .await
        .unwrap();
    assert!(extended.lease_until_ms > first.lease_until_ms);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // Past the first end, within the extension: still held.
    assert_eq!(host.claim(request(1_000, 0)).await.unwrap(), None);
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let err = host
        .complete(first.firing, &first.lease, approve(json!(1)))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    // Offered again as the next attempt, to anyone.
    let second = claim(&host, 10_000).await;
    assert_eq!((second.firing, second.attempt), (first.firing, 2));
    assert_ne!(second.lease, first.lease);
    host.complete(second.firing, &second.lease, approve(json!(2)))
        .await
        .unwrap();
    until_status(&host, "lapsed", CaseStatus::Completed).await;
    let failed: Vec<_> = host
        .history("lapsed", 0, 100)
        .unwrap()
        .events
        .into_iter()
        .filter(|e| matches!(e.event, Event::FiringFailed { .. }))
        .collect();
    assert_eq!(failed.len(), 1, "one lapsed lease, one failed attempt");

    // With on_timeout, a lapsed lease routes the tokens instead.
    host.start_case(
        "routed",
        "routed-1",
        vec![("submitted".into(), json!("doc"))],
    )
    .await
    .unwrap();
    let item = host
        .claim(ClaimRequest {
            worker: "ana".into(),
            net: Some("routed".into()),
            lease_ms: Some(100),
            wait_ms: 5_000,
            ..ClaimRequest::default()
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.net, "routed");
    until_status(&host, "routed-1", CaseStatus::Completed).await;
    let case = host.case("routed-1").unwrap();
    assert_eq!(case.tokens[0].place, "handoff");
    assert_eq!(case.tokens[0].payload, json!("doc"), "routed unchanged");
    host.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_failures_follow_the_retry_policy_into_the_dead_letter_queue() {
    let dir = tempfile::tempdir().unwrap();
    let net = write_net(dir.path(), "review.toml", &review_net(FAST_RETRY));
    let host = open(dir.path()).await;
    host.deploy(&net).await.unwrap();
    host.start_case("review", "f-1", vec![]).await.unwrap();
    let failure = WorkFailure {
        message: "payment provider down".into(),
        retryable: true,
    };
    for attempt in 1..=2 {
        let item = claim(&host, 10_000).await;
        assert_eq!(item.attempt, attempt);
        host.fail(item.firing, &item.lease, failure.clone())
            .await
            .unwrap();
    }
    until_status(&host, "f-1", CaseStatus::Stuck).await;
    let letters = host.dead_letters().unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attempts, 2);
    assert!(
        letters[0].failures[1]
            .error
            .to_string()
            .contains("payment provider down"),
        "{:?}",
        letters[0].failures
    );
    assert_eq!(host.case("f-1").unwrap().dead_letters, vec![letters[0].id]);

    // Retried from the queue: offered again with a fresh attempt count.
    host.retry_dead_letter(letters[0].id, "ops").await.unwrap();
    let item = claim(&host, 10_000).await;
    assert_eq!(item.attempt, 1);
    host.complete(item.firing, &item.lease, approve(json!(3)))
        .await
        .unwrap();
    until_status(&host, "f-1", CaseStatus::Completed).await;
    assert!(host.dead_letters().unwrap().is_empty());

    // A failure the worker marks fatal is not retried.
    host.start_case("review", "f-2", vec![]).await.unwrap();
    let item = claim(&host, 10_000).await;
    let fatal = WorkFailure {
        message: "account closed".into(),
        retryable: false,
    };
    host.fail(item.firing, &item.lease, fatal).await.unwrap();
    until_status(&host, "f-2", CaseStatus::Stuck).await;
    let letters = host.dead_letters().unwrap();
    assert_eq!((letters.len(), letters[0].attempts), (1, 1));
    host.discard_dead_letter(letters[0].id, "ops", "closed by hand")
        .await
        .unwrap();
    assert!(host.dead_letters().unwrap().is_empty());
    host.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_survive_a_restart_and_cut_off_firings_re_run() {
    let dir = tempfile::tempdir().unwrap();
    let review = write_net(dir.path(), "review.toml", &review_net(""));
    // The first attempt hangs until its deadline: in flight at shutdown.
    let flaky = write_net(
        dir.path(),
        "flaky.toml",
        &flaky_net("timeout_ms = 3000\nfuel = 1_000_000_000_000"),
    );
    let host = open(dir.path()).await;
    host.deploy(&review).await.unwrap();
    host.deploy(&flaky).await.unwrap();
    host.start_case("review", "kept", vec![]).await.unwrap();
    host.start_case("review", "offered", vec![]).await.unwrap();
    let held = claim(&host, 60_000).await;
    assert_eq!(held.case, "kept");
    host.start_case(
        "flaky",
        "hung",
        vec![("todo".into(), json!({"fail": 1, "how": "hang"}))],
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let report = host.shutdown(Duration::ZERO).await.unwrap();
    assert_eq!(report.cut_off, 1, "{report:?}");
    assert!(!host.ready());
    let err = host.start_case("review", "late", vec![]).await;
    assert!(
        err.is_ok(),
        "a case started during shutdown is stored: {err:?}"
    );
    drop(host);

    let host = open(dir.path()).await;
    // The lease held across the restart; the unclaimed firing is offered again.
    host.complete(held.firing, &held.lease, approve(json!("after restart")))
        .await
        .unwrap();
    let mut cases = Vec::new();
    for _ in 0..2 {
        let item = claim(&host, 10_000).await;
        cases.push(item.case.clone());
        host.complete(item.firing, &item.lease, approve(json!(null)))
            .await
            .unwrap();
    }
    cases.sort();
    assert_eq!(cases, ["late", "offered"]);
    for case in ["kept", "offered", "late"] {
        until_status(&host, case, CaseStatus::Completed).await;
    }
    // The hung firing was cut off, logged, and re-run as the same attempt.
    until_status(&host, "hung", CaseStatus::Completed).await;
    let events = host.history("hung", 0, 100).unwrap().events;
    assert!(
        events
            .iter()
            .any(|e| matches!(e.event, Event::FiringAbandoned { .. }))
    );
    host.shutdown(Duration::from_secs(1)).await.unwrap();
    let report = replay(host.engine().store().as_ref()).unwrap();
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
}

/// Many callers at once: starts share transactions and flushes (a taken id
/// is refused alone), completions queued behind each other commit together
/// (a wrong lease among them is refused alone), and every acknowledged
/// change is there after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_and_completions_commit_together_and_fail_alone() {
    const CASES: usize = 64;
    let dir = tempfile::tempdir().unwrap();
    let net = write_net(dir.path(), "review.toml", &review_net(""));
    let host = open(dir.path()).await;
    host.deploy(&net).await.unwrap();
    let flushes_before = host.engine().flushes();
    // Every id twice, all at once: one start of each wins.
    let starts: Vec<_> = (0..2 * CASES)
        .map(|i| {
            let host = host.clone();
            tokio::spawn(async move {
                let id = format!("c-{}", i % CASES);
                host.start_case("review", &id, vec![("submitted".into(), json!(i))])
                    .await
            })
        })
        .collect();
    let mut refused = 0;
    for start in starts {
        match start.await.unwrap() {
            Ok(_) => {}
            Err(EngineError::Store(StoreError::CaseExists(id))) => {
                assert!(id.starts_with("c-"), "{id}");
                refused += 1;
            }
            Err(e) => panic!("a start failed: {e}"),
        }
    }
    assert_eq!(refused, CASES);
    let flushes = host.engine().flushes() - flushes_before;
    assert!(
        flushes <= CASES as u64,
        "{flushes} flushes for {CASES} starts"
    );

    let mut items = Vec::new();
    for _ in 0..CASES {
        items.push(claim(&host, 60_000).await);
    }
    let completions: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let host = host.clone();
            let (firing, lease) = (item.firing, item.lease.clone());
            tokio::spawn(async move {
                let lease = if i == 7 {
                    "not-the-lease".into()
                } else {
                    lease
                };
                host.complete(firing, &lease, approve(json!(i))).await
            })
        })
        .collect();
    for (i, done) in completions.into_iter().enumerate() {
        match (i, done.await.unwrap()) {
            (7, Err(EngineError::Conflict(_))) => {}
            (7, other) => panic!("a wrong lease was not refused: {other:?}"),
            (_, result) => result.unwrap(),
        }
    }
    host.shutdown(Duration::from_secs(1)).await.unwrap();
    drop(host);

    let host = open(dir.path()).await;
    let mut completed = 0;
    for item in &items {
        let case = host.case(&item.case).unwrap();
        if case.record.status == CaseStatus::Completed {
            completed += 1;
        }
    }
    assert_eq!(completed, CASES - 1);
    host.shutdown(Duration::from_secs(1)).await.unwrap();
    let report = replay(host.engine().store().as_ref()).unwrap();
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
}
