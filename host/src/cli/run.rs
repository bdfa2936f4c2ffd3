//! `petrel run`: fire until nothing is enabled.

use petrel::engine::RunOptions;

use super::{DataArgs, Format, OK, Outcome, PROBLEM, open};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(super) data: DataArgs,
    /// Start at most this many firings.
    #[arg(long, value_name = "N")]
    max_firings: Option<u64>,
    /// Return when nothing can fire now instead of waiting for retries on
    /// their backoff timers (they are durable: a later run resumes them).
    #[arg(long)]
    no_wait: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let engine = open(&args.data).await?;
    let summary = engine
        .run(RunOptions {
            max_firings: args.max_firings,
            no_wait: args.no_wait,
        })
        .await?;
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&summary).expect("summary serializes")
        ),
        Format::Text => {
            let cases: Vec<String> = summary
                .cases
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect();
            println!(
                "fired {} (declined {}, failed {}, retried {}, dead-lettered {}), aborted {} case(s), compensated {}, {} retry(ies) waiting, {} external firing(s) waiting for a worker (`petrel serve`), in {} ms; cases: {}",
                summary.completed,
                summary.declined,
                summary.failed,
                summary.retried,
                summary.dead_lettered,
                summary.aborted,
                summary.compensated,
                summary.waiting,
                summary.awaiting_workers,
                summary.elapsed_ms,
                if cases.is_empty() {
                    "none".to_string()
                } else {
                    cases.join(", ")
                }
            );
        }
    }
    Ok(
        if ["stuck", "compensation_failed"]
            .iter()
            .any(|s| summary.cases.contains_key(*s))
        {
            PROBLEM
        } else {
            OK
        },
    )
}
