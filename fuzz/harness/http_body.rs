//! The HTTP API's request bodies: any bytes posted to any route get an
//! answer that is not a server error (no 5xx but `unavailable`) and, when
//! it is an error, the one JSON error body. Runs the real router over a
//! real host (a sled store in a temp dir), in process.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, header};
use petrel::engine::EngineConfig;
use petrel::server::{ServerConfig, router};
use tower::ServiceExt as _;

/// Where a fuzzed body goes (the first input byte picks one).
const ROUTES: [&str; 8] = [
    "/v1/nets",
    "/v1/cases",
    "/v1/work/claim",
    "/v1/work/1/complete",
    "/v1/work/1/fail",
    "/v1/work/1/extend",
    "/v1/dead-letters/1/discard",
    "/v1/dead-letters/1/retry",
];

struct Server {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    _dir: tempfile::TempDir,
}

/// A net with an external transition, so cases and work exist to aim at.
const NET: &str = r#"
[net]
name = "fuzz"
[places.inbox]
start = true
[places.done]
final = true
[transitions.work]
external = true
inputs = { inbox = 1 }
outcomes.done = { done = 1 }
"#;

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = tempfile::tempdir().expect("a temp dir");
        let app = runtime.block_on(async {
            let host = petrel::Host::open(EngineConfig::new(dir.path().join("data")))
                .await
                .expect("the host opens");
            host.deploy_source(NET, &Default::default())
                .await
                .expect("the fuzz net deploys");
            let mut config = ServerConfig::default();
            // A claim answers at once instead of long-polling.
            config.max_claim_wait = Duration::ZERO;
            router(host, &config)
        });
        Server {
            runtime,
            app,
            _dir: dir,
        }
    })
}

pub fn run(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let server = server();
    let route = ROUTES[pick as usize % ROUTES.len()];
    let request = Request::builder()
        .method(Method::POST)
        .uri(route)
        .header(header::HOST, "127.0.0.1")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("a request");
    let (status, bytes) = server.runtime.block_on(async {
        let response = server
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .expect("the body reads");
        (status, bytes)
    });
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !status.is_server_error() || status.as_u16() == 503,
        "{route} {}: {status} {text}",
        String::from_utf8_lossy(body)
    );
    if !status.is_success() {
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{status} {text}: {e}"));
        assert!(json["error"]["code"].is_string(), "{status} {text}");
        assert!(json["error"]["message"].is_string(), "{status} {text}");
    }
}
