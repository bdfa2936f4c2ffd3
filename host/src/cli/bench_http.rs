//! `petrel bench-http`: load on the HTTP API, in process. Starts the server
//! on 127.0.0.1:0 over a temp data dir with a net whose one transition is
//! external (no guest runs), then for a fixed time runs concurrent clients
//! that each start a case and read it back, over and over. Prints
//! requests/s, p50/p99 latency per kind and the error count; exits 1 on
//! any error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use petrel::Host;
use petrel::engine::EngineConfig;
use petrel::metrics::Metrics;
use petrel::server::{ServerConfig, serve};
use serde_json::json;
use tokio::net::TcpListener;

use super::bench::percentile;
use super::{OK, Outcome, PROBLEM};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How long to load the server.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

/// A net with no guest: cases wait in `requested` for a worker.
const NET: &str = r#"
[net]
name = "bench-http"
[places.requested]
start = true
[places.done]
final = true
[transitions.perform]
external = true
inputs = { requested = 1 }
outcomes.done = { done = 1 }
"#;

const TOKEN: &str = "bench-http-token";

/// What one client saw.
#[derive(Default)]
struct Tally {
    starts: Vec<Duration>,
    reads: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.starts.extend(other.starts);
        self.reads.extend(other.reads);
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }
}

/// Sends `request`, timing it; a non-2xx answer or a transport error counts
/// as an error.
async fn timed(request: reqwest::RequestBuilder, tally: &mut Tally, start: bool) {
    let began = Instant::now();
    let result = request.send().await;
    let elapsed = began.elapsed();
    match result {
        Ok(response) if response.status().is_success() => {
            // Read the body: it is part of the answer.
            if let Err(e) = response.bytes().await {
                return tally.error(format!("reading a body: {e}"));
            }
            let samples = if start {
                &mut tally.starts
            } else {
                &mut tally.reads
            };
            samples.push(elapsed);
        }
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            tally.error(format!("{status}: {body}"));
        }
        Err(e) => tally.error(format!("{e}")),
    }
}

async fn client(http: reqwest::Client, base: String, worker: usize, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut i = 0u64;
    while Instant::now() < deadline {
        let id = format!("b-{worker}-{i}");
        i += 1;
        let body = json!({
            "net": "bench-http",
            "id": id,
            "tokens": [{ "place": "requested", "payload": { "n": i, "worker": worker } }],
        });
        let start = http
            .post(format!("{base}/v1/cases"))
            .bearer_auth(TOKEN)
            .json(&body);
        timed(start, &mut tally, true).await;
        let read = http.get(format!("{base}/v1/cases/{id}")).bearer_auth(TOKEN);
        timed(read, &mut tally, false).await;
    }
    tally
}

fn line(kind: &str, samples: &mut [Duration], seconds: f64) {
    if samples.is_empty() {
        println!("  {kind:<11} n=0");
        return;
    }
    samples.sort_unstable();
    println!(
        "  {kind:<11} n={:<7} {:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        samples.len(),
        samples.len() as f64 / seconds,
        percentile(samples, 0.50) / 1e3,
        percentile(samples, 0.99) / 1e3,
    );
}

pub(crate) async fn run(args: Args) -> Outcome {
    if args.concurrency == 0 || args.seconds == 0 {
        return Err(super::bad_input(anyhow!(
            "--seconds and --concurrency must be at least 1"
        )));
    }
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let metrics = Arc::new(Metrics::new());
    let mut engine = EngineConfig::new(dir.path().join("data"));
    engine.observer = Some(metrics.observer());
    let host = Host::open(engine).await?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding 127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr().context("bound address")?);
    let mut config = ServerConfig::default().with_token(TOKEN);
    config.metrics = metrics;
    config.max_requests = config.max_requests.max(2 * args.concurrency);
    config.max_connections = config.max_connections.max(2 * args.concurrency);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(host, listener, config, async move {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .context("building the HTTP client")?;
    let deployed = http
        .post(format!("{base}/v1/nets"))
        .bearer_auth(TOKEN)
        .json(&json!({ "source": NET }))
        .send()
        .await
        .context("deploying the bench net")?;
    if !deployed.status().is_success() {
        let status = deployed.status();
        return Err(anyhow!(
            "deploying the bench net: {status}: {}",
            deployed.text().await.unwrap_or_default()
        )
        .into());
    }

    println!(
        "bench-http: {} client(s) for {} s against {base} (each: start a case, read it back)",
        args.concurrency, args.seconds
    );
    let began = Instant::now();
    let deadline = began + Duration::from_secs(args.seconds);
    let clients: Vec<_> = (0..args.concurrency)
        .map(|w| tokio::spawn(client(http.clone(), base.clone(), w, deadline)))
        .collect();
    let mut tally = Tally::default();
    for c in clients {
        tally.merge(c.await.context("a client task panicked")?);
    }
    let seconds = began.elapsed().as_secs_f64();

    let _ = stop.send(());
    server
        .await
        .context("the server task panicked")?
        .map_err(anyhow::Error::from)?;

    let total = tally.starts.len() + tally.reads.len() + tally.errors as usize;
    println!(
        "  requests    n={total:<7} {:>8.0}/s  errors {}",
        total as f64 / seconds,
        tally.errors
    );
    line("start_case", &mut tally.starts, seconds);
    line("get_case", &mut tally.reads, seconds);
    if let Some(first) = &tally.first_error {
        eprintln!("first error: {first}");
        return Ok(PROBLEM);
    }
    Ok(OK)
}
