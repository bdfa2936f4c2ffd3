//! `petrel compact`: moves the log entries of finished cases into an
//! archive file, keeping each case's record, final tokens and one summary
//! entry (see `petrel::retention`).

use std::path::PathBuf;
use std::time::Duration;

use petrel::retention::Policy;
use serde_json::json;

use super::history::archive_dir;
use super::{DataArgs, Format, OK, Outcome, engine_config, open};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Keep this many most recently finished cases whole (default: the
    /// config file's `[retention] keep_last`, else 0).
    #[arg(long, value_name = "N")]
    keep_last: Option<usize>,
    /// Only cases finished at least this long ago, e.g. `7d`, `12h`
    /// (default: `[retention] finished_before`, else 0s).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    finished_before: Option<Duration>,
    /// Most cases this run compacts (default: `[retention] max_cases`, else 10000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_cases: Option<u64>,
    /// Where the archive file goes (default: `[retention] archive_dir`,
    /// else DATA/archive).
    #[arg(long, value_name = "DIR")]
    archive_dir: Option<PathBuf>,
    /// Leave the store's files as they are. By default, after compacting,
    /// the store is rewritten into fresh files (`petrel::store::vacuum`),
    /// so the space freed goes back to the filesystem now rather than as
    /// later writes let sled reclaim it; that needs free disk for one copy
    /// of what the store keeps.
    #[arg(long)]
    no_vacuum: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn duration(text: &str) -> Result<Duration, String> {
    petrel::config::parse_duration(text)
}

pub(crate) async fn run(args: Args) -> Outcome {
    let (_, config) = engine_config(&args.data)?;
    // PostgreSQL reclaims the rows itself (autovacuum); sled's directory
    // is copied to give its space back.
    let postgres = args.data.in_postgres(&config);
    let archive = archive_dir(&args.data.dir(), args.archive_dir.as_ref(), &config);
    let mut policy = config
        .retention
        .map(|r| r.policy)
        .unwrap_or_else(Policy::default);
    if let Some(n) = args.keep_last {
        policy.keep_last = n;
    }
    if let Some(d) = args.finished_before {
        policy.finished_before_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    }
    if let Some(n) = args.max_cases {
        policy.max_cases = n as usize;
    }
    let db = args.data.dir().join("db");
    let before = petrel::store::bytes_under(&db);
    let engine = open(&args.data).await?;
    let now = engine.clock().now_ms();
    let store = engine.store().clone();
    let report = tokio::task::spawn_blocking(move || {
        petrel::retention::compact(store.as_ref(), &archive, &policy, now)
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(petrel::engine::EngineError::from)?;
    drop(engine);
    if !args.no_vacuum && report.cases > 0 && !postgres {
        let data = args.data.dir();
        tokio::task::spawn_blocking(move || petrel::store::vacuum(&data))
            .await
            .map_err(anyhow::Error::from)??;
    }
    let after = petrel::store::bytes_under(&db);
    match args.format {
        Format::Json => println!(
            "{}",
            json!({
                "cases": report.cases,
                "events": report.events,
                "archive": report.archive,
                "skipped": report.skipped,
                "store_bytes_before": before,
                "store_bytes_after": after,
            })
        ),
        Format::Text => {
            match &report.archive {
                Some(file) => println!(
                    "compacted {} case(s): {} event(s) moved to {}",
                    report.cases,
                    report.events,
                    file.display()
                ),
                None => println!("nothing to compact"),
            }
            for (case, why) in &report.skipped {
                println!("left case {case} as it was: {why}");
            }
            println!(
                "store: {:.1} MiB before, {:.1} MiB after",
                before as f64 / 1048576.0,
                after as f64 / 1048576.0
            );
        }
    }
    Ok(OK)
}
