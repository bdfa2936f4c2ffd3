//! `petrel history`: a case's event log.

use super::view::event_line;
use super::{DataArgs, Format, OK, Outcome, bad_input, open};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// The case.
    #[arg(long)]
    case: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let engine = open(&args.data).await?;
    let store = engine.store().as_ref();
    let case = store.case(&args.case)?.ok_or_else(|| {
        bad_input(anyhow::anyhow!(
            "no case `{}` in {}",
            args.case,
            args.data.data.display()
        ))
    })?;
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events(Some(&case.id), after, 1024)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        events.extend(page);
    }
    match args.format {
        Format::Json => {
            // Token payloads come out decoded (see `TokenRecord`).
            println!("{}", serde_json::json!({ "case": case, "events": events }));
        }
        Format::Text => {
            println!(
                "case {} on {}@{}: {}",
                case.id,
                case.net,
                case.version,
                case.status.as_str()
            );
            for e in &events {
                println!("{}", event_line(e));
            }
        }
    }
    Ok(OK)
}
