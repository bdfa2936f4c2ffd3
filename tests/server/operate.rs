//! What an operator and the dashboard use: cases listed and filtered,
//! cancelled; human tasks listed, claimed by firing, completed through
//! their forms; nets described and drawn; the log streamed as server-sent
//! events and resumed.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Api, InProcess, PAYMENTS_NET, claim};

/// A review people do, with a form for `refund`.
const REVIEW_NET: &str = r#"
[net]
name = "review"
[places.todo]
start = true
[places.refunded]
final = true
[places.closed]
final = true
[transitions.review]
human = true
inputs = { todo = 1 }
outcomes.refund = { refunded = 1 }
outcomes.close = { closed = 1 }
[transitions.review.forms.refund]
type = "object"
required = ["amount_cents"]
properties.amount_cents = { type = "integer", minimum = 1 }
"#;

fn ids(page: &Value) -> Vec<&str> {
    page["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_are_listed_newest_first_filtered_and_paged() {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    api.deploy(&server.net("payments.toml", PAYMENTS_NET)).await;
    api.deploy(&server.net("review.toml", REVIEW_NET)).await;
    for id in ["p-1", "p-2", "p-3"] {
        api.start("payments", id, "due", json!(1)).await;
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    api.start("review", "r-1", "todo", json!(1)).await;
    // p-2 is paid: completed.
    let item = loop {
        let item = claim(api, "pay", 30_000, 5_000).await.unwrap();
        if item["case"] == "p-2" {
            break item;
        }
        let firing = &item["firing"];
        api.post(
            &format!("/v1/work/{firing}/fail"),
            json!({ "lease": item["lease"], "message": "later", "retryable": true }),
        )
        .await
        .expect(204);
    };
    super::complete(
        api,
        &item,
        "paid",
        json!([{ "place": "paid", "payload": 1 }]),
    )
    .await
    .expect(204);
    api.wait_status("p-2", "completed", Duration::from_secs(10))
        .await;

    let all = api.get("/v1/cases").await.expect(200).body;
    assert_eq!(ids(&all), ["r-1", "p-3", "p-2", "p-1"]);
    assert_eq!(all["next_after"], Value::Null);
    let first = api.get("/v1/cases?limit=2").await.expect(200).body;
    assert_eq!(ids(&first), ["r-1", "p-3"]);
    let after = first["next_after"].as_str().unwrap();
    let second = api
        .get(&format!("/v1/cases?limit=2&after={after}"))
        .await
        .expect(200)
        .body;
    assert_eq!(ids(&second), ["p-2", "p-1"]);
    let payments = api
        .get("/v1/cases?net=payments&status=running")
        .await
        .expect(200);
    assert_eq!(ids(&payments.body), ["p-3", "p-1"]);
    let done = api
        .get("/v1/cases?status=completed,stuck")
        .await
        .expect(200);
    assert_eq!(ids(&done.body), ["p-2"]);
    let none = api.get("/v1/cases?started_before=0").await.expect(200);
    assert!(ids(&none.body).is_empty());
    let recent = api.get("/v1/cases?started_after=1h").await.expect(200);
    assert_eq!(ids(&recent.body).len(), 4);

    let bad = api.get("/v1/cases?status=finished").await.expect(400);
    assert!(
        bad.message()
            .contains("`status`: unknown status `finished`"),
        "{bad:#?}"
    );
    let bad = api
        .get("/v1/cases?started_after=yesterday")
        .await
        .expect(400);
    assert!(bad.message().contains("`started_after`"), "{bad:#?}");
    let bad = api.get("/v1/cases?after=nonsense").await.expect(400);
    assert!(bad.message().contains("`after`"), "{bad:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_case_aborts_its_offer_goes_and_the_log_says_who() {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    api.deploy(&server.net("payments.toml", PAYMENTS_NET)).await;
    api.start("payments", "c-1", "due", json!({ "amount": 5 }))
        .await;
    let offers = wait_offers(api, "", 1).await;
    assert_eq!(offers[0]["case"], "c-1");

    let cancelled = api
        .post(
            "/v1/cases/c-1/cancel",
            json!({ "reason": "customer withdrew", "by": "ops-ana" }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cancelled["status"], "aborted");
    let case = api.get("/v1/cases/c-1").await.expect(200).body;
    assert_eq!(case["tokens"], json!([]));
    assert!(
        api.get("/v1/work").await.expect(200).body["offers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let history = api
        .get("/v1/cases/c-1/history?type=case_cancelled")
        .await
        .expect(200)
        .body;
    let entry = &history["events"][0];
    assert_eq!(entry["by"], "ops-ana");
    assert_eq!(entry["reason"], "customer withdrew");

    let again = api
        .post("/v1/cases/c-1/cancel", json!({}))
        .await
        .expect(409);
    assert!(again.message().contains("aborted already"), "{again:#?}");
    api.post("/v1/cases/nope/cancel", json!({}))
        .await
        .expect(404);
    // No body at all is a cancel with the default reason.
    api.start("payments", "c-2", "due", json!(1)).await;
    let reply = Api::send(api.request(reqwest::Method::POST, "/v1/cases/c-2/cancel")).await;
    assert_eq!(reply.expect(200).body["status"], "aborted");
    server.stop().await;
}

/// The open offers `query` lists, once there are `n` (at most 10 s).
async fn wait_offers(api: &Api, query: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let offers = api.get(&format!("/v1/work{query}")).await.expect(200).body["offers"]
            .as_array()
            .unwrap()
            .clone();
        if offers.len() >= n {
            return offers;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} offers after 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_task_is_listed_claimed_by_firing_and_completed_through_its_form() {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    api.deploy(&server.net("payments.toml", PAYMENTS_NET)).await;
    api.deploy(&server.net("review.toml", REVIEW_NET)).await;
    api.start("payments", "p-1", "due", json!(1)).await;
    api.start("review", "r-1", "todo", json!({ "order": 1 }))
        .await;
    api.start("review", "r-2", "todo", json!({ "order": 2 }))
        .await;

    let inbox = wait_offers(api, "?human=true", 2).await;
    assert_eq!(inbox.len(), 2, "the payment offer is not a human task");
    let r2 = inbox.iter().find(|o| o["case"] == "r-2").unwrap();
    assert_eq!(r2["human"], true);
    assert_eq!(r2["claimed_by"], Value::Null);
    assert_eq!(
        r2["deadline_ms"],
        Value::Null,
        "no on_timeout: waits for ever"
    );
    let refund = r2["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "refund");
    assert_eq!(refund.unwrap()["form"]["required"], json!(["amount_cents"]));

    let claimed = api
        .post(
            "/v1/work/claim",
            json!({ "worker": "ana", "firing": r2["firing"] }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        (claimed["case"].as_str(), claimed["human"].as_bool()),
        (Some("r-2"), Some(true))
    );
    let listed = wait_offers(api, "?transition=review", 2).await;
    let r2 = listed.iter().find(|o| o["case"] == "r-2").unwrap();
    assert_eq!(r2["claimed_by"], "ana");

    let bad = super::complete(
        api,
        &claimed,
        "refund",
        json!([{ "place": "refunded", "payload": { "amount_cents": "lots" } }]),
    )
    .await
    .expect(400);
    assert!(bad.message().contains("/amount_cents"), "{bad:#?}");
    super::complete(
        api,
        &claimed,
        "refund",
        json!([{ "place": "refunded", "payload": { "amount_cents": 500 } }]),
    )
    .await
    .expect(204);
    let case = api
        .wait_status("r-2", "completed", Duration::from_secs(10))
        .await;
    assert_eq!(case["tokens"][0]["payload"]["amount_cents"], 500);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_net_is_described_and_drawn_with_its_token_counts() {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    let version = api.deploy(&server.net("review.toml", REVIEW_NET)).await;
    api.start("review", "r-1", "todo", json!(1)).await;
    api.start("review", "r-2", "todo", json!(2)).await;

    let net = api.get("/v1/nets/review").await.expect(200).body;
    assert_eq!(net["version"], version.as_str());
    assert!(net["source"].as_str().unwrap().contains("human = true"));
    let review = &net["transitions"][0];
    assert_eq!(
        (review["human"].as_bool(), review["external"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        net["places"][0],
        json!({ "name": "todo", "start": true, "final": false, "shared": false })
    );

    let graph = |query: &str| {
        let api = api.clone();
        let path = format!("/v1/nets/{version}/graph{query}");
        async move { api.get(&path).await }
    };
    let live = graph("").await.expect(200);
    let text = live.body.as_str().unwrap();
    assert!(text.starts_with("flowchart LR"), "{text}");
    assert!(text.contains("todo ● 2"), "both live cases: {text}");
    assert_eq!(live.headers["content-type"], "text/plain; charset=utf-8");
    let one = graph("?case=r-1").await.expect(200);
    assert!(one.body.as_str().unwrap().contains("todo ● 1"), "{one:#?}");
    let dot = graph("?format=dot").await.expect(200);
    assert!(
        dot.body.as_str().unwrap().starts_with("digraph"),
        "{dot:#?}"
    );
    graph("?format=svg").await.expect(400);
    graph("?case=nope").await.expect(404);
    api.get("/v1/nets/nope").await.expect(404);
    server.stop().await;
}

/// Reads server-sent events from `path` until `until` says stop (at most
/// 10 s): each as (id, event, data).
pub(super) async fn read_events(
    api: &Api,
    path: &str,
    last_id: Option<&str>,
    until: impl Fn(&[(u64, String, Value)]) -> bool,
) -> Vec<(u64, String, Value)> {
    let mut request = api.request(reqwest::Method::GET, path);
    if let Some(id) = last_id {
        request = request.header("Last-Event-ID", id);
    }
    let mut response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !until(&events) {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no more events within 10 s; so far {events:#?}"))
            .unwrap()
            .expect("the stream stays open");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}:")))
                    .map(|v| v.trim().to_string())
            };
            if let (Some(id), Some(event), Some(data)) =
                (field("id"), field("event"), field("data"))
            {
                events.push((
                    id.parse().unwrap(),
                    event,
                    serde_json::from_str(&data).unwrap(),
                ));
            }
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_streams_as_server_sent_events_and_resumes_after_the_last_id() {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    api.deploy(&server.net("review.toml", REVIEW_NET)).await;
    // A stream opened before the case starts sees it start, live.
    let live = {
        let api = api.clone();
        tokio::spawn(async move {
            read_events(&api, "/v1/events", None, |e| {
                e.iter().any(|(_, kind, _)| kind == "case_completed")
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.start("review", "r-1", "todo", json!(1)).await;
    let item = wait_offers(api, "", 1).await;
    let claimed = api
        .post(
            "/v1/work/claim",
            json!({ "worker": "ana", "firing": item[0]["firing"] }),
        )
        .await
        .expect(200)
        .body;
    super::complete(
        api,
        &claimed,
        "close",
        json!([{ "place": "closed", "payload": 1 }]),
    )
    .await
    .expect(204);
    let events = live.await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "case_started",
            "firing_claimed",
            "firing_completed",
            "case_completed"
        ]
    );
    assert!(events.windows(2).all(|w| w[0].0 < w[1].0), "ids increase");
    assert!(
        events
            .iter()
            .all(|(id, kind, data)| data["seq"] == *id && data["type"] == kind.as_str())
    );
    assert_eq!(events[0].2["case"], "r-1");

    // Resumed after the first id: the rest, from the store.
    let first = events[0].0.to_string();
    let resumed = read_events(api, "/v1/events?case=r-1", Some(&first), |e| e.len() >= 3).await;
    assert_eq!(
        resumed.iter().map(|(id, ..)| *id).collect::<Vec<_>>(),
        events[1..].iter().map(|(id, ..)| *id).collect::<Vec<_>>()
    );
    let bad = Api::send(
        api.request(reqwest::Method::GET, "/v1/events")
            .header("Last-Event-ID", "yesterday"),
    )
    .await
    .expect(400);
    assert!(bad.message().contains("Last-Event-ID"), "{bad:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_capped() {
    let server = InProcess::start(None, |c| c.max_event_streams = 1).await;
    let api = &server.api;
    let open = api
        .request(reqwest::Method::GET, "/v1/events")
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    let refused = api.get("/v1/events").await.expect(503);
    assert!(
        refused.message().contains("max_event_streams"),
        "{refused:#?}"
    );
    drop(open);
    // The permit comes back once the first stream is gone.
    let mut reopened = false;
    for _ in 0..100 {
        let response = api
            .request(reqwest::Method::GET, "/v1/events")
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened, "a closed stream gives its slot back");
    server.stop().await;
}
