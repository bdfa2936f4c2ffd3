//! The refund flow with its intent classifier in Python and its
//! eligibility rule in TypeScript (`examples/refund/net-polyglot.toml`),
//! through the same host, offline on the same cassette: it decides exactly
//! what the Rust guests decide.

use serde_json::{Value, json};

use crate::util::{build_once, petrel, repo};

/// Requests the cassette answers: a refund in time, a question, a refund
/// too late, a refund too large.
fn requests() -> Vec<(&'static str, Value)> {
    let r = |id: &str, order: &str, message: &str, age: u32, cents: u64| {
        json!({ "request_id": id, "customer": "c", "order_id": order, "message": message,
                "order_age_days": age, "amount_cents": cents })
    };
    vec![
        (
            "r-1",
            r(
                "r-1",
                "o-1001",
                "The blender I ordered arrived with a cracked jug. I'd like my money back, please.",
                6,
                4_999,
            ),
        ),
        (
            "r-2",
            r(
                "r-2",
                "o-1002",
                "Where is my parcel? The tracking page has not changed for a week.",
                9,
                2_500,
            ),
        ),
        (
            "r-3",
            r(
                "r-3",
                "o-1003",
                "Please refund the headphones, they stopped working.",
                95,
                12_900,
            ),
        ),
        (
            "r-4",
            r(
                "r-4",
                "o-1004",
                "Refund please: the laptop is not what the page advertised.",
                10,
                129_900,
            ),
        ),
    ]
}

/// Runs every request on `net` in a fresh store; returns each case's tokens
/// (place and payload).
fn run(net: &str) -> Vec<(String, Value)> {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let net = repo().join(net);
    let config = repo().join("examples/refund/petrel.toml");
    let config = config.to_str().unwrap();
    for (id, request) in requests() {
        petrel(&[
            "start",
            net.to_str().unwrap(),
            "--data",
            data,
            "--case",
            id,
            "--token",
            &format!("request_received={request}"),
        ])
        .expect_code(0);
    }
    // `pay_refund` is external: the run ends with approved refunds waiting.
    petrel(&["run", "--data", data, "--config", config, "--no-wait"]).expect_code(0);
    petrel(&["replay", "--data", data, "--verify"]).expect_code(0);
    let marking = petrel(&["marking", "--data", data, "--format", "json"])
        .expect_code(0)
        .json();
    let mut tokens: Vec<(String, Value)> = marking["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let tokens = case["tokens"].as_array().unwrap();
            assert_eq!(tokens.len(), 1, "{case}");
            (
                format!("{} {}", case["id"], tokens[0]["place"]),
                tokens[0]["payload"].clone(),
            )
        })
        .collect();
    tokens.sort_by(|a, b| a.0.cmp(&b.0));
    tokens
}

#[test]
fn python_classifier_and_typescript_rule_decide_as_the_rust_guests_do() {
    build_once("examples/refund/net-polyglot.toml");
    let polyglot = run("examples/refund/net-polyglot.toml");
    let places: Vec<&str> = polyglot.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        places,
        [
            "\"r-1\" \"refund_orders\"",
            "\"r-2\" \"closed\"",
            "\"r-3\" \"denied\"",
            "\"r-4\" \"denied\""
        ]
    );
    assert_eq!(
        polyglot,
        run("examples/refund/net.toml"),
        "same tokens, same payloads"
    );
}
