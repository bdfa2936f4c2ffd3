//! The README's tour pictures: a daemon with the refund, order-approval and
//! payments nets and a few cases in every state, each dashboard page shot
//! at 1280×800 into `docs/`. Ignored; run it after changing the dashboard:
//!
//! ```sh
//! cargo test -p petrel-tests --test tests browser::tour -- --ignored
//! ```

use std::time::Duration;

use serde_json::{Value, json};

use super::{Page, daemon, with_browser};
use crate::server::{PAYMENTS_NET, claim};
use crate::util::{order_net, repo, write_net};

fn request(id: &str, customer: &str, message: &str, age: u32, cents: u64) -> Value {
    json!({ "request_id": id, "customer": customer, "order_id": format!("o-{id}"), "message": message, "order_age_days": age, "amount_cents": cents })
}

/// Saves the window as `docs/NAME.png`.
async fn shoot(page: &Page, name: &str) {
    // Let Mermaid finish drawing and the live stream settle.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let png = page.screenshot().await;
    assert!(!png.is_empty(), "no screenshot of {name}");
    let path = repo().join("docs").join(format!("{name}.png"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, png).unwrap();
    eprintln!("wrote {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/*.png; run by hand after changing the dashboard"]
async fn tour() {
    let dir = tempfile::tempdir().unwrap();
    let config = repo().join("examples/refund/petrel.toml");
    let d = daemon(dir.path(), &["--config", config.to_str().unwrap()]);
    let api = d.api.clone();
    let refund = api.deploy(&repo().join("examples/refund/net.toml")).await;
    api.deploy(&order_net()).await;
    api.deploy(&write_net(dir.path(), "payments.toml", PAYMENTS_NET))
        .await;
    let requests = [
        request(
            "r-1",
            "ada",
            "The blender I ordered arrived with a cracked jug. I'd like my money back, please.",
            6,
            4_999,
        ),
        request(
            "r-2",
            "bob",
            "Where is my parcel? The tracking page has not changed for a week.",
            9,
            2_500,
        ),
        request(
            "r-3",
            "cy",
            "Please refund the headphones, they stopped working.",
            95,
            12_900,
        ),
        request(
            "r-4",
            "dee",
            "The sofa colour looks a bit different from the photos, not sure what to do about it.",
            3,
            89_900,
        ),
    ];
    for r in &requests {
        let id = r["request_id"].as_str().unwrap();
        api.start("refund", id, "request_received", r.clone()).await;
    }
    for (i, cents) in [2_500, 4_000, 900_000, 1_200].into_iter().enumerate() {
        let id = format!("o-{}", 100 + i);
        let order = json!({ "order_id": id, "customer": "c", "amount_cents": cents, "items": 2 });
        api.start("order-approval", &id, "submitted", order).await;
    }
    for id in ["p-1", "p-2", "p-3"] {
        api.start(
            "payments",
            id,
            "due",
            json!({ "invoice": id, "amount_cents": 1_250 }),
        )
        .await;
    }
    // p-1's worker fails for good: a dead letter.
    let item = claim(&api, "pay", 30_000, 10_000).await.expect("a payment");
    api.post(
        &format!("/v1/work/{}/fail", item["firing"]),
        json!({ "lease": item["lease"], "message": "card network down (503 from the acquirer)", "retryable": false }),
    )
    .await
    .expect(204);
    // p-3 is cancelled.
    api.post(
        "/v1/cases/p-3/cancel",
        json!({ "reason": "duplicate invoice" }),
    )
    .await;
    api.wait_status("r-1", "running", Duration::from_secs(5))
        .await;
    api.wait_status("o-100", "completed", Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    with_browser("tour", &d, move |page| async move {
        page.open("cases").await;
        page.see("#cases-table").await;
        shoot(&page, "dashboard-cases").await;

        page.open("cases/r-3").await;
        page.see("#graph svg").await;
        page.see("#timeline li[data-type=llm_exchange]").await;
        shoot(&page, "dashboard-case").await;

        page.open(&format!("nets/{refund}")).await;
        page.see("#graph svg").await;
        shoot(&page, "dashboard-net").await;

        page.open("dead-letters").await;
        page.see("#dead-letters-table").await;
        shoot(&page, "dashboard-dead-letters").await;

        page.open("inbox").await;
        page.see("#inbox-table tr[data-case=r-4]").await;
        shoot(&page, "dashboard-inbox").await;

        page.click("#inbox-table tr[data-case=r-4] a.task-link")
            .await;
        page.click("#claim").await;
        page.see("#decide input[name=outcome]").await;
        shoot(&page, "dashboard-task").await;
    })
    .await;
}
