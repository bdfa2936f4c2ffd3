//! The order-fulfilment saga with real effects
//! (`examples/order-fulfilment/net-workers.toml`): a ledger standing in
//! for the stock and payment systems, and the workers that reserve, charge
//! and, when a case aborts, refund and release.
//!
//! ```text
//! cargo run -p petrel --example fulfilment -- ledger --listen 127.0.0.1:9090
//! cargo run -p petrel --example fulfilment -- worker --role payment --ledger http://127.0.0.1:9090
//! cargo run -p petrel --example fulfilment -- worker --role stock --ledger http://127.0.0.1:9090
//! ```
//!
//! Workers find `petrel serve` at `--url` (or `PETREL_URL`; default
//! `http://127.0.0.1:8080`) and send `PETREL_API_TOKEN` when it is set.

mod ledger;
mod worker;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Ledger and workers of the order-fulfilment saga")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the ledger: stock reservations and payments, idempotent by key.
    Ledger {
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: String,
    },
    /// Claim and perform the role's external firings and compensations.
    Worker {
        #[arg(long, value_enum)]
        role: worker::Role,
        #[arg(long, env = "PETREL_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "http://127.0.0.1:9090")]
        ledger: String,
        /// Exit after this many effects, before completing the last one's
        /// firing (to show that nothing is done twice).
        #[arg(long)]
        crash_after_effects: Option<u64>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Ledger { listen } => ledger::serve(&listen).await,
        Command::Worker {
            role,
            url,
            ledger,
            crash_after_effects,
        } => {
            let worker = worker::Worker {
                petrel: url.trim_end_matches('/').to_string(),
                token: std::env::var("PETREL_API_TOKEN")
                    .ok()
                    .filter(|t| !t.is_empty()),
                ledger: ledger.trim_end_matches('/').to_string(),
                name: format!("{role:?} worker").to_lowercase(),
                crash_after: crash_after_effects,
                http: reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(10))
                    .build()?,
            };
            worker::run(worker, role).await
        }
    }
}
