//! `petrel cancel`: aborts a case as a guest's `abort` does — its firings
//! are withdrawn and the compensations of its completed steps run, newest
//! first — in a data directory or on a running `petrel serve`.

use petrel::store::CaseRecord;
use serde_json::json;

use super::{Format, OK, Outcome, Source, SourceArgs, open_or_ask};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The case.
    case: String,
    /// Why (recorded in the case's history).
    #[arg(long, default_value = "cancelled by an operator")]
    reason: String,
    #[command(flatten)]
    operator: Operator,
    #[command(flatten)]
    source: SourceArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Who the case history says did it: `--by`, `cli` when not given.
#[derive(Debug, clap::Args)]
pub(crate) struct Operator {
    /// Who does it (recorded in the case's history).
    #[arg(long, default_value = "cli")]
    pub(crate) by: String,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let (record, next) = match args.source.source()? {
        Source::Data(data) => {
            let engine = open_or_ask(&data).await?;
            let record = engine
                .cancel_case(&args.case, &args.operator.by, &args.reason)
                .await?;
            (record, "run with the next `petrel run`")
        }
        Source::Url(remote) => {
            let path = ["v1", "cases", args.case.as_str(), "cancel"];
            let body = json!({ "reason": args.reason, "by": args.operator.by });
            let record: CaseRecord = remote.post(&path, Some(&body)).await?;
            (record, "run on the server")
        }
    };
    match args.format {
        Format::Json => println!("{}", json!(record)),
        Format::Text => {
            let steps = record.saga.as_ref().map_or(0, |s| s.steps.len());
            println!(
                "cancelled case {} on {}@{}: {}{}",
                record.id,
                record.net,
                record.version,
                record.status.as_str(),
                match steps {
                    0 => String::new(),
                    n => format!(" ({n} compensation(s) to {next})"),
                }
            );
        }
    }
    Ok(OK)
}
