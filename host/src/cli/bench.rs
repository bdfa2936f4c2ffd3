//! `petrel bench`: firing costs and throughput, measured in one run.
//!
//! Prints (1) fresh-instance firing latency (instantiate + `decide` + drop)
//! p50/p99; (2) the raw sled transaction rate (one transaction over two trees
//! removing 2 keys and inserting 2 values, no flush, sled configured as the
//! store configures it); (3) durable end-to-end firings/s through the engine
//! (reserve, guest, check, commit, group flush) and its ratio to (2).
//!
//! (2) and (3) alternate for several rounds, each on a fresh directory, and
//! the medians are reported: on a small, noisy machine one round of either
//! can be off by a factor of two. Each also reports the process CPU time
//! (all threads) it took per transaction or firing and the cores that kept
//! busy: the raw loop is not single-threaded (sled writes every
//! transaction's log on its own thread pool), and the end-to-end run shares
//! the same cores with its guests. Load on the machine moves these too:
//! compare two builds by alternating runs.

use std::path::Path;
use std::time::{Duration, Instant};

use petrel::Net;
use petrel::engine::{Engine, EngineConfig, RunOptions};
use petrel::sandbox::{Determinism, Firing, Sandbox, SandboxConfig, Token};
use sled::Transactional;

use super::{OK, Outcome, guests};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Guest calls for the latency measurement.
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Raw sled transactions.
    #[arg(long, default_value_t = 20_000)]
    transactions: usize,
    /// Cases (one firing each) for the end-to-end measurement.
    #[arg(long, default_value_t = 5000)]
    cases: usize,
    /// Rounds of the raw and end-to-end measurements, alternated.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Measure this component instead (any language): compile time, cached
    /// load time, fresh-instance firing p50/p99.
    #[arg(long, value_name = "FILE")]
    guest: Option<std::path::PathBuf>,
    /// With --guest: the place of the one input token.
    #[arg(long, default_value = "start", requires = "guest")]
    place: String,
    /// With --guest: the input token's payload (JSON).
    #[arg(long, default_value = r#"{"message":"bench"}"#, requires = "guest")]
    payload: String,
    /// Also measure the end-to-end rate on this PostgreSQL database (rounds
    /// alternate with sled's, each in a scratch schema dropped after).
    #[arg(long, value_name = "URL", env = "PETREL_STORE")]
    store: Option<String>,
    /// With --store: also measure 1 to N hosts sharing the database (in
    /// this process), with the transactions and round trips per firing.
    #[arg(long, value_name = "N", requires = "store", value_parser = clap::value_parser!(u32).range(1..=8))]
    hosts: Option<u32>,
}

pub(crate) const BENCH_NET: &str = r#"
[net]
name = "bench"
[places.stock_check]
start = true
[places.stock_reserved]
final = true
[transitions.reserve_stock]
guest = "GUEST"
inputs = { stock_check = 1 }
outcomes.reserved = { stock_reserved = 1 }
"#;

/// The `p` quantile (0 to 1) of `sorted`, in microseconds.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// The median of `values` (sorts them).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// CPU time this process has used so far, all threads together; `None`
/// where the platform has no per-process CPU clock.
fn cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }
    #[cfg(not(unix))]
    None
}

/// A measured rate, and the CPU time each unit of work took.
pub(crate) struct Rate {
    pub(crate) per_second: f64,
    elapsed: Duration,
    cpu_us: Option<f64>,
}

impl Rate {
    /// CPU per unit, and how many cores that kept busy on average (sled
    /// writes each transaction's log on its own threads, so even the raw
    /// loop uses more than one).
    fn cpu(&self) -> String {
        self.cpu_us.map_or_else(
            || "CPU n/a".into(),
            |us| {
                let cores = us * self.per_second / 1e6;
                format!("{us:.1} µs CPU each, {cores:.1} cores busy")
            },
        )
    }
}

/// Wall-clock and CPU time from its start.
pub(crate) struct Meter {
    started: Instant,
    cpu: Option<Duration>,
}

impl Meter {
    pub(crate) fn start() -> Meter {
        Meter {
            cpu: cpu_time(),
            started: Instant::now(),
        }
    }

    /// The rate of `n` units of work done since the start.
    pub(crate) fn rate(&self, n: usize) -> Rate {
        let elapsed = self.started.elapsed();
        let cpu_us = self
            .cpu
            .zip(cpu_time())
            .map(|(before, after)| (after - before).as_secs_f64() * 1e6 / n as f64);
        Rate {
            per_second: n as f64 / elapsed.as_secs_f64(),
            elapsed,
            cpu_us,
        }
    }
}

pub(crate) fn order_payload(i: usize) -> serde_json::Value {
    serde_json::json!({ "order_id": format!("o-{i}"), "customer": "bench", "amount_cents": 1000 + i, "items": 1 + i % 3 })
}

async fn fresh_instance_latency(
    wasm: &Path,
    dir: &Path,
    calls: usize,
) -> anyhow::Result<Vec<Duration>> {
    let text = BENCH_NET.replace("GUEST", &wasm.display().to_string());
    let net = Net::parse(&text, dir.join("bench.toml"))?;
    let sandbox = Sandbox::new(SandboxConfig {
        instance_slots: 16,
        cache_dir: Some(dir.join("cache")),
        ..SandboxConfig::default()
    })?;
    let guest = sandbox.load(&net.transitions()[0])?;
    let payload = rmp_serde::to_vec_named(&order_payload(1))?;
    let firing = Firing {
        net: "bench".into(),
        version: "v".into(),
        transition: "reserve_stock".into(),
        case_id: "c".into(),
        attempt: 1,
        inputs: vec![Token {
            place: "stock_check".into(),
            payload,
        }],
        compensating: None,
    };
    let det = Determinism {
        now_unix_ms: 0,
        seed: [7; 32],
    };
    for _ in 0..50 {
        sandbox
            .call(&guest, &firing, det)
            .await
            .decision
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let result = sandbox.call(&guest, &firing, det).await;
        samples.push(started.elapsed());
        result.decision.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    samples.sort();
    Ok(samples)
}

fn raw_sled_rate(dir: &Path, n: usize) -> anyhow::Result<Rate> {
    let db = petrel::store::SledStore::sled_config(dir).open()?;
    let (a, b) = (db.open_tree("a")?, db.open_tree("b")?);
    for i in 0..2 * n as u64 {
        a.insert(i.to_be_bytes(), &[0u8; 32][..])?;
    }
    let meter = Meter::start();
    for i in 0..n as u64 {
        (&a, &b)
            .transaction(|(a, b)| {
                a.remove(&(2 * i).to_be_bytes())?;
                a.remove(&(2 * i + 1).to_be_bytes())?;
                b.insert(&(2 * i).to_be_bytes(), &[1u8; 32][..])?;
                b.insert(&(2 * i + 1).to_be_bytes(), &[1u8; 32][..])?;
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(meter.rate(n))
}

async fn end_to_end_rate(
    wasm: &Path,
    dir: &Path,
    cases: usize,
    store: Option<&str>,
) -> anyhow::Result<Rate> {
    std::fs::create_dir_all(dir)?;
    let file = dir.join("e2e.toml");
    std::fs::write(
        &file,
        BENCH_NET.replace("GUEST", &wasm.display().to_string()),
    )?;
    let mut config = EngineConfig::new(dir.join("data"));
    // Each round on PostgreSQL in a scratch schema, dropped after.
    let scratch = store
        .map(|url| petrel::store::postgres::Scratch::new(url, "bench"))
        .transpose()?;
    config.store = scratch.as_ref().map(|s| s.url().to_string());
    let engine = std::sync::Arc::new(Engine::open(config).await?);
    let version = engine.deploy(&file).await?.version;
    // Started concurrently: their flushes group-commit (setup, not measured).
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..cases {
        let (engine, version) = (engine.clone(), version.clone());
        let id = format!("c{i}");
        starts.spawn(async move {
            let token = ("stock_check".to_string(), order_payload(i));
            engine.start_case(&version, &id, vec![token]).await
        });
    }
    while let Some(started) = starts.join_next().await {
        started??;
    }
    let meter = Meter::start();
    let summary = engine.run(RunOptions::default()).await?; // ends with a flush
    let rate = meter.rate(cases);
    anyhow::ensure!(
        summary.completed == cases as u64,
        "expected {cases} firings, got {summary:?}"
    );
    Ok(rate)
}

pub(crate) async fn run(args: Args) -> Outcome {
    if let Some(guest) = &args.guest {
        return super::bench_guest::run(guest, args.calls, &args.place, &args.payload).await;
    }
    let wasm = guests::build()?.components.join("reserve_stock.wasm");
    let dir = tempfile::Builder::new()
        .prefix("petrel-bench-")
        .tempdir()
        .map_err(anyhow::Error::from)?;
    let profile = if cfg!(debug_assertions) {
        "dev (debug assertions on: numbers are pessimistic)"
    } else {
        "release"
    };
    println!(
        "petrel bench ({profile} build, {} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let samples = fresh_instance_latency(&wasm, dir.path(), args.calls).await?;
    println!(
        "fresh-instance firing (instantiate + decide + drop), {} calls: p50 {:.1} µs, p99 {:.1} µs (target p50 <= 25 µs)",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99)
    );

    let (mut raws, mut e2es, mut ratios, mut costs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut pgs, mut pg_ratios) = (Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let raw = raw_sled_rate(&dir.path().join(format!("raw-{round}")), args.transactions)?;
        let e2e_dir = dir.path().join(format!("e2e-{round}"));
        let e2e = end_to_end_rate(&wasm, &e2e_dir, args.cases, None).await?;
        if let Some(url) = &args.store {
            let pg_dir = dir.path().join(format!("pg-{round}"));
            let pg = end_to_end_rate(&wasm, &pg_dir, args.cases, Some(url)).await?;
            println!(
                "round {round}: postgres end-to-end {:.0} firings/s ({} in {} ms; {}); postgres / sled {:.2}",
                pg.per_second,
                args.cases,
                pg.elapsed.as_millis(),
                pg.cpu(),
                pg.per_second / e2e.per_second
            );
            pgs.push(pg.per_second);
            pg_ratios.push(pg.per_second / e2e.per_second);
        }
        let ratio = e2e.per_second / raw.per_second;
        println!(
            "round {round}: raw sled {:.0} tx/s ({}); end-to-end {:.0} firings/s ({} in {} ms, flush included; {}); ratio {ratio:.2}",
            raw.per_second,
            raw.cpu(),
            e2e.per_second,
            args.cases,
            e2e.elapsed.as_millis(),
            e2e.cpu(),
        );
        raws.push(raw.per_second);
        e2es.push(e2e.per_second);
        ratios.push(ratio);
        if let (Some(r), Some(e)) = (raw.cpu_us, e2e.cpu_us) {
            costs.push(e / r);
        }
    }
    println!(
        "raw sled transactions (2 trees, remove 2 + insert 2, no flush), {} each: median {:.0}/s",
        args.transactions,
        median(&mut raws)
    );
    println!(
        "durable end-to-end firings with group commit, {} cases each: median {:.0}/s",
        args.cases,
        median(&mut e2es)
    );
    println!(
        "ratio end-to-end / raw sled, median of {} rounds: {:.2} (target >= 0.7)",
        args.rounds,
        median(&mut ratios)
    );
    if !pgs.is_empty() {
        println!(
            "durable end-to-end firings on postgres, {} cases each: median {:.0}/s; postgres / sled median {:.2}",
            args.cases,
            median(&mut pgs),
            median(&mut pg_ratios)
        );
    }
    if let (Some(url), Some(hosts)) = (&args.store, args.hosts) {
        let at = dir.path();
        super::bench_hosts::run(&wasm, at, url, hosts as usize, args.cases, args.rounds).await?;
    }
    if !costs.is_empty() {
        println!(
            "CPU time per firing / per raw transaction (all threads), median of {} rounds: {:.2}",
            costs.len(),
            median(&mut costs)
        );
    }
    Ok(OK)
}
