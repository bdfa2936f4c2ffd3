//! `petrel demo`: the order-approval example end to end in a temp dir.

use petrel::engine::{Engine, EngineConfig, RunOptions};
use petrel::store::CaseStatus;
use serde_json::json;

use super::view::event_line;
use super::{OK, Outcome, PROBLEM, guests};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Keep the data directory instead of deleting it (its path is printed).
    #[arg(long)]
    keep: bool,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let root = guests::repo_root();
    println!("building guests in {} ...", root.join("guests").display());
    guests::build(&root)?;
    let dir = tempfile::Builder::new()
        .prefix("petrel-demo-")
        .tempdir()
        .map_err(anyhow::Error::from)?;
    let engine = Engine::open(EngineConfig::new(dir.path())).await?;
    let net = root.join("examples/order-approval/net.toml");
    let deployed = engine.deploy(&net).await?;
    println!(
        "deployed {}@{} from {}",
        deployed.name,
        deployed.version,
        net.display()
    );

    let orders = [
        (
            "o-1",
            json!({ "order_id": "o-1", "customer": "ada", "amount_cents": 25_000, "items": 2 }),
        ),
        (
            "o-2",
            json!({ "order_id": "o-2", "customer": "bob", "amount_cents": 500_000, "items": 1 }),
        ),
        (
            "o-3",
            json!({ "order_id": "o-3", "customer": "cy", "amount_cents": 1_200, "items": 0 }),
        ),
    ];
    for (id, order) in &orders {
        engine
            .start_case(
                &deployed.version,
                id,
                vec![("submitted".into(), order.clone())],
            )
            .await?;
        println!("started case {id}: {order}");
    }
    let summary = engine.run(RunOptions::default()).await?;
    println!(
        "\nran {} firings ({} failed) in {} ms\n",
        summary.completed, summary.failed, summary.elapsed_ms
    );

    let store = engine.store().as_ref();
    let mut all_completed = true;
    for (id, _) in &orders {
        let case = store.case(id)?.expect("case was started");
        all_completed &= case.status == CaseStatus::Completed;
        println!("case {id}: {}", case.status.as_str());
        for e in store.events(Some(id), 0, usize::MAX)? {
            println!("{}", event_line(&e));
        }
        println!();
    }
    let report = petrel::store::replay(store)?;
    let agree = report.mismatches.is_empty();
    println!(
        "replay: {} events rebuild {} tokens; {}",
        report.events,
        report.tokens,
        if agree {
            "the stored marking agrees"
        } else {
            "MISMATCH with the stored marking"
        }
    );
    if args.keep {
        let kept = dir.keep();
        println!(
            "data kept in {} (try `petrel history --data {} --case o-1`)",
            kept.display(),
            kept.display()
        );
    }
    Ok(if all_completed && agree { OK } else { PROBLEM })
}
