//! The bench's clients: what each one sends, what it times, and the tally.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use reqwest::StatusCode;
use serde_json::json;

use super::TOKEN;
use crate::cli::bench::percentile;

/// What the clients saw, per request kind.
#[derive(Default)]
pub(super) struct Tally {
    starts: Vec<Duration>,
    reads: Vec<Duration>,
    claims: Vec<Duration>,
    completions: Vec<Duration>,
    errors: u64,
    pub(super) first_error: Option<String>,
}

/// A request kind.
#[derive(Clone, Copy)]
enum Kind {
    Start,
    Read,
    Claim,
    Complete,
}

impl Tally {
    pub(super) fn merge(&mut self, other: Tally) {
        self.starts.extend(other.starts);
        self.reads.extend(other.reads);
        self.claims.extend(other.claims);
        self.completions.extend(other.completions);
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    fn samples(&mut self, kind: Kind) -> &mut Vec<Duration> {
        match kind {
            Kind::Start => &mut self.starts,
            Kind::Read => &mut self.reads,
            Kind::Claim => &mut self.claims,
            Kind::Complete => &mut self.completions,
        }
    }

    /// Answers that waited for a flush: starts, claims and completions.
    pub(super) fn acknowledged(&self) -> usize {
        self.starts.len() + self.claims.len() + self.completions.len()
    }

    /// Prints a line per request kind seen, then the errors.
    pub(super) fn print(&mut self, seconds: f64) {
        for (kind, samples) in [
            ("start_case", &mut self.starts),
            ("get_case", &mut self.reads),
            ("claim", &mut self.claims),
            ("complete", &mut self.completions),
        ] {
            if !samples.is_empty() {
                line(kind, samples, seconds);
            }
        }
        println!("  errors      {}", self.errors);
    }
}

fn line(kind: &str, samples: &mut [Duration], seconds: f64) {
    samples.sort_unstable();
    println!(
        "  {kind:<11} n={:<7} {:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms",
        samples.len(),
        samples.len() as f64 / seconds,
        percentile(samples, 0.50) / 1e3,
        percentile(samples, 0.99) / 1e3,
        percentile(samples, 0.999) / 1e3,
    );
}

/// Sends `request`, timing it until its whole body is read. A 2xx answer
/// is a sample of `kind` and returns its status and body; anything else
/// counts as an error.
async fn timed(
    request: reqwest::RequestBuilder,
    tally: &mut Tally,
    kind: Kind,
) -> Option<(StatusCode, Vec<u8>)> {
    let began = Instant::now();
    let response = match request.bearer_auth(TOKEN).send().await {
        Ok(response) => response,
        Err(e) => {
            tally.error(format!("{e}"));
            return None;
        }
    };
    let status = response.status();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => {
            tally.error(format!("reading a body: {e}"));
            return None;
        }
    };
    if !status.is_success() {
        tally.error(format!("{status}: {}", String::from_utf8_lossy(&body)));
        return None;
    }
    tally.samples(kind).push(began.elapsed());
    Some((status, body.to_vec()))
}

/// What the clients do in a phase.
#[derive(Clone, Copy, Debug)]
pub(super) enum Phase {
    /// Start cases.
    Start,
    /// Read back the cases this client started.
    Read,
    /// Claim firings (any client's) and complete them.
    Work,
}

/// One client in `phase` until `deadline` (a work phase also ends when no
/// firing is left to claim). `started` is how many cases this
/// client started before; returns the tally and how many it started now.
pub(super) async fn client(
    http: reqwest::Client,
    base: String,
    worker: usize,
    phase: Phase,
    started: u64,
    deadline: Instant,
) -> (Tally, u64) {
    let mut tally = Tally::default();
    let mut i = 0u64;
    while Instant::now() < deadline {
        i += 1;
        match phase {
            Phase::Start => {
                let start = http.post(format!("{base}/v1/cases")).json(&json!({
                    "net": "bench-http",
                    "id": format!("b-{worker}-{}", started + i),
                    "tokens": [{ "place": "requested", "payload": { "n": i, "worker": worker } }],
                }));
                timed(start, &mut tally, Kind::Start).await;
            }
            Phase::Read => {
                let id = format!("b-{worker}-{}", 1 + i % started.max(1));
                let read = http.get(format!("{base}/v1/cases/{id}"));
                timed(read, &mut tally, Kind::Read).await;
            }
            Phase::Work => {
                if !work(&http, &base, worker, i, &mut tally).await {
                    break;
                }
            }
        }
    }
    let now = if matches!(phase, Phase::Start) { i } else { 0 };
    (tally, now)
}

/// Claims a firing and completes it; false when none is left.
pub(super) async fn work(
    http: &reqwest::Client,
    base: &str,
    worker: usize,
    i: u64,
    tally: &mut Tally,
) -> bool {
    let claim = http.post(format!("{base}/v1/work/claim")).json(&json!({
        "worker": format!("bench-{worker}"),
        "net": "bench-http",
        "wait_ms": 0, // every case's firing is offered by now
    }));
    let body = match timed(claim, tally, Kind::Claim).await {
        Some((StatusCode::OK, body)) => body,
        Some(_) => return false, // 204: no firing left
        None => return true,     // an error, counted
    };
    let item: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(item) => item,
        Err(e) => {
            tally.error(format!("a claim's body: {e}"));
            return true;
        }
    };
    let (Some(firing), Some(lease)) = (item["firing"].as_u64(), item["lease"].as_str()) else {
        tally.error(format!("a claim without firing and lease: {item}"));
        return true;
    };
    let complete = http
        .post(format!("{base}/v1/work/{firing}/complete"))
        .json(&json!({
            "lease": lease,
            "outcome": "done",
            "tokens": [{ "place": "done", "payload": { "n": i } }],
        }));
    timed(complete, tally, Kind::Complete).await;
    true
}

/// Deploys the bench net.
pub(super) async fn deploy(http: &reqwest::Client, base: &str, net: &str) -> anyhow::Result<()> {
    let deployed = http
        .post(format!("{base}/v1/nets"))
        .bearer_auth(TOKEN)
        .json(&json!({ "source": net }))
        .send()
        .await
        .context("deploying the bench net")?;
    if !deployed.status().is_success() {
        let status = deployed.status();
        return Err(anyhow!(
            "deploying the bench net: {status}: {}",
            deployed.text().await.unwrap_or_default()
        ));
    }
    Ok(())
}

/// The server's store flushes so far, from `/metrics` (`None` from a
/// build without the counter).
pub(super) async fn flushes(http: &reqwest::Client, base: &str) -> Option<u64> {
    let response = http
        .get(format!("{base}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .ok()?;
    let text = response.error_for_status().ok()?.text().await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("petrel_store_flushes_total "))
        .and_then(|n| n.trim().parse().ok())
}
