//! Nets, cases, history, metrics and the OpenAPI document over HTTP.

use std::time::Duration;

use serde_json::{Value, json};

use super::InProcess;
use crate::util::{order_net, repo};

fn order(id: &str, amount_cents: u64) -> Value {
    json!({ "order_id": id, "customer": format!("c-{id}"), "amount_cents": amount_cents, "items": 2 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_and_lists_nets() {
    // Deploying by path reads only the configured nets directory.
    let server = InProcess::start(None, |c| c.nets_dir = Some(repo())).await;
    let api = &server.api;
    let path = "examples/order-approval/net.toml";
    let first = api
        .post("/v1/nets", json!({ "path": path }))
        .await
        .expect(201);
    assert_eq!(first.body["name"], "order-approval");
    assert_eq!(first.body["new"], true);
    let again = api
        .post("/v1/nets", json!({ "path": path }))
        .await
        .expect(200);
    assert_eq!(again.body["version"], first.body["version"]);
    assert_eq!(again.body["new"], false);

    let nets = api.get("/v1/nets").await.expect(200).body;
    assert_eq!(nets["next_after"], Value::Null);
    let nets = nets["nets"].as_array().unwrap();
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0]["name"], "order-approval");
    assert_eq!(nets[0]["version"], first.body["version"]);

    let missing = api
        .post("/v1/nets", json!({ "path": "nope.toml" }))
        .await
        .expect(404);
    assert_eq!(missing.code(), "not_found");
    assert!(missing.message().contains("nope.toml"), "{missing:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploying_by_path_stays_inside_the_nets_directory() {
    let off = InProcess::start(None, |_| {}).await;
    let refused = off
        .api
        .post("/v1/nets", json!({ "path": order_net() }))
        .await
        .expect(400);
    assert!(
        refused.message().contains("`[server] nets_dir`"),
        "{refused:#?}"
    );
    off.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let nets = dir.path().join("nets");
    std::fs::create_dir(&nets).unwrap();
    let server = InProcess::start(None, |c| c.nets_dir = Some(nets.clone())).await;
    let api = &server.api;
    // Refused before the filesystem is touched: nothing is told about
    // files outside, whether they exist or not.
    for path in [
        "/etc/passwd".to_string(),
        "/dev/zero".to_string(),
        "../nets/x.toml".to_string(),
        "sub/../../x.toml".to_string(),
        order_net().display().to_string(),
    ] {
        let reply = api
            .post("/v1/nets", json!({ "path": path }))
            .await
            .expect(400);
        assert!(
            reply.message().contains("not a plain relative path"),
            "{path}: {reply:#?}"
        );
    }
    // A link out of the directory, a FIFO and a device are refused too.
    std::os::unix::fs::symlink("/dev/zero", nets.join("zero.toml")).unwrap();
    std::os::unix::fs::symlink(order_net(), nets.join("order.toml")).unwrap();
    for link in ["zero.toml", "order.toml"] {
        api.post("/v1/nets", json!({ "path": link }))
            .await
            .expect(404);
    }
    let fifo = nets.join("fifo.toml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reply = api
        .post("/v1/nets", json!({ "path": "fifo.toml" }))
        .await
        .expect(422);
    assert!(
        reply.message().contains("not a regular file (it is a FIFO"),
        "{reply:#?}"
    );
    // A net inside whose guest lies outside is refused.
    let outside = std::fs::read_to_string(order_net())
        .unwrap()
        .replace("../../guests", &repo().join("guests").display().to_string());
    std::fs::write(nets.join("escapes.toml"), outside).unwrap();
    let reply = api
        .post("/v1/nets", json!({ "path": "escapes.toml" }))
        .await
        .expect(400);
    assert!(
        reply
            .message()
            .contains("is not a file in the nets directory"),
        "{reply:#?}"
    );
    assert!(
        api.get("/v1/nets").await.expect(200).body["nets"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_a_net_sent_with_its_components() {
    use base64::Engine as _;
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    let source = crate::failure::flaky_net("")
        .replace(&format!("\"{}\"", "GUEST(flaky)"), "\"guests/flaky.wasm\"");
    let wasm = std::fs::read(crate::util::guest("flaky")).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&wasm);

    // Every guest's bytes must come, under the path the net declares.
    let missing = api
        .post("/v1/nets", json!({ "source": source }))
        .await
        .expect(400);
    assert!(
        missing.message().contains("`components`")
            && missing.message().contains("guests/flaky.wasm"),
        "{missing:#?}"
    );
    let stray = api
        .post("/v1/nets", json!({ "source": source, "components": { "guests/flaky.wasm": encoded, "other.wasm": "AA==" } }))
        .await
        .expect(400);
    assert!(
        stray.message().contains("`components.other.wasm`"),
        "{stray:#?}"
    );
    let garbled = api
        .post(
            "/v1/nets",
            json!({ "source": source, "components": { "guests/flaky.wasm": "not base64!" } }),
        )
        .await
        .expect(400);
    assert!(garbled.message().contains("not base64"), "{garbled:#?}");
    let both = api
        .post("/v1/nets", json!({ "source": source, "path": order_net() }))
        .await
        .expect(400);
    assert!(both.message().contains("exactly one"), "{both:#?}");
    let bad_net = api
        .post("/v1/nets", json!({ "source": "[net]\nname = 7\n" }))
        .await
        .expect(422);
    assert!(
        bad_net.message().contains("uploaded-net.toml:2"),
        "{bad_net:#?}"
    );
    assert!(
        api.get("/v1/nets").await.expect(200).body["nets"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let deployed = api
        .post(
            "/v1/nets",
            json!({ "source": source, "components": { "guests/flaky.wasm": encoded } }),
        )
        .await
        .expect(201);
    assert_eq!(deployed.body["name"], "flaky");
    api.start("flaky", "up-1", "todo", json!({}))
        .await
        .expect(201);
    let case = api
        .wait_status("up-1", "completed", Duration::from_secs(10))
        .await;
    assert_eq!(case["tokens"][0]["place"], "done");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_cases_once_and_pages_their_history() {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    api.deploy(&order_net()).await;

    let started = api
        .start("order-approval", "o-1", "submitted", order("o-1", 1250))
        .await;
    assert_eq!(started.body["id"], "o-1");
    assert_eq!(started.body["net"], "order-approval");
    assert_eq!(started.headers["location"], "/v1/cases/o-1");

    let duplicate = api
        .post(
            "/v1/cases",
            json!({ "net": "order-approval", "id": "o-1", "tokens": [{ "place": "submitted", "payload": order("o-1", 1) }] }),
        )
        .await
        .expect(409);
    assert_eq!(duplicate.code(), "case_exists");

    let anonymous = api
        .post(
            "/v1/cases",
            json!({ "net": "order-approval", "tokens": [{ "place": "submitted", "payload": order("o-2", 99) }] }),
        )
        .await
        .expect(201);
    let generated = anonymous.body["id"].as_str().unwrap().to_string();
    assert!(!generated.is_empty() && generated != "o-1");

    let unknown_net = api
        .post("/v1/cases", json!({ "net": "no-such-net", "tokens": [] }))
        .await
        .expect(404);
    assert_eq!(unknown_net.code(), "not_found");
    let bad_id = api
        .post(
            "/v1/cases",
            json!({ "net": "order-approval", "id": "bad id!", "tokens": [] }),
        )
        .await
        .expect(400);
    assert_eq!(bad_id.code(), "invalid_request");

    let case = api
        .wait_status("o-1", "completed", Duration::from_secs(20))
        .await;
    assert_eq!(case["tokens"][0]["place"], "approved");
    assert_eq!(case["tokens"][0]["payload"]["order_id"], "o-1");
    api.wait_status(&generated, "completed", Duration::from_secs(20))
        .await;
    assert_eq!(
        api.get("/v1/cases/o-404").await.expect(404).code(),
        "not_found"
    );

    // The whole history in one page, then the same in pages of 2.
    let all = api
        .get("/v1/cases/o-1/history?limit=1000")
        .await
        .expect(200);
    let all = all.body["events"].as_array().unwrap().clone();
    assert!(all.len() > 2, "{all:#?}");
    assert_eq!(all[0]["type"], "case_started");
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = api
            .get(&format!("/v1/cases/o-1/history?after={after}&limit=2"))
            .await
            .expect(200)
            .body;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 2);
        paged.extend(events.iter().cloned());
        match page["next_after"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
        assert!(paged.len() <= all.len(), "paging does not end");
    }
    assert_eq!(paged, all);
    let default_page = api.get("/v1/cases/o-1/history").await.expect(200).body;
    assert_eq!(default_page["events"].as_array().unwrap(), &all);

    let dead = api.get("/v1/dead-letters").await.expect(200).body;
    assert_eq!(dead["dead_letters"], json!([]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_firings_after_they_happen() {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    api.deploy(&order_net()).await;
    api.start("order-approval", "o-1", "submitted", order("o-1", 1250))
        .await;
    api.wait_status("o-1", "completed", Duration::from_secs(20))
        .await;
    let reply = api.get("/metrics").await.expect(200);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{reply:#?}"
    );
    let text = reply.body.as_str().unwrap();
    for line in [
        "petrel_firings_total{transition=\"validate\",result=\"completed\"} 1",
        "petrel_firing_duration_seconds_count{transition=\"approve\"} 1",
        "petrel_cases_total{event=\"started\"} 1",
        "petrel_cases_total{event=\"completed\"} 1",
        "petrel_open_cases 0",
        "petrel_dead_letters 0",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_covers_every_route() {
    let server = InProcess::start(Some("t0k"), |_| {}).await;
    // Exactly the document the unit tests hold to the route table (every
    // route documented, every operation routed, the error codes).
    let served = server.api.get("/openapi.json").await.expect(200).body;
    let shipped: serde_json::Value = serde_json::from_str(petrel::server::OPENAPI).unwrap();
    assert_eq!(served, shipped);
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_net_that_fails_its_check_unless_problems_are_allowed() {
    let server = InProcess::start(None, |_| {}).await;
    let api = &server.api;
    let source = crate::check::LIVELOCK;
    let refused = api
        .post("/v1/nets", json!({ "source": source }))
        .await
        .expect(422);
    assert_eq!(refused.code(), "invalid_net");
    assert!(
        refused.message().contains("failed its check")
            && refused
                .message()
                .contains("problem: livelock with 1 case(s)")
            && refused.message().contains("\"allow_problems\": true"),
        "{refused:#?}"
    );
    assert!(
        api.get("/v1/nets").await.expect(200).body["nets"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let allowed = api
        .post(
            "/v1/nets",
            json!({ "source": source, "allow_problems": true }),
        )
        .await
        .expect(201);
    let warnings = allowed.body["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("deployed with a problem: livelock")),
        "{allowed:#?}"
    );
    let clean = api
        .post(
            "/v1/nets",
            crate::server::upload(std::path::Path::new(&order_net())),
        )
        .await
        .expect(201);
    assert_eq!(clean.body["warnings"], json!([]));
    server.stop().await;
}
