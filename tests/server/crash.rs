//! `petrel serve` killed with SIGKILL again and again while guests fire and
//! a worker claims and completes external firings; restarted each time
//! until every case is done. Nothing acknowledged is lost, nothing commits
//! twice, and replay agrees with the store.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Api, Daemon};
use crate::util::{petrel, write_net};

const CASES: usize = 150;
const KILLS: usize = 8;

/// A guest step (`work`: the flaky guest fires into `checked`; for every
/// fifth case its first attempt hangs to its 50 ms deadline, so kills cut
/// guests off mid-call), then an external one (`pay`). Lapsed leases are retried
/// quickly and often enough never to dead-letter here.
const NET: &str = r#"
[net]
name = "crashy"
[places.todo]
start = true
[places.checked]
[places.paid]
final = true

[transitions.work]
guest = "GUEST(flaky)"
inputs = { todo = 1 }
outcomes.ok = { checked = 1 }
timeout_ms = 50
fuel = 1_000_000_000_000
retry = { max_attempts = 5, initial_delay_ms = 10, max_delay_ms = 10 }

[transitions.pay]
external = true
inputs = { checked = 1 }
outcomes.paid = { paid = 1 }
retry = { max_attempts = 100, initial_delay_ms = 10, max_delay_ms = 10 }
"#;

/// One round of a worker that keeps its claims: it completes the firings
/// it holds (their leases are stored, so they outlive a restart, as a real
/// worker relies on), then claims one more. False when a request failed
/// (the daemon is gone).
async fn step(api: &Api, held: &mut Vec<Value>, paid: &mut usize) -> bool {
    while let Some(item) = held.last() {
        let firing = &item["firing"];
        let body = json!({ "lease": item["lease"], "outcome": "paid", "tokens": [{ "place": "paid", "payload": item["inputs"][0]["payload"] }] });
        let request = api
            .request(
                reqwest::Method::POST,
                &format!("/v1/work/{firing}/complete"),
            )
            .json(&body);
        let Ok(reply) = request.send().await else {
            return false;
        };
        match reply.status().as_u16() {
            204 => *paid += 1,
            // Its lease lapsed (the firing was offered again), or the
            // completion committed just before a kill cut off the answer.
            409 => {}
            other => panic!("complete answered {other}: {:?}", reply.text().await),
        }
        held.pop();
    }
    let claim =
        json!({ "worker": "payer", "transition": "pay", "lease_ms": 2_000, "wait_ms": 200 });
    let request = api
        .request(reqwest::Method::POST, "/v1/work/claim")
        .json(&claim);
    let Ok(reply) = request.send().await else {
        return false;
    };
    match reply.status().as_u16() {
        200 => held.push(reply.json().await.unwrap()),
        204 => {}
        other => panic!("claim answered {other}: {:?}", reply.text().await),
    }
    true
}

/// Whether every case is completed.
async fn all_completed(api: &Api) -> bool {
    for i in 0..CASES {
        let case = api.get(&format!("/v1/cases/c-{i}")).await;
        if case.body["status"] != "completed" {
            return false;
        }
    }
    true
}

/// Starts cases `c-{next}`, `c-{next+1}`, ... until all are started or a
/// request fails. `pending` names the case whose start is unanswered (it
/// may or may not have been stored when the daemon died).
async fn start_cases(api: &Api, next: &mut usize, pending: &mut Option<String>) {
    while *next < CASES {
        let id = format!("c-{next}");
        *pending = Some(id.clone());
        let plan = if next.is_multiple_of(5) {
            json!({ "to": "checked", "fail": 1, "how": "hang" })
        } else {
            json!({ "to": "checked" })
        };
        let body =
            json!({ "net": "crashy", "id": id, "tokens": [{ "place": "todo", "payload": plan }] });
        let request = api.request(reqwest::Method::POST, "/v1/cases").json(&body);
        let Ok(reply) = request.send().await else {
            return;
        };
        assert_eq!(reply.status().as_u16(), 201, "{:?}", reply.text().await);
        *pending = None;
        *next += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_and_duplicates_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let net = write_net(dir.path(), "crashy.toml", NET);
    let seed = crate::util::now_ms();
    let mut rng = seed | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut daemon = Daemon::start(&data, &[], &[], None);
    daemon.api.deploy(&net).await;
    let mut started = 0;
    let mut pending: Option<String> = None;
    let mut held = Vec::new();
    let mut paid = 0;
    // Cases start and a worker pays while the daemon is SIGKILLed at random
    // moments (requests cut off mid-flight included), then restarted.
    for _ in 0..KILLS {
        let api = daemon.api.clone();
        let run_for = Duration::from_millis(30 + next(250));
        let _ = tokio::time::timeout(run_for, async {
            tokio::join!(start_cases(&api, &mut started, &mut pending), async {
                while step(&api, &mut held, &mut paid).await {}
            })
        })
        .await;
        daemon.kill();
        daemon = Daemon::start(&data, &[], &[], None);
        // A start cut off unanswered: stored, or not at all.
        if let Some(id) = pending.take() {
            let status = daemon.api.get(&format!("/v1/cases/{id}")).await.status;
            assert!(matches!(status, 200 | 404), "seed {seed}: {id}: {status}");
            if status == 200 {
                started += 1;
            }
        }
    }
    // Then a daemon that lives to the end finishes the rest.
    let started_before_last = started;
    let api = daemon.api.clone();
    start_cases(&api, &mut started, &mut pending).await;
    assert_eq!(started, CASES, "seed {seed}: the last daemon died");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !all_completed(&api).await {
        assert!(
            step(&api, &mut held, &mut paid).await,
            "seed {seed}: the daemon died"
        );
        assert!(
            Instant::now() < deadline,
            "seed {seed}: not done within 60 s of the last restart"
        );
    }
    assert!(
        paid <= CASES,
        "seed {seed}: {paid} payments acknowledged for {CASES} cases"
    );

    let mut abandoned = 0;
    let mut claims = 0;
    for i in 0..CASES {
        let id = format!("c-{i}");
        let case = api.get(&format!("/v1/cases/{id}")).await.expect(200).body;
        let tokens = case["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), 1, "seed {seed}: {case:#}");
        assert_eq!(tokens[0]["place"], "paid", "seed {seed}: {case:#}");
        let history = api
            .get(&format!("/v1/cases/{id}/history?limit=1000"))
            .await
            .expect(200)
            .body;
        let mut committed: HashMap<String, usize> = HashMap::new();
        for e in history["events"].as_array().unwrap() {
            match e["type"].as_str() {
                Some("firing_abandoned") => abandoned += 1,
                Some("firing_claimed") => claims += 1,
                _ => {}
            }
            if e["type"] == "firing_completed" {
                *committed
                    .entry(e["transition"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
        }
        assert_eq!(
            committed,
            HashMap::from([("work".to_string(), 1), ("pay".to_string(), 1)]),
            "seed {seed}: each step of {id} commits exactly once"
        );
    }
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    let replay = petrel(&["replay", "--data", data.to_str().unwrap(), "--verify"]);
    assert_eq!(replay.code(), 0, "seed {seed}: {}", replay.stdout());

    eprintln!(
        "seed {seed}: {KILLS} kills, {started_before_last} cases started before the last restart, {abandoned} guest firings cut off and re-run, {claims} claims for {CASES} payments, {paid} payments acknowledged"
    );
}
