//! Guest output: log lines, aliased payloads, refused model calls.

use std::time::Duration;

use super::{MIB, Target};

/// One transition per attack guest, each allowed one attempt.
fn net(name: &str, transition: &str, guest: &str, extra: &str) -> String {
    format!(
        r#"
[net]
name = "{name}"
[places.inbox]
start = true
[places.out]
final = true
[transitions.{transition}]
guest = "GUEST({guest})"
inputs = {{ inbox = 1 }}
outcomes.out = {{ out = 1 }}
retry = {{ max_attempts = 1 }}
timeout_ms = 30000
{extra}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_are_copied_only_as_far_as_they_are_kept() {
    let mut target = Target::start("");
    let file = target.net(&net("logs", "big_lines", "hostile_log", ""));
    target.deploy(&file).await.expect(201);
    target.mark();
    // 256 lines of 1.5 MiB: kept whole in the host, 384 MiB for one firing.
    let case = target
        .run_case("logs", "l-1", "inbox", Duration::from_secs(60))
        .await;
    let grown = target.memory_growth("256 log lines of 1.5 MiB");
    let written = target.data_growth("256 log lines of 1.5 MiB");
    assert_eq!(case["status"], "completed", "{case:#}");
    let history = target.api().get("/v1/cases/l-1/history").await.expect(200);
    let fired = history.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "firing_completed")
        .unwrap_or_else(|| panic!("{:#}", history.body));
    let log = fired["log"].as_array().unwrap();
    let kept: usize = log
        .iter()
        .map(|l| l["message"].as_str().unwrap().len())
        .sum();
    assert!(kept <= 256 << 10, "{kept}");
    assert!(
        log.iter()
            .all(|l| l["message"].as_str().unwrap().len() <= 4096)
    );
    assert!(grown < 64 * MIB, "{grown}");
    assert!(written < 8 * MIB, "{written}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliased_payloads_are_refused_before_they_are_copied() {
    let mut target = Target::start("");
    let file = target.net(&net("alias", "alias", "hostile", ""));
    target.deploy(&file).await.expect(201);
    target.mark();
    // 120 tokens sharing one 1 MiB buffer: 120 MiB lifted by a host that
    // copies before it checks.
    let case = target
        .run_case("alias", "a-1", "inbox", Duration::from_secs(60))
        .await;
    let grown = target.memory_growth("120 aliased 1 MiB payloads");
    assert_eq!(case["status"], "stuck", "{case:#}");
    let letters = target.api().get("/v1/dead-letters").await.expect(200);
    let failure = letters.body["dead_letters"][0]["failures"][0].to_string();
    assert!(failure.contains("output_too_large"), "{failure}");
    assert!(grown < 48 * MIB, "{grown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_model_calls_count_and_journal_at_most_their_cap() {
    let mut target = Target::start("");
    let file = target.net(&net(
        "flood",
        "ask",
        "llm_flood",
        "capabilities = [\"llm\"]\n",
    ));
    target.deploy(&file).await.expect(201);
    target.mark();
    // 30 calls of 2 MiB each, with no model configured: 60 MiB journaled
    // per firing by a host that journals every refused call whole.
    let case = target
        .run_case("flood", "f-1", "inbox", Duration::from_secs(60))
        .await;
    let written = target.data_growth("30 refused 2 MiB model calls");
    assert_eq!(case["status"], "completed", "{case:#}");
    let history = target
        .api()
        .get("/v1/cases/f-1/history?limit=1000")
        .await
        .expect(200);
    let exchanges: Vec<_> = history.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "llm_exchange")
        .collect();
    // max_calls (4) journaled, then the first call over it; the rest are
    // refused without a trace.
    assert_eq!(exchanges.len(), 5, "{:#}", history.body);
    assert!(written < 8 * MIB, "{written}");
}
