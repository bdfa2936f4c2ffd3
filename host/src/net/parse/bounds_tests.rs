//! A net file cannot make the host hold more than its ceilings allow:
//! size, initial tokens, per-call bounds, tokens minted on timeout.

use std::path::Path;

use crate::limits::HostLimits;
use crate::net::{Net, NetError};

const NET: &str = r#"
[net]
name = "n"
[places.inbox]
start = true
[places.pool]
shared = true
initial = 1
[places.done]
final = true
[transitions.t]
guest = "t.wasm"
inputs = { inbox = 1, pool = 1 }
outcomes.done = { done = 1, pool = 1 }
outcomes.late = { done = 1, pool = 1 }
on_timeout = "late"
"#;

fn err_within(text: &str, limits: &HostLimits) -> String {
    Net::parse_within(text, Path::new("n.toml"), limits)
        .unwrap_err()
        .to_string()
}

fn err(text: &str) -> String {
    err_within(text, &HostLimits::default())
}

#[test]
fn on_timeout_minting_shared_tokens_is_refused() {
    // One timeout used to put 200000 resource tokens made from nothing
    // into `pool`.
    let text = NET.replace(
        "outcomes.late = { done = 1, pool = 1 }",
        "outcomes.late = { done = 1, pool = 200000 }",
    );
    assert_eq!(
        err(&text),
        "n.toml:16: `transitions.t.on_timeout`: outcome `late` produces 200000 token(s) into shared place `pool` but the transition consumes 1 from it (expected at most that: on timeout the host only moves the consumed tokens, shared ones back where they came from)"
    );
    // Into a shared place it consumes nothing from: also minting.
    let text = NET.replace(
        "[places.done]",
        "[places.other]\nshared = true\n[places.done]",
    );
    let text = text.replace(
        "outcomes.late = { done = 1, pool = 1 }",
        "outcomes.late = { done = 1, other = 1 }",
    );
    assert!(err(&text).contains("into shared place `other` but the transition consumes 0"));
    // Giving the shared token back, or keeping it, is fine.
    assert!(Net::parse(NET, "n.toml").is_ok());
    let kept = NET.replace(
        "outcomes.late = { done = 1, pool = 1 }",
        "outcomes.late = { done = 1 }",
    );
    assert!(Net::parse(&kept, "n.toml").is_ok());
}

#[test]
fn on_timeout_weight_sums_do_not_wrap() {
    // 4294967295 + 2 wrapped to 1 in u32: the check took 1 == 1.
    let text = NET
        .replace("[places.done]", "[places.extra]\n[places.done]")
        .replace(
            "inputs = { inbox = 1, pool = 1 }",
            "inputs = { inbox = 4294967295, extra = 2 }",
        )
        .replace(
            "outcomes.late = { done = 1, pool = 1 }",
            "outcomes.late = { done = 1 }",
        );
    assert!(
        err(&text).contains("produces 1 case token(s) but the transition consumes 4294967297"),
        "{}",
        err(&text)
    );
}

#[test]
fn declared_bounds_may_lower_the_ceilings_never_raise_them() {
    let with = |field: &str| {
        NET.replace(
            "on_timeout = \"late\"",
            &format!("on_timeout = \"late\"\n{field}"),
        )
    };
    assert_eq!(
        err(&with("timeout_ms = 600000")),
        "n.toml:17: `transitions.t.timeout_ms`: 600000 is above the host's ceiling of 60000 (`[limits] timeout_ms` in petrel.toml; a net file may lower a ceiling, never raise it)"
    );
    for (field, setting) in [
        ("fuel = 1_000_000_000_001", "`[limits] fuel`"),
        ("memory_mb = 513", "`[limits] memory_mb`"),
        ("max_output_kb = 16385", "`[limits] max_output_kb`"),
        ("retry = { max_attempts = 101 }", "`[limits] max_attempts`"),
    ] {
        assert!(
            err(&with(field)).contains(setting),
            "{field}: {}",
            err(&with(field))
        );
    }
    let lowered = HostLimits {
        timeout_ms: 1000,
        max_attempts: 2,
        ..HostLimits::default()
    };
    // Defaults above a lowered ceiling are cut to it; a lower value stays.
    let net = Net::parse_within(NET, "n.toml", &lowered).unwrap();
    let t = &net.transitions()[0];
    assert_eq!(t.limits.timeout_ms, 1000);
    assert_eq!(t.retry.max_attempts, 2);
    let net = Net::parse_within(&with("timeout_ms = 300"), "n.toml", &lowered).unwrap();
    assert_eq!(net.transitions()[0].limits.timeout_ms, 300);
    assert!(err_within(&with("timeout_ms = 2000"), &lowered).contains("ceiling of 1000"));
    // A net the store kept under higher ceilings is cut, not refused.
    let net = Net::parse_stored(&with("timeout_ms = 2000"), "n.toml", &lowered).unwrap();
    assert_eq!(net.transitions()[0].limits.timeout_ms, 1000);
}

#[test]
fn llm_requests_are_capped_by_the_host() {
    let text = NET.replace(
        "on_timeout = \"late\"",
        "on_timeout = \"late\"\ncapabilities = [\"llm\"]\nllm = { max_request_kb = 64 }",
    );
    let net = Net::parse(&text, "n.toml").unwrap();
    assert_eq!(net.transitions()[0].llm.max_request_kb, 64);
    let net = Net::parse(
        &text.replace("llm = { max_request_kb = 64 }\n", ""),
        "n.toml",
    )
    .unwrap();
    assert_eq!(
        net.transitions()[0].llm.max_request_kb,
        crate::limits::DEFAULT_LLM_REQUEST_KB
    );
    assert!(err(&text.replace("= 64", "= 100000")).contains("`[limits] llm_request_kb`"));
}

#[test]
fn initial_tokens_have_a_total_ceiling_checked_before_any_is_made() {
    // A few KB asking for 200 million tokens used to take 18 GB to parse.
    let mut text = NET.to_string();
    for i in 0..200 {
        text.push_str(&format!(
            "[places.p{i}]\nshared = true\ninitial = 1000000\n"
        ));
    }
    let started = std::time::Instant::now();
    let e = err(&text);
    assert!(
        e.contains("exceed what is left of the net's ceiling of 100000 initial tokens"),
        "{e}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let limits = HostLimits {
        initial_tokens: 2,
        ..HostLimits::default()
    };
    let two = NET.replace("initial = 1", "initial = [{ a = 1 }, { a = 2 }]");
    assert!(Net::parse_within(&two, "n.toml", &limits).is_ok());
    let three = NET.replace("initial = 1", "initial = [1, 2, 3]");
    assert!(err_within(&three, &limits).contains("3 initial tokens exceed"));
}

#[test]
fn a_net_larger_than_the_host_allows_is_refused() {
    let small = HostLimits {
        places: 2,
        ..HostLimits::default()
    };
    let e = Net::parse_within(NET, "n.toml", &small).unwrap_err();
    assert!(matches!(e, NetError::TooLarge { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "n.toml: the net declares 3 places (the host's limit is 2: `[limits] places` in petrel.toml)"
    );
    let few_arcs = HostLimits {
        arcs: 4,
        ..HostLimits::default()
    };
    assert!(err_within(NET, &few_arcs).contains("declares 6 arcs"));
    let few_transitions = HostLimits {
        transitions: 0,
        ..HostLimits::default()
    };
    assert!(err_within(NET, &few_transitions).contains("declares 1 transitions"));
    let tiny = HostLimits {
        net_file_kb: 1,
        ..HostLimits::default()
    };
    let big = format!("{NET}\n#{}\n", "x".repeat(2000));
    assert!(err_within(&big, &tiny).contains("bytes (the host's limit is 1024"));
}

#[test]
fn net_files_are_read_only_as_bounded_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("n.toml");
    std::fs::write(&file, format!("{NET}\n#{}\n", "x".repeat(2000))).unwrap();
    let tiny = HostLimits {
        net_file_kb: 1,
        ..HostLimits::default()
    };
    let e = Net::load_within(&file, &tiny).unwrap_err().to_string();
    assert!(e.contains("larger than the limit of 1024 bytes"), "{e}");
    #[cfg(unix)]
    {
        let e = Net::load("/dev/zero").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
