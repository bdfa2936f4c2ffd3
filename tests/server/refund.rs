//! The refund example through the daemon: the language model (offline, on
//! its cassette) classifies, a rule checks eligibility, and a payment
//! worker completes `pay_refund` over HTTP.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Daemon, claim, complete};
use crate::util::repo;

/// Requests the cassette knows (the same as `petrel demo`'s r-1 to r-3).
fn request(id: &str, customer: &str, order: &str, message: &str, age: u32, cents: u64) -> Value {
    json!({ "request_id": id, "customer": customer, "order_id": order, "message": message, "order_age_days": age, "amount_cents": cents })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refund_example_runs_through_the_daemon_with_a_payment_worker() {
    let dir = tempfile::tempdir().unwrap();
    let root = repo();
    let config = root.join("examples/refund/petrel.toml");
    let daemon = Daemon::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
        &[("PETREL_API_TOKEN", "refund-t0ken")],
        Some("refund-t0ken"),
    );
    let api = daemon.api.clone();
    api.deploy(&root.join("examples/refund/net.toml")).await;
    let requests = [
        request(
            "r-1",
            "ada",
            "o-1001",
            "The blender I ordered arrived with a cracked jug. I'd like my money back, please.",
            6,
            4_999,
        ),
        request(
            "r-2",
            "bob",
            "o-1002",
            "Where is my parcel? The tracking page has not changed for a week.",
            9,
            2_500,
        ),
        request(
            "r-3",
            "cy",
            "o-1003",
            "Please refund the headphones, they stopped working.",
            95,
            12_900,
        ),
    ];
    for r in &requests {
        let id = r["request_id"].as_str().unwrap();
        api.start("refund", id, "request_received", r.clone()).await;
    }

    // The payment worker: r-1 is the one approved refund.
    let item = claim(&api, "pay_refund", 30_000, 20_000)
        .await
        .expect("an approved refund to pay within 20 s");
    assert_eq!(item["case"], "r-1");
    assert_eq!(item["inputs"][0]["place"], "refund_orders");
    let order = &item["inputs"][0]["payload"];
    assert_eq!(order["order_id"], "o-1001");
    let receipt = json!([{ "place": "refunded", "payload": { "order_id": order["order_id"], "paid_cents": 4_999, "payment": "pay-1" } }]);
    complete(&api, &item, "paid", receipt).await.expect(204);

    for (id, place) in [("r-1", "refunded"), ("r-2", "closed"), ("r-3", "denied")] {
        let case = api
            .wait_status(id, "completed", Duration::from_secs(20))
            .await;
        assert_eq!(case["tokens"][0]["place"], place, "{case:#}");
    }
    let r1 = api.get("/v1/cases/r-1").await.expect(200).body;
    assert_eq!(r1["tokens"][0]["payload"]["payment"], "pay-1");
    assert!(claim(&api, "pay_refund", 30_000, 0).await.is_none());

    let metrics = api.get("/metrics").await.expect(200).body;
    let metrics = metrics.as_str().unwrap();
    for needle in [
        "petrel_firings_total{transition=\"pay_refund\",result=\"completed\"} 1",
        "petrel_firings_total{transition=\"classify_intent\",result=\"completed\"} 3",
        "petrel_llm_calls_total{model=\"gpt-4o-mini\",result=\"ok\"} 3",
        "petrel_llm_tokens_total{model=\"gpt-4o-mini\",kind=\"input\"}",
        "petrel_llm_call_duration_seconds_count{model=\"gpt-4o-mini\"} 3",
    ] {
        assert!(metrics.contains(needle), "no `{needle}` in\n{metrics}");
    }
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
}
