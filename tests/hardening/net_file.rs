//! Net files: tokens asked for by the million, and tokens minted by a
//! timeout route.

use std::time::Duration;

use super::{MIB, Target};

/// `places` shared places of a million initial tokens each: a few hundred
/// bytes of net file.
fn millions(places: usize) -> String {
    let mut net = String::from(
        "[net]\nname = \"millions\"\n[places.inbox]\nstart = true\n[places.done]\nfinal = true\n[transitions.t]\nexternal = true\ninputs = { inbox = 1 }\noutcomes.done = { done = 1 }\n",
    );
    for i in 0..places {
        net.push_str(&format!(
            "[places.pool{i}]\nshared = true\ninitial = 1000000\n"
        ));
    }
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_tokens_by_the_million_are_refused_before_any_is_made() {
    let target = Target::start("");
    // 3 million tokens (the issue's tens of millions took 18 GB).
    let source = millions(3);
    assert!(source.len() < 1024);
    let reply = target
        .api()
        .post("/v1/nets", serde_json::json!({ "source": source }))
        .await;
    let grown = target.memory_growth("3,000,000 initial tokens");
    let written = target.data_growth("3,000,000 initial tokens");
    assert_eq!(reply.status, 422, "{reply:#?}");
    assert!(
        reply.message().contains("`[limits] initial_tokens`"),
        "{reply:#?}"
    );
    assert!(grown < 64 * MIB, "{grown}");
    assert!(written < MIB, "{written}");
}

/// The timeout route of `late` puts 200,000 tokens into the shared `pool`
/// it consumed one from.
const MINTING: &str = r#"
[net]
name = "minting"
[places.inbox]
start = true
[places.pool]
shared = true
initial = 1
[places.done]
final = true
[transitions.spin]
guest = "GUEST(hostile)"
inputs = { inbox = 1, pool = 1 }
outcomes.out = { done = 1, pool = 1 }
outcomes.late = { done = 1, pool = 200000 }
on_timeout = "late"
timeout_ms = 200
fuel = 1_000_000_000_000
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_route_cannot_mint_shared_tokens() {
    let target = Target::start("");
    let reply = target.deploy(&target.net(MINTING)).await;
    if reply.status < 300 {
        // (Only a build without the check gets here: let the timeout fire.)
        target
            .run_case("minting", "m-1", "inbox", Duration::from_secs(60))
            .await;
    }
    let grown = target.memory_growth("on_timeout minting 200,000 tokens");
    let written = target.data_growth("on_timeout minting 200,000 tokens");
    assert_eq!(reply.status, 422, "{reply:#?}");
    assert!(
        reply.message().contains(
            "produces 200000 token(s) into shared place `pool` but the transition consumes 1"
        ),
        "{reply:#?}"
    );
    assert!(grown < 64 * MIB, "{grown}");
    assert!(written < MIB, "{written}");
}
