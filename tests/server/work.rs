//! Workers over HTTP: claim, complete, fail, extend; leases that run out;
//! dead letters of external firings.

use std::time::Duration;

use serde_json::json;

use super::{InProcess, PAYMENTS_NET, claim, complete};

const CASES: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_loop_claims_and_completes_external_firings() {
    let server = InProcess::start(Some("w0rk"), |_| {}).await;
    let api = &server.api;
    api.deploy(&server.net("payments.toml", PAYMENTS_NET)).await;
    for i in 0..CASES {
        api.start(
            "payments",
            &format!("p-{i}"),
            "due",
            json!({ "invoice": i, "cents": 100 * i }),
        )
        .await;
    }
    let mut seen = Vec::new();
    while seen.len() < CASES {
        let item = claim(api, "pay", 30_000, 5_000)
            .await
            .expect("a firing within 5 s");
        assert_eq!(item["net"], "payments");
        assert_eq!(item["transition"], "pay");
        assert_eq!(item["attempt"], 1);
        assert_eq!(item["inputs"][0]["place"], "due");
        let invoice = item["inputs"][0]["payload"]["invoice"].as_u64().unwrap();
        assert_eq!(item["case"], format!("p-{invoice}"));
        let outcomes: Vec<_> = item["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["paid", "refused"]);
        let receipt = json!([{ "place": "paid", "payload": { "invoice": invoice, "receipt": format!("r-{invoice}") } }]);
        complete(api, &item, "paid", receipt).await.expect(204);
        // The same lease cannot complete twice.
        let again = complete(api, &item, "paid", json!([])).await;
        assert_eq!(again.status, 409, "{again:#?}");
        seen.push(invoice);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..CASES as u64).collect::<Vec<_>>());
    for i in 0..CASES {
        let case = api
            .wait_status(&format!("p-{i}"), "completed", Duration::from_secs(10))
            .await;
        assert_eq!(case["tokens"][0]["place"], "paid");
        assert_eq!(case["tokens"][0]["payload"]["receipt"], format!("r-{i}"));
    }
    assert!(
        claim(api, "pay", 30_000, 100).await.is_none(),
        "nothing left to claim"
    );
    let metrics = api.get("/metrics").await.expect(200).body;
    assert!(
        metrics.as_str().unwrap().contains(&format!(
            "petrel_firings_total{{transition=\"pay\",result=\"completed\"}} {CASES}"
        )),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_reclaimed_and_the_old_one_refused() {
    expired_lease(InProcess::start(None, |_| {}).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_reclaimed_and_the_old_one_refused_on_postgres() {
    let Some(schema) = crate::postgres::scratch() else {
        return;
    };
    expired_lease(InProcess::start_on(Some(schema.url()), None, |_| {}).await).await;
}

async fn expired_lease(server: InProcess) {
    let api = &server.api;
    api.deploy(&server.net("payments.toml", PAYMENTS_NET)).await;
    api.start("payments", "p-1", "due", json!({ "invoice": 1 }))
        .await;

    let first = claim(api, "pay", 300, 5_000).await.expect("a firing");
    // The lease runs out; the firing is claimable again, by anyone.
    let second = claim(api, "pay", 30_000, 10_000)
        .await
        .expect("the firing again after its lease ran out");
    assert_eq!(second["case"], "p-1");
    assert_ne!(second["lease"], first["lease"]);
    assert_eq!(
        (first["attempt"].as_u64(), second["attempt"].as_u64()),
        (Some(1), Some(2)),
        "a lapsed lease is a failed attempt"
    );

    let stale = complete(
        api,
        &first,
        "paid",
        json!([{ "place": "paid", "payload": {} }]),
    )
    .await;
    assert_eq!(stale.status, 409, "{stale:#?}");
    let stale_extend = api
        .post(
            &format!("/v1/work/{}/extend", first["firing"]),
            json!({ "lease": first["lease"], "lease_ms": 60_000 }),
        )
        .await;
    assert_eq!(stale_extend.status, 409, "{stale_extend:#?}");

    let extended = api
        .post(
            &format!("/v1/work/{}/extend", second["firing"]),
            json!({ "lease": second["lease"], "lease_ms": 60_000 }),
        )
        .await
        .expect(200);
    assert_eq!(extended.body["lease"], second["lease"]);
    assert!(extended.body["lease_until_ms"].as_u64() >= second["lease_until_ms"].as_u64());

    let undeclared = complete(api, &second, "maybe", json!([])).await;
    assert_eq!(undeclared.status, 400, "{undeclared:#?}");
    assert!(
        undeclared.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maybe"),
        "{undeclared:#?}"
    );
    complete(
        api,
        &second,
        "refused",
        json!([{ "place": "refused", "payload": { "why": "card" } }]),
    )
    .await
    .expect(204);
    let case = api
        .wait_status("p-1", "completed", Duration::from_secs(10))
        .await;
    assert_eq!(case["tokens"][0]["place"], "refused");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_work_is_dead_lettered_then_retried_or_discarded() {
    dead_letters(InProcess::start(None, |_| {}).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_work_is_dead_lettered_then_retried_or_discarded_on_postgres() {
    let Some(schema) = crate::postgres::scratch() else {
        return;
    };
    dead_letters(InProcess::start_on(Some(schema.url()), None, |_| {}).await).await;
}

async fn dead_letters(server: InProcess) {
    let api = &server.api;
    api.deploy(&server.net("payments.toml", PAYMENTS_NET)).await;
    for id in ["p-retry", "p-discard"] {
        api.start("payments", id, "due", json!({ "case": id }))
            .await;
    }
    let mut letters = Vec::new();
    for _ in 0..2 {
        let item = claim(api, "pay", 30_000, 5_000).await.expect("a firing");
        api.post(
            &format!("/v1/work/{}/fail", item["firing"]),
            json!({ "lease": item["lease"], "message": "card processor down", "retryable": false }),
        )
        .await
        .expect(204);
        letters.push((
            item["case"].as_str().unwrap().to_string(),
            item["firing"].clone(),
        ));
    }
    let listed = api.get("/v1/dead-letters").await.expect(200).body;
    assert_eq!(
        listed["dead_letters"].as_array().unwrap().len(),
        2,
        "{listed:#}"
    );
    for (case, firing) in &letters {
        let view = api
            .wait_status(case, "stuck", Duration::from_secs(10))
            .await;
        assert_eq!(view["dead_letters"], json!([firing]));
        if case == "p-retry" {
            let retried = api
                .post(&format!("/v1/dead-letters/{firing}/retry"), json!({}))
                .await
                .expect(200);
            assert_eq!(retried.body["case"], "p-retry");
        } else {
            let no_reason = api
                .post(&format!("/v1/dead-letters/{firing}/discard"), json!({}))
                .await
                .expect(400);
            assert_eq!(no_reason.code(), "invalid_json");
            api.post(
                &format!("/v1/dead-letters/{firing}/discard"),
                json!({ "reason": "refunded by hand", "by": "ana" }),
            )
            .await
            .expect(200);
        }
    }
    let missing = api
        .post("/v1/dead-letters/999999/retry", json!({}))
        .await
        .expect(404);
    assert_eq!(missing.code(), "not_found");
    assert_eq!(
        api.get("/v1/dead-letters").await.expect(200).body["dead_letters"],
        json!([])
    );

    let item = claim(api, "pay", 30_000, 5_000)
        .await
        .expect("the retried firing");
    assert_eq!(item["case"], "p-retry");
    complete(
        api,
        &item,
        "paid",
        json!([{ "place": "paid", "payload": {} }]),
    )
    .await
    .expect(204);
    api.wait_status("p-retry", "completed", Duration::from_secs(10))
        .await;
    // Who closed each letter, and when, is in its case's history.
    for (case, kind, by) in [
        ("p-retry", "dead_letter_retried", "api"),
        ("p-discard", "dead_letter_discarded", "ana"),
    ] {
        let history = api
            .get(&format!("/v1/cases/{case}/history?limit=1000"))
            .await
            .expect(200)
            .body;
        let closed = history["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {history:#}"));
        assert_eq!(closed["by"], by, "{closed:#}");
        assert!(closed["at_ms"].as_u64().unwrap() > 0);
    }
    server.stop().await;
}
