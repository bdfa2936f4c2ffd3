//! `petrel bench-http --dashboard-cases N`: what the dashboard's pages cost
//! over a big store. Fills it with N cases over the API (a tenth of a
//! percent of them completed, the rest waiting for a worker), then times
//! each list page the dashboard reads, sequentially, and says whether
//! each answered within [`BUDGET`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};

use super::TOKEN;
use super::load::{Tally, work};
use crate::cli::bench::percentile;

/// What a list page may take (p99) on this machine.
const BUDGET: Duration = Duration::from_millis(100);
/// Timed requests per page.
const SAMPLES: usize = 30;

/// Fills the store behind `base` with `cases` cases, then times the
/// pages; whether every page's p99 stayed within [`BUDGET`].
pub(super) async fn run(
    http: &reqwest::Client,
    base: &str,
    cases: u64,
    concurrency: usize,
) -> anyhow::Result<bool> {
    let began = Instant::now();
    fill(http, base, cases, concurrency).await?;
    let filled = began.elapsed().as_secs_f64();
    println!(
        "dashboard: {cases} cases started in {filled:.1} s ({:.0}/s)",
        cases as f64 / filled
    );
    let mut tally = Tally::default();
    let done = (cases / 1000).max(1);
    for i in 0..done {
        work(http, base, 0, i, &mut tally).await;
    }
    if let Some(e) = tally.first_error {
        return Err(anyhow!("completing cases: {e}"));
    }
    println!("dashboard: {done} of them completed; timing each page {SAMPLES} times");
    let deep = cursor_after(http, base, 10_000).await?;
    let newest = get(http, base, "/v1/cases?limit=1").await?["cases"][0]["id"]
        .as_str()
        .context("a newest case")?
        .to_string();
    let pages = [
        ("cases, first page".to_string(), "/v1/cases?limit=50".to_string()),
        (
            "cases, page after 10,000".into(),
            format!("/v1/cases?limit=50&after={deep}"),
        ),
        (
            "cases, status=completed".into(),
            "/v1/cases?status=completed&limit=50".into(),
        ),
        (
            "cases, status=stuck (none)".into(),
            "/v1/cases?status=stuck&limit=50".into(),
        ),
        (
            "cases, net + started 10m".into(),
            "/v1/cases?net=bench-http&started_after=10m&limit=50".into(),
        ),
        ("case".into(), format!("/v1/cases/{newest}")),
        ("case history".into(), format!("/v1/cases/{newest}/history")),
        ("inbox (1000 offers)".into(), "/v1/work".into()),
        (
            "net drawing, live counts".into(),
            "/v1/nets/bench-http/graph".into(),
        ),
        ("dead letters".into(), "/v1/dead-letters".into()),
    ];
    let mut all_within = true;
    for (name, path) in &pages {
        let mut samples = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let t = Instant::now();
            get(http, base, path).await?;
            samples.push(t.elapsed());
        }
        samples.sort_unstable();
        let p99 = percentile(&samples, 0.99);
        let within = p99 <= BUDGET.as_micros() as f64;
        all_within &= within;
        println!(
            "  {name:<28} p50 {:>7.2} ms  p99 {:>7.2} ms  {}",
            percentile(&samples, 0.50) / 1e3,
            p99 / 1e3,
            if within { "ok" } else { "OVER 100 ms" }
        );
    }
    Ok(all_within)
}

/// Starts `cases` cases with `concurrency` clients.
async fn fill(
    http: &reqwest::Client,
    base: &str,
    cases: u64,
    concurrency: usize,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, base, next) = (http.clone(), base.to_string(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= cases {
                        return Ok::<(), anyhow::Error>(());
                    }
                    let body = json!({
                        "net": "bench-http",
                        "id": format!("d-{i:07}"),
                        "tokens": [{ "place": "requested", "payload": { "n": i } }],
                    });
                    let reply = http
                        .post(format!("{base}/v1/cases"))
                        .bearer_auth(TOKEN)
                        .json(&body)
                        .send()
                        .await?;
                    if !reply.status().is_success() {
                        let status = reply.status();
                        return Err(anyhow!("starting a case: {status}: {}", reply.text().await?));
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.await.context("a client panicked")??;
    }
    Ok(())
}

/// The `next_after` cursor after the first `skip` cases, newest first.
async fn cursor_after(http: &reqwest::Client, base: &str, skip: u64) -> anyhow::Result<String> {
    let mut after = String::new();
    let mut seen = 0;
    while seen < skip {
        let path = if after.is_empty() {
            "/v1/cases?limit=1000".to_string()
        } else {
            format!("/v1/cases?limit=1000&after={after}")
        };
        let page = get(http, base, &path).await?;
        seen += page["cases"].as_array().map_or(0, |c| c.len() as u64);
        match page["next_after"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    Ok(after)
}

/// GETs `path`, its body read whole (as JSON when it is JSON).
async fn get(http: &reqwest::Client, base: &str, path: &str) -> anyhow::Result<Value> {
    let response = http
        .get(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(anyhow!("GET {path}: {status}: {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
