//! `petrel start`: deploy a net if needed and start a case on it.

use std::path::PathBuf;

use serde_json::json;

use super::{DataArgs, Format, OK, Outcome, bad_input, open};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The net file (TOML).
    net: PathBuf,
    #[command(flatten)]
    pub(super) data: DataArgs,
    /// Case id (default: generated).
    #[arg(long)]
    case: Option<String>,
    /// A token to start with, `PLACE=JSON` (repeatable; default: one `null`
    /// token in each `start` place).
    #[arg(long = "token", value_name = "PLACE=JSON")]
    tokens: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Deploy the net even when its check (`petrel check`) finds problems:
    /// they are printed as warnings instead of refusing the net.
    #[arg(long)]
    allow_problems: bool,
}

fn parse_token(arg: &str) -> Result<(String, serde_json::Value), String> {
    let Some((place, json)) = arg.split_once('=') else {
        return Err(format!(
            "--token `{arg}`: expected PLACE=JSON, e.g. --token 'submitted={{\"order_id\":\"o-1\"}}'"
        ));
    };
    let value = serde_json::from_str(json).map_err(|e| {
        format!(
            "--token `{arg}`: the payload is not JSON ({e}); quote strings, e.g. {place}='\"text\"'"
        )
    })?;
    Ok((place.to_string(), value))
}

pub(crate) async fn run(args: Args) -> Outcome {
    let tokens = args
        .tokens
        .iter()
        .map(|t| parse_token(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_input(anyhow::anyhow!(e)))?;
    let engine = open(&args.data).await?;
    let gate = petrel::verify::GateOptions::allowing(args.allow_problems);
    let deployed = engine.deploy_with(&args.net, &gate).await?;
    for warning in &deployed.warnings {
        eprintln!("warning: {warning}");
    }
    let case = args.case.unwrap_or_else(|| {
        format!(
            "case-{:x}",
            petrel::store::Store::next_id(engine.store().as_ref()).unwrap_or(0)
        )
    });
    let record = engine.start_case(&deployed.version, &case, tokens).await?;
    match args.format {
        Format::Json => println!(
            "{}",
            json!({ "net": deployed.name, "version": deployed.version, "deployed": deployed.new, "warnings": deployed.warnings, "case": record.id })
        ),
        Format::Text => {
            if deployed.new {
                println!("deployed {}@{}", deployed.name, deployed.version);
            }
            println!(
                "started case {} on {}@{}",
                record.id, deployed.name, deployed.version
            );
        }
    }
    Ok(OK)
}
