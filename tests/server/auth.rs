//! Bearer-token authentication, in process and through `petrel serve`.

use serde_json::json;

use super::{Daemon, InProcess};
use crate::util::petrel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_the_probes_needs_the_token() {
    let server = InProcess::start(Some("s3cret-t0ken"), |_| {}).await;
    let anonymous = server.api.with_token(None);
    let wrong = server.api.with_token(Some("s3cret-t0ke"));
    for path in ["/healthz", "/readyz"] {
        anonymous.get(path).await.expect(200);
    }
    for path in ["/v1/nets", "/v1/dead-letters", "/metrics", "/openapi.json"] {
        let refused = anonymous.get(path).await.expect(401);
        assert_eq!(refused.code(), "unauthorized");
        assert!(
            refused.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{refused:#?}"
        );
        assert_eq!(wrong.get(path).await.expect(401).code(), "unauthorized");
        server.api.get(path).await.expect(200);
    }
    let refused = anonymous
        .post("/v1/cases", json!({ "net": "n" }))
        .await
        .expect(401);
    assert_eq!(refused.code(), "unauthorized");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_reads_its_token_from_the_named_variable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let daemon = Daemon::start(
        &data,
        &["--token-env", "MY_PETREL_TOKEN"],
        &[("MY_PETREL_TOKEN", "daemon-t0ken")],
        Some("daemon-t0ken"),
    );
    daemon.api.get("/v1/nets").await.expect(200);
    daemon
        .api
        .with_token(None)
        .get("/healthz")
        .await
        .expect(200);
    let refused = daemon
        .api
        .with_token(None)
        .get("/v1/nets")
        .await
        .expect(401);
    assert_eq!(refused.code(), "unauthorized");
    daemon
        .api
        .with_token(Some("other"))
        .get("/v1/nets")
        .await
        .expect(401);
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn without_a_token_only_loopback_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let refused = petrel(&["serve", "--data", data, "--listen", "0.0.0.0:0"]).expect_code(2);
    assert!(
        refused
            .stderr()
            .contains("refusing to listen on `0.0.0.0:0` without an API token"),
        "{}",
        refused.stderr()
    );
    let unset = petrel(&[
        "serve",
        "--data",
        data,
        "--listen",
        "127.0.0.1:0",
        "--token-env",
        "PETREL_TEST_UNSET_TOKEN_VAR",
    ])
    .expect_code(2);
    assert!(
        unset.stderr().contains("PETREL_TEST_UNSET_TOKEN_VAR"),
        "{}",
        unset.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_loopback_is_served_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&dir.path().join("data"), &[], &[], None);
    daemon.api.get("/v1/nets").await.expect(200);
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("every request"), "{stderr}");
}
