//! Petrel embedded in a Rust program: deploy the order-fulfilment saga,
//! start two orders, run them, and read back where they ended.
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path guests/Cargo.toml
//! cargo run -p petrel --example embed [-- DATA_DIR]
//! ```

use std::path::Path;

use petrel::engine::{Engine, EngineConfig, RunOptions, decode_payload};
use petrel::store::{CaseStatus, Owner};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let temp = tempfile::tempdir()?;
    let data = std::env::args()
        .nth(1)
        .map_or_else(|| temp.path().to_path_buf(), Into::into);
    let engine = Engine::open(EngineConfig::new(&data)).await?;
    let net = engine
        .deploy(&repo.join("examples/order-fulfilment/net.toml"))
        .await?;
    println!("deployed {}@{}", net.name, net.version);

    for (id, carrier) in [("ships", "ok"), ("carrier-down", "down")] {
        let order = json!({ "order_id": id, "amount_cents": 1250, "items": 2, "carrier": carrier });
        engine
            .start_case(&net.version, id, vec![("order".into(), order)])
            .await?;
    }
    let summary = engine.run(RunOptions::default()).await?;
    println!(
        "fired {}, retried {}, compensated {}",
        summary.completed, summary.retried, summary.compensated
    );

    let store = engine.store();
    for (id, expected) in [
        ("ships", CaseStatus::Completed),
        ("carrier-down", CaseStatus::Aborted),
    ] {
        let case = store.case(id)?.expect("started above");
        println!("case {id}: {}", case.status.as_str());
        for t in store.tokens(&Owner::Case(id.into()))? {
            println!("  {} = {}", t.place, decode_payload(&t.payload));
        }
        anyhow::ensure!(
            case.status == expected,
            "case {id} ended {}, expected {}",
            case.status.as_str(),
            expected.as_str()
        );
    }
    let report = petrel::store::replay(store.as_ref())?;
    anyhow::ensure!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    println!("replay agrees: {} events", report.events);
    Ok(())
}
