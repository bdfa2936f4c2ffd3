//! `petrel bench --guest FILE`: what one component costs the host —
//! compiling it (cranelift), loading the cached artifact, and firing it in a
//! fresh instance — for guests in any language.
//!
//! The guest is deployed as transition `bench` (granted `llm`, which answers
//! `not-configured`) consuming one token in place `start` (`--place`,
//! `--payload`: the scaffolds of `petrel new` read `{"message": ...}`
//! there), with outcome `done` into place `done`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use petrel::Net;
use petrel::sandbox::{Determinism, Firing, Sandbox, SandboxConfig, Token};

use super::bench::percentile;
use super::{OK, Outcome};

/// Samples of the cached load (each a few ms at most).
const LOADS: usize = 7;

const NET: &str = r#"
[net]
name = "bench"
[places.PLACE]
start = true
[places.done]
final = true
[transitions.bench]
guest = "GUEST"
inputs = { PLACE = 1 }
outcomes.done = { done = 1 }
capabilities = ["llm"]
timeout_ms = 10000
memory_mb = 512
"#;

/// Measures `wasm` and prints the figures.
pub(crate) async fn run(wasm: &Path, calls: usize, place: &str, payload: &str) -> Outcome {
    measure(wasm, calls, place, payload).await?;
    Ok(OK)
}

async fn measure(wasm: &Path, calls: usize, place: &str, payload: &str) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("petrel-bench-guest-")
        .tempdir()?;
    let wasm = wasm
        .canonicalize()
        .with_context(|| format!("cannot read `{}`", wasm.display()))?;
    let size = std::fs::metadata(&wasm)?.len();
    let text = NET
        .replace("GUEST", &wasm.display().to_string())
        .replace("PLACE", place);
    let net = Net::parse(&text, dir.path().join("bench.toml"))?;
    let transition = &net.transitions()[0];
    let sandbox = || {
        Sandbox::new(SandboxConfig {
            instance_slots: 16,
            cache_dir: Some(dir.path().join("cache")),
            ..SandboxConfig::default()
        })
    };
    println!(
        "petrel bench --guest {} ({:.1} MB, {} build)",
        wasm.display(),
        size as f64 / 1e6,
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        }
    );

    let cold = sandbox()?;
    let started = Instant::now();
    let guest = cold.load(transition)?;
    let compile = started.elapsed();
    println!(
        "compile (cranelift) + write to the cache + check imports + pre-instantiate: {:.0} ms",
        compile.as_secs_f64() * 1e3
    );
    drop(guest);
    drop(cold);

    let warm = sandbox()?;
    let mut loads = Vec::with_capacity(LOADS);
    for _ in 0..LOADS {
        let started = Instant::now();
        let guest = warm.load(transition)?;
        loads.push(started.elapsed());
        drop(guest);
    }
    loads.sort();
    println!(
        "cached load (map the compiled artifact + check imports + pre-instantiate), {LOADS} loads: median {:.2} ms ({:.0}x faster than compiling)",
        percentile(&loads, 0.5) / 1e3,
        compile.as_secs_f64() * 1e6 / percentile(&loads, 0.5)
    );

    let guest = warm.load(transition)?;
    let value: serde_json::Value =
        serde_json::from_str(payload).context("--payload is not JSON")?;
    let firing = Firing {
        net: "bench".into(),
        version: "v".into(),
        transition: "bench".into(),
        case_id: "c".into(),
        attempt: 1,
        inputs: vec![Token {
            place: place.into(),
            payload: rmp_serde::to_vec_named(&value)?,
        }],
        compensating: None,
    };
    let det = Determinism {
        now_unix_ms: 0,
        seed: [7; 32],
    };
    let first = warm.call(&guest, &firing, det).await;
    let answer = match &first.decision {
        Ok(decision) => format!("{decision:?}"),
        Err(failure) => format!("failed: {failure}"),
    };
    println!(
        "first call: {} ({:.2} ms)",
        cut(&answer, 160),
        first.elapsed.as_secs_f64() * 1e3
    );
    for _ in 0..calls.min(50) {
        warm.call(&guest, &firing, det).await;
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        warm.call(&guest, &firing, det).await;
        samples.push(started.elapsed());
    }
    samples.sort();
    println!(
        "fresh-instance firing (instantiate + decide + drop), {} calls: p50 {:.1} µs, p99 {:.1} µs (target p50 <= 1000 µs)",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99)
    );
    Ok(())
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}
