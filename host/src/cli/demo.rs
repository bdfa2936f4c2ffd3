//! `petrel demo`: an example end to end in a temp dir — the refund flow (a
//! language model classifies each message, answering offline from a
//! cassette unless pointed at a real endpoint), `--example order-approval`,
//! or `--example order-fulfilment` (retries and saga compensation).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::ValueEnum;
use std::time::{Duration, Instant};

use petrel::Host;
use petrel::engine::{EngineConfig, EngineError};
use petrel::llm::{LlmConfig, LlmProvider};
use petrel::store::{CaseStatus, Event, Owner};
use serde_json::{Value, json};

use super::view::event_line;
use super::{OK, Outcome, PROBLEM, bad_input, demo_workers, guests};

/// The examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Example {
    /// examples/refund: LLM triage, rule-based eligibility, human hand-off.
    Refund,
    /// examples/order-approval: deterministic guests, fork and join.
    OrderApproval,
    /// examples/order-fulfilment: a saga; shipping retried, then
    /// compensated (release charge, release stock) when it fails for good.
    OrderFulfilment,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Which example to run.
    #[arg(long, value_enum, default_value_t = Example::Refund)]
    example: Example,
    /// Host configuration for the refund example's language model (default:
    /// examples/refund/petrel.toml, which answers from examples/refund/cassette.json).
    #[arg(long, value_name = "FILE", conflicts_with = "base_url")]
    config: Option<PathBuf>,
    /// Ask this OpenAI-compatible endpoint instead of the cassette (e.g.
    /// `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`); the key,
    /// if any, is read from $OPENAI_API_KEY.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// The model to ask with --base-url.
    #[arg(long, default_value = "gpt-4o-mini")]
    model: String,
    /// Keep the data directory instead of deleting it (its path is printed).
    #[arg(long)]
    keep: bool,
}

/// The refund requests the demo starts, one case each.
fn refund_requests() -> Vec<(&'static str, Value)> {
    let r = |id: &str, customer: &str, order: &str, message: &str, age: u32, cents: u64| json!({ "request_id": id, "customer": customer, "order_id": order, "message": message, "order_age_days": age, "amount_cents": cents });
    vec![
        (
            "r-1",
            r(
                "r-1",
                "ada",
                "o-1001",
                "The blender I ordered arrived with a cracked jug. I'd like my money back, please.",
                6,
                4_999,
            ),
        ),
        (
            "r-2",
            r(
                "r-2",
                "bob",
                "o-1002",
                "Where is my parcel? The tracking page has not changed for a week.",
                9,
                2_500,
            ),
        ),
        (
            "r-3",
            r(
                "r-3",
                "cy",
                "o-1003",
                "Please refund the headphones, they stopped working.",
                95,
                12_900,
            ),
        ),
        (
            "r-4",
            r(
                "r-4",
                "dee",
                "o-1004",
                "Refund please: the laptop is not what the page advertised.",
                10,
                129_900,
            ),
        ),
        (
            "r-5",
            r(
                "r-5",
                "eve",
                "o-1005",
                "The sofa colour looks a bit different from the photos, not sure what to do about it.",
                3,
                89_000,
            ),
        ),
        (
            "r-6",
            r(
                "r-6",
                "fay",
                "o-1006",
                "I want a refund for my TV. It is the third one that broke, and I have a long story to tell about your support line.",
                12,
                64_900,
            ),
        ),
    ]
}

/// The order-approval demo's orders.
fn orders() -> Vec<(&'static str, Value)> {
    vec![
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
    ]
}

/// The language model for the refund demo, and where it comes from.
fn llm(
    args: &Args,
    root: &std::path::Path,
) -> Result<(Arc<dyn LlmProvider>, String), super::Failure> {
    if let Some(url) = &args.base_url {
        let mut config = LlmConfig::openai(url.as_str(), args.model.as_str());
        if std::env::var_os("OPENAI_API_KEY").is_some_and(|v| !v.is_empty()) {
            config.api_key_env = "OPENAI_API_KEY".into();
        }
        let provider = petrel::llm::provider(&config).map_err(bad_input)?;
        return Ok((provider, format!("{url} (model {})", args.model)));
    }
    let file = args
        .config
        .clone()
        .unwrap_or_else(|| root.join("examples/refund/petrel.toml"));
    let config = petrel::config::Config::load(&file).map_err(bad_input)?;
    let Some(provider) = config.llm_provider().map_err(bad_input)? else {
        return Err(bad_input(anyhow::anyhow!(
            "`{}` has no [llm] table; the refund demo needs a language model",
            file.display()
        )));
    };
    let what = format!(
        "{} ({} {})",
        file.display(),
        provider.name(),
        provider.model()
    );
    Ok((provider, what))
}

pub(crate) async fn run(args: Args) -> Outcome {
    let examples = guests::build()?;
    let root = examples.root;
    let (net, cases, provider) = match args.example {
        Example::Refund => {
            let (provider, what) = llm(&args, &root)?;
            println!("language model: {what}");
            (
                root.join("examples/refund/net.toml"),
                refund_requests(),
                Some(provider),
            )
        }
        Example::OrderApproval => (
            root.join("examples/order-approval/net.toml"),
            orders(),
            None,
        ),
        Example::OrderFulfilment => (
            root.join("examples/order-fulfilment/net.toml"),
            fulfilment_orders(),
            None,
        ),
    };
    let dir = tempfile::Builder::new()
        .prefix("petrel-demo-")
        .tempdir()
        .map_err(anyhow::Error::from)?;
    let mut config = EngineConfig::new(dir.path());
    config.llm = provider;
    // The always-on host (what `petrel serve` runs): its driver fires cases
    // as they start.
    let host = Host::open(config).await?;
    let deployed = host.deploy(&net).await?;
    println!(
        "deployed {}@{} from {}",
        deployed.name,
        deployed.version,
        net.display()
    );
    let start = net_start_place(&host, &deployed.version)?;
    let started = Instant::now();
    // The refund flow's payment worker: trusted code outside the sandbox
    // that claims `pay_refund` firings, pays, and completes them.
    // And the person at the dashboard's inbox, who reviews the requests the
    // model was unsure of (or too slow for).
    let workers = if args.example == Example::Refund {
        vec![
            tokio::spawn(demo_workers::pay_refunds(host.clone())),
            tokio::spawn(demo_workers::review_refunds(host.clone())),
        ]
    } else {
        Vec::new()
    };
    for (id, payload) in &cases {
        host.start_case(
            &deployed.version,
            id,
            vec![(start.clone(), payload.clone())],
        )
        .await?;
        println!("started case {id}: {payload}");
    }
    let ids: Vec<&str> = cases.iter().map(|(id, _)| *id).collect();
    let all_settled = settled(&host, &ids).await?;
    for worker in workers {
        worker.abort();
    }
    host.shutdown(Duration::from_secs(5)).await?;
    println!(
        "\nall cases {} in {} ms\n",
        if all_settled {
            "settled"
        } else {
            "NOT settled"
        },
        started.elapsed().as_millis()
    );

    let store = host.engine().store().as_ref();
    // Every case must reach an end: completed, or aborted with its
    // compensations done.
    let mut all_ended = true;
    let mut ends = Vec::new();
    let mut tokens_used = 0u64;
    for (id, _) in &cases {
        let case = store.case(id)?.context("a started case is missing")?;
        all_ended &= matches!(case.status, CaseStatus::Completed | CaseStatus::Aborted);
        let places: Vec<String> = store
            .tokens(&Owner::Case(id.to_string()))?
            .into_iter()
            .map(|t| t.place)
            .collect();
        println!(
            "case {id}: {} in {}",
            case.status.as_str(),
            places.join(", ")
        );
        for e in store.events(Some(id), 0, usize::MAX)? {
            if let Event::LlmExchange(x) = &e.event
                && x.replayed_from.is_none()
            {
                tokens_used += x.usage.total();
            }
            println!("{}", event_line(&e));
        }
        println!();
        ends.push(format!("{id} → {}", places.join(", ")));
    }
    println!("where the cases ended: {}", ends.join("; "));
    if args.example == Example::Refund {
        println!("language-model tokens used: {tokens_used}");
    }
    let report = petrel::store::replay(store)?;
    let agree = report.mismatches.is_empty();
    println!(
        "replay (no model is asked): {} events rebuild {} tokens; {}",
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
            "data kept in {} (try `petrel history --data {} --case {}`)",
            kept.display(),
            kept.display(),
            cases[0].0
        );
    }
    Ok(if all_ended && agree { OK } else { PROBLEM })
}

/// The fulfilment demo's orders: one ships; for two the carrier is down, so
/// shipping is retried, then the case aborts and is compensated (for the
/// last, the first compensation attempt fails too and is retried).
fn fulfilment_orders() -> Vec<(&'static str, Value)> {
    let o = |id: &str, cents: u64, carrier: &str, undo_fails: u32| json!({ "order_id": id, "amount_cents": cents, "items": 2, "carrier": carrier, "undo_fails": undo_fails });
    vec![
        ("f-1", o("f-1", 4_200, "ok", 0)),
        ("f-2", o("f-2", 1_999, "down", 0)),
        ("f-3", o("f-3", 12_500, "down", 1)),
    ]
}

/// Waits until no case in `ids` is running or compensating (at most two
/// minutes); whether they all got there.
async fn settled(host: &Host, ids: &[&str]) -> Result<bool, EngineError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let mut busy = false;
        for id in ids {
            let status = host.case(id)?.record.status;
            busy |= matches!(status, CaseStatus::Running | CaseStatus::Compensating);
        }
        if !busy {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(false)
}

/// The net's one `start` place.
fn net_start_place(host: &Host, version: &str) -> Result<String, super::Failure> {
    let dep = host.engine().deployment(version)?;
    let start = dep
        .net
        .places()
        .iter()
        .find(|p| p.start)
        .context("the example net has no start place")?;
    Ok(start.name.clone())
}
