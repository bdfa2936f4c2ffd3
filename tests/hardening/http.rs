//! HTTP: DNS rebinding, lists that grow, connections and requests by the
//! hundred.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{MIB, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_a_rebound_host_name_is_refused() {
    let target = Target::start("");
    let api = target.api();
    let request = |host: &'static str| {
        api.request(reqwest::Method::GET, "/v1/nets")
            .header(reqwest::header::HOST, host)
    };
    // What a page on evil.example sends once its name resolves to 127.0.0.1.
    let rebound = crate::server::Api::send(request("evil.example:8080")).await;
    let local = crate::server::Api::send(request("localhost:8080")).await;
    eprintln!(
        "hardening: Host: evil.example answered {}, Host: localhost {}",
        rebound.status, local.status
    );
    assert_eq!(rebound.status, 403, "{rebound:#?}");
    assert_eq!(rebound.code(), "forbidden_host");
    assert_eq!(local.status, 200);
}

/// Fails every firing at once: each case leaves one dead letter.
const FAILING: &str = r#"
[net]
name = "failing"
[places.inbox]
start = true
[places.out]
final = true
[transitions.fail_fatal]
guest = "GUEST(hostile)"
inputs = { inbox = 1 }
outcomes.out = { out = 1 }
retry = { max_attempts = 1 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_case_or_the_queue_never_loads_every_dead_letter() {
    let mut target = Target::start("");
    target.deploy(&target.net(FAILING)).await.expect(201);
    // 600 dead letters of 100 KB each: 60 MB in the store.
    let letters = 600;
    let payload = "d".repeat(100_000);
    let api = target.api().clone();
    let mut clients = Vec::new();
    for c in 0..8 {
        let (api, payload) = (api.clone(), payload.clone());
        clients.push(tokio::spawn(async move {
            for i in (c..letters).step_by(8) {
                let body = json!({ "net": "failing", "id": format!("d-{i}"), "tokens": [{ "place": "inbox", "payload": payload }] });
                api.post("/v1/cases", body).await.expect(201);
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while target.api().get("/v1/cases/d-0").await.body["status"] != "stuck"
        || target
            .api()
            .get(&format!("/v1/cases/d-{}", letters - 1))
            .await
            .body["status"]
            != "stuck"
    {
        assert!(Instant::now() < deadline, "the dead letters did not come");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    target.mark();
    for _ in 0..5 {
        let case = target.api().get("/v1/cases/d-0").await.expect(200);
        assert_eq!(case.body["dead_letters"].as_array().unwrap().len(), 1);
        target.api().get("/v1/dead-letters").await.expect(200);
    }
    let grown =
        target.memory_growth("5 x (GET a case + GET the queue) over 600 dead letters of 100 KB");
    let page = target.api().get("/v1/dead-letters").await.expect(200).body;
    let mut seen = page["dead_letters"].as_array().unwrap().len();
    let mut after = page["next_after"].clone();
    assert_eq!(seen, 50);
    while let Some(a) = after.as_u64() {
        let next = target
            .api()
            .get(&format!("/v1/dead-letters?after={a}&limit=250"))
            .await
            .expect(200)
            .body;
        seen += next["dead_letters"].as_array().unwrap().len();
        after = next["next_after"].clone();
    }
    assert_eq!(seen, letters);
    assert!(grown < 48 * MIB, "{grown}");
}

/// Sockets the process `pid` holds open.
fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_are_capped_and_closed() {
    let target = Target::start("[server]\nmax_connections = 32\nheader_timeout_ms = 1000\n");
    let addr = target.api().base.trim_start_matches("http://").to_string();
    let pid = target.daemon.pid();
    let idle = sockets(pid);
    // 300 clients that send half a request line and stop (slowloris).
    let mut held = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"GET /v1/nets HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open = sockets(pid) - idle;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = sockets(pid) - idle;
    let grown = target.memory_growth("300 slowloris connections");
    eprintln!(
        "hardening: 300 slowloris connections: the server held {open} after 0.5 s, {later} after 3 s"
    );
    // The first ones were closed once their headers were late.
    let mut closed = 0;
    for stream in held.iter_mut().take(32) {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(_)) => closed += 1, // an error answer, then the close
            Err(_) => {}
        }
    }
    drop(held);
    // And the server still answers.
    target.api().get("/v1/nets").await.expect(200);
    assert!(open <= 32, "{open} connections held at once");
    assert_eq!(closed, 32, "late headers did not close the connection");
    assert!(grown < 32 * MIB, "{grown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_in_flight_cap_are_shed() {
    let target = Target::start("[server]\nmax_requests = 4\n");
    let api = target.api().clone();
    // 20 long polls at once, each holding its request for 2 s.
    let polls: Vec<_> = (0..20)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                api.post("/v1/work/claim", json!({ "worker": "w", "wait_ms": 2000 }))
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for p in polls {
        statuses.push(p.await.unwrap());
    }
    let served = statuses.iter().filter(|r| r.status == 204).count();
    let shed: Vec<_> = statuses.iter().filter(|r| r.status == 503).collect();
    eprintln!(
        "hardening: 20 concurrent long polls, cap 4: {served} served, {} shed",
        shed.len()
    );
    assert!((1..=4).contains(&served), "{statuses:#?}");
    assert_eq!(served + shed.len(), 20);
    assert!(shed.iter().all(|r| r.code() == "overloaded"));
}
