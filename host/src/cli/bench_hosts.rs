//! `petrel bench --store URL --hosts N`: durable firings/s of 1, 2, … N
//! hosts sharing one PostgreSQL database, in this process (each host an
//! engine with its own connections, lease and id blocks, as `petrel serve`
//! processes would be), and the database traffic per firing.
//!
//! Each round: a scratch schema; the cases are started by a host that then
//! leaves (so none runs them); then `n` hosts run at once, each adopting
//! cases in batches (`FOR UPDATE SKIP LOCKED`) and firing them, until every
//! case completed. The clock runs from the hosts' start to the last one's
//! end; transactions and round trips are what the `n` hosts asked of the
//! database, divided by the firings.

use std::path::Path;

use petrel::engine::{Engine, EngineConfig, RunOptions};
use petrel::store::Traffic;

use super::bench::{BENCH_NET, Meter, median, order_payload};

/// One measurement of `hosts` hosts.
pub(crate) struct Shared {
    pub(crate) per_second: f64,
    pub(crate) transactions: f64,
    pub(crate) round_trips: f64,
}

/// Runs `cases` one-firing cases on `hosts` hosts sharing a scratch schema
/// of `url`.
async fn shared_rate(
    wasm: &Path,
    dir: &Path,
    url: &str,
    hosts: usize,
    cases: usize,
) -> anyhow::Result<Shared> {
    std::fs::create_dir_all(dir)?;
    let file = dir.join("hosts.toml");
    std::fs::write(
        &file,
        BENCH_NET.replace("GUEST", &wasm.display().to_string()),
    )?;
    let scratch = petrel::store::postgres::Scratch::new(url, "hosts")?;
    // One component cache: compiled once, by the loader's deployment.
    let config = |_host: usize| {
        let mut config = EngineConfig::new(dir.join("data"));
        config.store = Some(scratch.url().to_string());
        config
    };
    let version = {
        let loader = std::sync::Arc::new(Engine::open(config(0)).await?);
        let version = loader.deploy(&file).await?.version;
        let mut starts = tokio::task::JoinSet::new();
        for i in 0..cases {
            let (loader, version) = (loader.clone(), version.clone());
            starts.spawn(async move {
                let token = ("stock_check".to_string(), order_payload(i));
                loader
                    .start_case(&version, &format!("c{i}"), vec![token])
                    .await
            });
        }
        while let Some(started) = starts.join_next().await {
            started??;
        }
        // The loader leaves: its cases wait for a host.
        leave(&loader)?;
        version
    };
    let mut engines = Vec::with_capacity(hosts);
    for i in 1..=hosts {
        let engine = Engine::open(config(i)).await?;
        engine.deployment(&version)?;
        engines.push(std::sync::Arc::new(engine));
    }
    let before = traffic(&engines);
    let meter = Meter::start();
    let mut runs = tokio::task::JoinSet::new();
    for engine in &engines {
        let engine = engine.clone();
        runs.spawn(async move { engine.run(RunOptions::default()).await });
    }
    let mut completed = 0;
    while let Some(run) = runs.join_next().await {
        completed += run??.completed;
    }
    let rate = meter.rate(cases);
    let after = traffic(&engines);
    for engine in &engines {
        leave(engine)?;
    }
    anyhow::ensure!(
        completed == cases as u64,
        "expected {cases} firings on {hosts} host(s), got {completed}"
    );
    let n = cases as f64;
    Ok(Shared {
        per_second: rate.per_second,
        transactions: (after.transactions - before.transactions) as f64 / n,
        round_trips: (after.round_trips - before.round_trips) as f64 / n,
    })
}

/// Makes `engine`'s host leave the database now (before its scratch schema
/// goes).
fn leave(engine: &Engine) -> anyhow::Result<()> {
    if let Some(cluster) = engine.store().cluster() {
        cluster.leave()?;
    }
    Ok(())
}

/// The traffic of `engines` together.
fn traffic(engines: &[std::sync::Arc<Engine>]) -> Traffic {
    let mut sum = Traffic::default();
    for t in engines
        .iter()
        .filter_map(|e| e.store().cluster().map(|c| c.traffic()))
    {
        sum.transactions += t.transactions;
        sum.round_trips += t.round_trips;
    }
    sum
}

/// Measures 1 to `hosts` hosts, `rounds` times each (alternating), and
/// prints each round and the medians.
pub(crate) async fn run(
    wasm: &Path,
    dir: &Path,
    url: &str,
    hosts: usize,
    cases: usize,
    rounds: u32,
) -> anyhow::Result<()> {
    let mut results: Vec<Vec<Shared>> = (0..hosts).map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        for n in 1..=hosts {
            let at = dir.join(format!("hosts-{round}-{n}"));
            let shared = shared_rate(wasm, &at, url, n, cases).await?;
            println!(
                "round {round}: {n} host(s) on postgres: {:.0} firings/s ({cases} cases; {:.3} transactions and {:.2} round trips per firing)",
                shared.per_second, shared.transactions, shared.round_trips
            );
            results[n - 1].push(shared);
        }
    }
    let one = median(&mut results[0].iter().map(|s| s.per_second).collect::<Vec<_>>());
    for (i, runs) in results.iter().enumerate() {
        let rate = median(&mut runs.iter().map(|s| s.per_second).collect::<Vec<_>>());
        let tx = median(&mut runs.iter().map(|s| s.transactions).collect::<Vec<_>>());
        let rt = median(&mut runs.iter().map(|s| s.round_trips).collect::<Vec<_>>());
        println!(
            "{} host(s) sharing postgres, median of {rounds}: {rate:.0} durable firings/s ({:.2} x one host); {tx:.3} transactions, {rt:.2} round trips per firing (targets: >= 5000/s on one host, more hosts not slower, <= 2 transactions per firing)",
            i + 1,
            rate / one
        );
    }
    Ok(())
}
