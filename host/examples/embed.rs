//! Petrel embedded in a Rust program: open a [`Host`] (the engine plus the
//! driver that `petrel serve` runs), deploy the order-fulfilment saga,
//! start two orders, wait for them to settle, and read back where they
//! ended.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path guests/Cargo.toml
//! cargo run -p petrel --example embed [-- DATA_DIR]
//! ```

use std::path::Path;
use std::time::Duration;

use petrel::Host;
use petrel::engine::EngineConfig;
use petrel::store::CaseStatus;
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let temp = tempfile::tempdir()?;
    let data = std::env::args()
        .nth(1)
        .map_or_else(|| temp.path().to_path_buf(), Into::into);
    let host = Host::open(EngineConfig::new(&data)).await?;
    let net = host
        .deploy(&repo.join("examples/order-fulfilment/net.toml"))
        .await?;
    println!("deployed {}@{}", net.name, net.version);

    // Durable when `start_case` returns; the driver fires them from then on.
    for (id, carrier) in [("ships", "ok"), ("carrier-down", "down")] {
        let order = json!({ "order_id": id, "amount_cents": 1250, "items": 2, "carrier": carrier });
        host.start_case(&net.name, id, vec![("order".into(), order)])
            .await?;
    }

    for (id, expected) in [
        ("ships", CaseStatus::Completed),
        ("carrier-down", CaseStatus::Aborted),
    ] {
        // `carrier-down` retries shipping on durable timers, then aborts
        // and runs its compensations: a few seconds.
        let mut case = host.case(id)?;
        for _ in 0..600 {
            if !matches!(
                case.record.status,
                CaseStatus::Running | CaseStatus::Compensating
            ) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            case = host.case(id)?;
        }
        println!("case {id}: {}", case.record.status.as_str());
        for t in &case.tokens {
            println!("  {} = {}", t.place, t.payload);
        }
        let history = host.history(id, 0, 1000)?;
        println!("  {} events in its history", history.events.len());
        anyhow::ensure!(
            case.record.status == expected,
            "case {id} ended {}, expected {}",
            case.record.status.as_str(),
            expected.as_str()
        );
    }
    // Stop firing, let firings in flight finish (up to 5 s), flush.
    host.shutdown(Duration::from_secs(5)).await?;
    let report = petrel::store::replay(host.engine().store().as_ref())?;
    anyhow::ensure!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    println!("replay agrees: {} events", report.events);
    Ok(())
}
