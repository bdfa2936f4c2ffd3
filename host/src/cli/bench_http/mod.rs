//! `petrel bench-http`: load on the HTTP API, every answer durable. The
//! server runs in this process (default) or as the real `petrel serve`
//! binary in a child process (`--spawn`, so client and server do not share
//! a process), over a temp data dir, with a net whose one transition is
//! external (no guest runs). Three phases of `--seconds` each, with
//! concurrent clients: start cases; read them back; claim their firings
//! and complete them (until none is left). Prints per phase and request
//! kind the rate, p50/p99/p99.9 and errors, and the store's flushes per
//! second; then the server's memory before and after, and what one flush
//! costs on this disk. Exits 1 on any error. With `--dashboard-cases N`
//! it instead fills the store with N cases and times the dashboard's list
//! pages (see `dashboard`); exits 1 when one takes over 100 ms (p99).

mod dashboard;
mod load;
mod target;

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use super::{OK, Outcome, PROBLEM};
use load::{Phase, Tally};
use target::Target;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How long to load the server.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients (with --spawn, at most the server's
    /// `[limits] max_requests`, 64 by default, are served at once).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Run the real `petrel serve` binary in a child process and load it
    /// from this one.
    #[arg(long)]
    spawn: bool,
    /// With --spawn: run this petrel binary as the server instead (to
    /// compare two builds under the same load).
    #[arg(long, value_name = "FILE", requires = "spawn")]
    serve_with: Option<std::path::PathBuf>,
    /// Instead of the three phases: start this many cases, then time the
    /// dashboard's list pages over them (e.g. 100000).
    #[arg(long, value_name = "N")]
    dashboard_cases: Option<u64>,
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

/// The API token the bench's server requires.
const TOKEN: &str = "bench-http-token";

/// Flushes timed for the cost of one flush on this disk.
const FLUSH_PROBES: usize = 200;

pub(crate) async fn run(args: Args) -> Outcome {
    if args.concurrency == 0 || args.seconds == 0 {
        return Err(super::bad_input(anyhow!(
            "--seconds and --concurrency must be at least 1"
        )));
    }
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let flush = flush_cost(dir.path().join("flush-probe")).await?;
    let target = if args.spawn {
        Target::spawn(dir.path(), TOKEN, args.serve_with.as_deref()).await?
    } else {
        Target::in_process(dir.path(), TOKEN, args.concurrency).await?
    };
    let base = target.base().to_string();
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .context("building the HTTP client")?;
    load::deploy(&http, &base, NET).await?;
    if let Some(cases) = args.dashboard_cases {
        let within = dashboard::run(&http, &base, cases, args.concurrency).await;
        target.stop().await?;
        return Ok(if within? { OK } else { PROBLEM });
    }

    println!(
        "bench-http: {} client(s), {} s a phase, against {base}, server {}",
        args.concurrency,
        args.seconds,
        if args.spawn {
            "in a child process (petrel serve)"
        } else {
            "in this process"
        }
    );
    let rss_before = target.rss_kib();
    let mut started = vec![0u64; args.concurrency];
    let mut errors = None;
    for phase in [Phase::Start, Phase::Read, Phase::Work] {
        let flushes_before = load::flushes(&http, &base).await;
        let began = Instant::now();
        let deadline = began + Duration::from_secs(args.seconds);
        let clients: Vec<_> = (0..args.concurrency)
            .map(|w| {
                let client =
                    load::client(http.clone(), base.clone(), w, phase, started[w], deadline);
                tokio::spawn(client)
            })
            .collect();
        let mut tally = Tally::default();
        for (w, c) in clients.into_iter().enumerate() {
            let (t, now) = c.await.context("a client task panicked")?;
            started[w] += now;
            tally.merge(t);
        }
        let seconds = began.elapsed().as_secs_f64();
        let flushes = load::flushes(&http, &base)
            .await
            .zip(flushes_before)
            .map(|(after, before)| after - before);
        println!("{phase:?} phase ({seconds:.1} s):");
        tally.print(seconds);
        if let Some(flushes) = flushes
            && tally.acknowledged() > 0
        {
            println!(
                "  flushes     {flushes} ({:.0}/s, {:.1} acknowledgements per flush)",
                flushes as f64 / seconds,
                tally.acknowledged() as f64 / flushes.max(1) as f64
            );
        }
        errors = errors.or(tally.first_error);
    }
    let rss_after = target.rss_kib();
    target.stop().await?;
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        println!(
            "server RSS: {:.1} MiB before, {:.1} MiB after",
            before as f64 / 1024.0,
            after as f64 / 1024.0
        );
    }
    println!(
        "one flush on this disk (sled, {FLUSH_PROBES} small writes each flushed): p50 {:.2} ms, p99 {:.2} ms",
        flush.0 / 1e3,
        flush.1 / 1e3
    );
    if let Some(first) = &errors {
        eprintln!("first error: {first}");
        return Ok(PROBLEM);
    }
    Ok(OK)
}

/// p50 and p99 (µs) of one small write flushed, in a sled database at
/// `path`: what a client with nothing to share a flush with pays at least.
async fn flush_cost(path: std::path::PathBuf) -> anyhow::Result<(f64, f64)> {
    tokio::task::spawn_blocking(move || {
        let db = sled::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let mut samples = Vec::with_capacity(FLUSH_PROBES);
        for i in 0..FLUSH_PROBES as u64 {
            let began = Instant::now();
            db.insert(i.to_be_bytes(), &[0u8; 100][..])?;
            db.flush()?;
            samples.push(began.elapsed());
        }
        drop(db);
        std::fs::remove_dir_all(&path).ok();
        samples.sort_unstable();
        Ok((
            super::bench::percentile(&samples, 0.50),
            super::bench::percentile(&samples, 0.99),
        ))
    })
    .await
    .context("the flush probe panicked")?
}
