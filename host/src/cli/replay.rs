//! `petrel replay --verify`: rebuild the marking from the log alone.

use super::{DataArgs, Format, OK, Outcome, PROBLEM, open};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Compare the rebuilt marking with the stored one (exit 1 if they differ).
    #[arg(long)]
    verify: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let engine = open(&args.data).await?;
    let report = petrel::store::replay(engine.store().as_ref())?;
    let agree = report.mismatches.is_empty();
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({ "events": report.events, "tokens": report.tokens, "agree": agree, "mismatches": report.mismatches })
        ),
        Format::Text => {
            println!(
                "replayed {} events: {} tokens",
                report.events, report.tokens
            );
            if args.verify {
                if agree {
                    println!("the stored marking agrees with the log");
                } else {
                    for m in &report.mismatches {
                        println!("mismatch: {m}");
                    }
                }
            }
        }
    }
    Ok(if args.verify && !agree { PROBLEM } else { OK })
}
