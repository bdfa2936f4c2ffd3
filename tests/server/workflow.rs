//! Workflow-level retry and branch aborts over HTTP, with workers: a case
//! that aborts starts again as its next attempt and succeeds; one that
//! keeps failing ends in the dead-letter queue, where an operator starts it
//! once more; a failed branch of a fork is compensated alone while the case
//! completes along the other.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Api, InProcess, claim, complete};
use crate::util::petrel;

/// `ship` is done by workers; a failure aborts the case, which the net
/// starts again once, 50 ms later.
const RETRIED: &str = r#"
[net]
name = "shipping"
retry = { max_attempts = 2, initial_delay_ms = 50, jitter = 0.0 }
[places.order]
start = true
[places.shipped]
final = true
[transitions.ship]
external = true
inputs = { order = 1 }
outcomes.shipped = { shipped = 1 }
retry = { max_attempts = 1, on_exhausted = "abort" }
"#;

/// Fails a claimed item for good.
async fn fail(api: &Api, item: &Value, message: &str) {
    api.post(
        &format!("/v1/work/{}/fail", item["firing"]),
        json!({ "lease": item["lease"], "message": message, "retryable": false }),
    )
    .await
    .expect(204);
}

/// Stops `server`; `petrel replay --verify` then agrees with its store
/// (restarts, region aborts and dead letters of kind `case` included).
async fn stop_and_verify(server: InProcess) {
    let (_, dir) = server.stop_keeping_dir().await;
    let data = dir.path().join("data");
    petrel(&["replay", "--data", data.to_str().unwrap(), "--verify"]).expect_code(0);
}

/// Completes claimed `ship` item `item`; its case completes on attempt
/// `attempt`.
async fn ship_on(api: &Api, item: &Value, attempt: u64) {
    let shipped = json!([{ "place": "shipped", "payload": {} }]);
    complete(api, item, "shipped", shipped).await.expect(204);
    let id = item["case"].as_str().unwrap();
    let case = api
        .wait_status(id, "completed", Duration::from_secs(10))
        .await;
    assert_eq!(case["attempt"], attempt, "{case:#}");
}

/// The `type`s of case `id`'s history, oldest first.
async fn history(api: &Api, id: &str) -> Vec<String> {
    let body = api
        .get(&format!("/v1/cases/{id}/history"))
        .await
        .expect(200)
        .body;
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_case_succeeds_on_its_second_attempt_and_one_that_keeps_failing_is_dead_lettered()
 {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    api.deploy(&server.net("shipping.toml", RETRIED)).await;
    api.start("shipping", "lucky", "order", json!({ "id": "lucky" }))
        .await;
    let item = claim(api, "ship", 30_000, 5_000).await.expect("attempt 1");
    fail(api, &item, "carrier down").await;
    let item = claim(api, "ship", 30_000, 5_000).await.expect("attempt 2");
    assert_eq!(item["case"], "lucky");
    assert_eq!(
        item["inputs"][0]["payload"]["id"], "lucky",
        "the start token again"
    );
    ship_on(api, &item, 2).await;
    let kinds = history(api, "lucky").await;
    let restarted = kinds.iter().position(|k| k == "case_restarted").unwrap();
    assert!(
        kinds[..restarted].contains(&"case_aborted".to_string()),
        "{kinds:?}"
    );
    assert_eq!(kinds.last().unwrap(), "case_completed");

    api.start("shipping", "doomed", "order", json!({ "id": "doomed" }))
        .await;
    for attempt in 1..=2 {
        let item = claim(api, "ship", 30_000, 5_000)
            .await
            .unwrap_or_else(|| panic!("attempt {attempt}"));
        fail(api, &item, "carrier down").await;
    }
    api.wait_status("doomed", "aborted", Duration::from_secs(10))
        .await;
    let letters = api.get("/v1/dead-letters").await.expect(200).body;
    let letter = letters["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["case"] == "doomed")
        .cloned()
        .expect("the case is dead-lettered");
    assert_eq!(
        (letter["kind"].as_str(), letter["ended"].as_str()),
        (Some("case"), Some("aborted"))
    );
    assert_eq!(letter["attempts"], 2);
    assert!(
        claim(api, "ship", 30_000, 200).await.is_none(),
        "no third attempt by itself"
    );
    // An operator starts it once more.
    api.post(
        &format!("/v1/dead-letters/{}/retry", letter["id"]),
        json!({ "by": "ops" }),
    )
    .await
    .expect(200);
    let item = claim(api, "ship", 30_000, 5_000).await.expect("attempt 3");
    ship_on(api, &item, 3).await;
    stop_and_verify(server).await;
}

/// A fork: the shipping branch (pack, then ship) is a region; billing runs
/// beside it. Workers do every step, the undo of packing included.
const FORK: &str = r#"
[net]
name = "fork"
[places.order]
start = true
[places.to_ship]
[places.packed]
[places.to_bill]
[places.shipped]
[places.billed]
[places.ship_failed]
[places.done]
final = true
[places.refunded]
final = true
[places.unpacked]
final = true
[transitions.split]
external = true
inputs = { order = 1 }
outcomes.ok = { to_ship = 1, to_bill = 1 }
[transitions.pack]
external = true
inputs = { to_ship = 1 }
outcomes.ok = { packed = 1 }
compensate = "unpack"
[transitions.ship]
external = true
inputs = { packed = 1 }
outcomes.ok = { shipped = 1 }
retry = { max_attempts = 1, on_exhausted = "abort" }
[transitions.bill]
external = true
inputs = { to_bill = 1 }
outcomes.ok = { billed = 1 }
[transitions.join]
external = true
inputs = { shipped = 1, billed = 1 }
outcomes.ok = { done = 1 }
[transitions.refund]
external = true
inputs = { ship_failed = 1, billed = 1 }
outcomes.ok = { refunded = 1 }
[transitions.unpack]
external = true
compensation = true
outcomes.ok = { unpacked = 1 }
[regions.shipping]
places = ["to_ship", "packed"]
on_abort = "ship_failed"
"#;

/// Claims `transition` and completes it with outcome `ok`, one token per
/// place.
async fn work(api: &Api, transition: &str, places: &[&str]) -> Value {
    let item = claim(api, transition, 30_000, 5_000)
        .await
        .unwrap_or_else(|| panic!("no `{transition}` to claim"));
    let tokens: Vec<Value> = places
        .iter()
        .map(|p| json!({ "place": p, "payload": { "by": transition } }))
        .collect();
    complete(api, &item, "ok", json!(tokens)).await.expect(204);
    item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_branch_is_compensated_alone_and_the_case_completes_along_the_other() {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    api.deploy(&server.net("fork.toml", FORK)).await;
    api.start("fork", "f-1", "order", json!({ "id": 1 })).await;
    work(api, "split", &["to_ship", "to_bill"]).await;
    let packed = work(api, "pack", &["packed"]).await;
    work(api, "bill", &["billed"]).await;
    let item = claim(api, "ship", 30_000, 5_000).await.expect("ship");
    fail(api, &item, "carrier down").await;
    // The undo of packing is offered with what it undoes; the case runs on.
    let undo = claim(api, "unpack", 30_000, 5_000).await.expect("unpack");
    assert_eq!(undo["compensates"]["transition"], "pack", "{undo:#}");
    assert_eq!(undo["compensates"]["firing"], packed["firing"]);
    let case = api.get("/v1/cases/f-1").await.expect(200).body;
    assert_eq!(case["status"], "running", "{case:#}");
    complete(
        api,
        &undo,
        "ok",
        json!([{ "place": "unpacked", "payload": {} }]),
    )
    .await
    .expect(204);
    let refund = claim(api, "refund", 30_000, 5_000).await.expect("refund");
    let failed = refund["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["place"] == "ship_failed")
        .expect("the on_abort token");
    assert_eq!(
        failed["payload"],
        json!({ "region": "shipping", "transition": "ship", "reason": failed["payload"]["reason"] })
    );
    assert!(
        failed["payload"]["reason"]
            .as_str()
            .unwrap()
            .contains("carrier down"),
        "{failed:#}"
    );
    complete(
        api,
        &refund,
        "ok",
        json!([{ "place": "refunded", "payload": {} }]),
    )
    .await
    .expect(204);
    api.wait_status("f-1", "completed", Duration::from_secs(10))
        .await;
    let kinds = history(api, "f-1").await;
    for kind in ["region_aborted", "compensation_completed", "case_completed"] {
        assert!(kinds.contains(&kind.to_string()), "{kind}: {kinds:?}");
    }
    assert!(!kinds.contains(&"case_aborted".to_string()), "{kinds:?}");
    stop_and_verify(server).await;
}
