//! SIGTERM with firings in flight: the daemon drains, exits 0, and a
//! restart on the same data dir resumes every case.

use std::time::Duration;

use serde_json::json;

use super::{Daemon, PAYMENTS_NET, claim, complete};
use crate::util::{petrel, write_net};

/// The first attempt hangs until its 3 s deadline; the next one fires.
fn hanging_net() -> String {
    crate::failure::flaky_net(
        "timeout_ms = 3000\nfuel = 1_000_000_000_000\nretry = { max_attempts = 4, initial_delay_ms = 10, max_delay_ms = 10, jitter = 0.0 }",
    )
    .replace("name = \"flaky\"", "name = \"hanging\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_a_restart_resumes_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hanging = write_net(dir.path(), "hanging.toml", &hanging_net());
    let payments = write_net(dir.path(), "payments.toml", PAYMENTS_NET);
    let args = ["--grace-ms", "200"];
    let env = [("PETREL_API_TOKEN", "shutd0wn")];

    let daemon = Daemon::start(&data, &args, &env, Some("shutd0wn"));
    let api = daemon.api.clone();
    api.deploy(&hanging).await;
    api.deploy(&payments).await;
    api.start(
        "hanging",
        "h-1",
        "todo",
        json!({ "fail": 1, "how": "hang" }),
    )
    .await;
    api.start("payments", "p-1", "due", json!({ "invoice": 1 }))
        .await;
    // A worker holds p-1's firing; h-1's guest is hanging: both in flight.
    let held = claim(&api, "pay", 60_000, 5_000).await.expect("a firing");
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.get("/readyz").await.expect(200);

    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    // h-1's hanging guest was cut off (the worker's claim is no guest
    // running in the driver's hands).
    assert!(
        stderr.contains("stopped: 0 firing(s) in flight finished, 1 cut off"),
        "{stderr}"
    );
    let replay = petrel(&["replay", "--data", data.to_str().unwrap()]);
    assert_eq!(replay.code(), 0, "{}\n{}", replay.stdout(), replay.stderr());

    // The worker's lease is stored with its reservation: it holds across
    // the restart, and the worker completes as if nothing happened.
    let daemon = Daemon::start(&data, &args, &env, Some("shutd0wn"));
    let api = daemon.api.clone();
    complete(
        &api,
        &held,
        "paid",
        json!([{ "place": "paid", "payload": {} }]),
    )
    .await
    .expect(204);
    api.wait_status("p-1", "completed", Duration::from_secs(20))
        .await;
    let h = api
        .wait_status("h-1", "completed", Duration::from_secs(20))
        .await;
    assert_eq!(h["tokens"][0]["place"], "done");
    let history = api
        .get("/v1/cases/h-1/history?limit=1000")
        .await
        .expect(200)
        .body;
    let completed = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "firing_completed")
        .count();
    assert_eq!(completed, 1, "exactly one firing committed: {history:#}");
    assert!(
        history["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "firing_abandoned"),
        "the cut-off attempt is logged: {history:#}"
    );

    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    let replay = petrel(&["replay", "--data", data.to_str().unwrap()]);
    assert_eq!(replay.code(), 0, "{}\n{}", replay.stdout(), replay.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_long_polls_at_once() {
    let server = super::InProcess::start(None, |c| c.grace = Duration::from_secs(20)).await;
    let api = server.api.clone();
    let poll = tokio::spawn(async move { claim(&api, "pay", 30_000, 30_000).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let began = std::time::Instant::now();
    server.stop().await;
    assert!(poll.await.unwrap().is_none(), "no work was offered");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "a 30 s long poll held the shutdown for {:?}",
        began.elapsed()
    );
}
