//! Bad requests answer with the JSON error body and a stable code.

use serde_json::json;

use super::{Api, InProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors_that_name_the_problem() {
    let server = InProcess::start(None, |c| c.max_body_bytes = 4096).await;
    let api = &server.api;
    let raw = |body: &'static str| {
        api.request(reqwest::Method::POST, "/v1/cases")
            .header("content-type", "application/json")
            .body(body)
    };

    let syntax = Api::send(raw(r#"{"net": "#)).await.expect(400);
    assert_eq!(syntax.code(), "invalid_json");

    let wrong_type = api
        .post(
            "/v1/cases",
            json!({ "net": "n", "tokens": [{ "place": 5, "payload": {} }] }),
        )
        .await
        .expect(400);
    assert_eq!(wrong_type.code(), "invalid_json");
    assert!(
        wrong_type.message().contains("tokens[0].place"),
        "{wrong_type:#?}"
    );

    let missing = api
        .post("/v1/cases", json!({ "tokens": [] }))
        .await
        .expect(400);
    assert!(missing.message().contains("`net`"), "{missing:#?}");

    let unknown = api
        .post("/v1/cases", json!({ "net": "n", "tokns": [] }))
        .await
        .expect(400);
    assert!(unknown.message().contains("tokns"), "{unknown:#?}");

    let big = "x".repeat(8192);
    let too_large = api
        .post("/v1/cases", json!({ "net": big }))
        .await
        .expect(413);
    assert_eq!(too_large.code(), "payload_too_large");

    let not_json = Api::send(
        api.request(reqwest::Method::POST, "/v1/cases")
            .header("content-type", "text/plain")
            .body(r#"{"net": "n"}"#),
    )
    .await
    .expect(415);
    assert_eq!(not_json.code(), "unsupported_media_type");

    let no_route = api.get("/v1/nope").await.expect(404);
    assert_eq!(no_route.code(), "no_route");
    assert!(no_route.message().contains("/v1/nope"));

    let wrong_method = Api::send(api.request(reqwest::Method::DELETE, "/v1/cases"))
        .await
        .expect(405);
    assert_eq!(wrong_method.code(), "method_not_allowed");

    let bad_path = api
        .post("/v1/dead-letters/abc/retry", json!({}))
        .await
        .expect(400);
    assert_eq!(bad_path.code(), "invalid_path");
    assert!(bad_path.message().contains("abc"));

    let bad_query = api.get("/v1/cases/x/history?limit=many").await.expect(400);
    assert_eq!(bad_query.code(), "invalid_query");
    assert!(bad_query.message().contains("limit"), "{bad_query:#?}");

    let no_worker = api
        .post("/v1/work/claim", json!({ "worker": " " }))
        .await
        .expect(400);
    assert_eq!(no_worker.code(), "invalid_request");
    server.stop().await;
}
