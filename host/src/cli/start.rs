//! `petrel start`: deploy a net if needed and start a case on it, in a
//! data directory or on a running `petrel serve`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use petrel::engine::Deployed;
use petrel::limits::{HostLimits, read_bounded};
use petrel::net::{Net, Performer};
use petrel::store::CaseRecord;
use serde_json::{Value, json};

use super::remote::Remote;
use super::{DataArgs, Failure, Format, OK, Outcome, Source, SourceArgs, bad_input, open_or_ask};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The net file (TOML).
    net: PathBuf,
    #[command(flatten)]
    pub(super) source: SourceArgs,
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
    let (deployed, record) = match args.source.source()? {
        Source::Data(data) => local(&args, &data, tokens).await?,
        Source::Url(remote) => remote_start(&args, &remote, tokens).await?,
    };
    for warning in &deployed.warnings {
        eprintln!("warning: {warning}");
    }
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

type Started = (Deployed, CaseRecord);

async fn local(
    args: &Args,
    data: &DataArgs,
    tokens: Vec<(String, Value)>,
) -> Result<Started, Failure> {
    let engine = open_or_ask(data).await?;
    let gate = petrel::verify::GateOptions::allowing(args.allow_problems);
    let deployed = engine.deploy_with(&args.net, &gate).await?;
    let case = args.case.clone().unwrap_or_else(|| {
        format!(
            "case-{:x}",
            petrel::store::Store::next_id(engine.store().as_ref()).unwrap_or(0)
        )
    });
    let record = engine.start_case(&deployed.version, &case, tokens).await?;
    Ok((deployed, record))
}

/// What `POST /v1/nets` answers.
#[derive(serde::Deserialize)]
struct DeployedView {
    name: String,
    version: String,
    new: bool,
    warnings: Vec<String>,
}

/// Uploads the net file with its guests' components (`POST /v1/nets`),
/// then starts the case on that version (`POST /v1/cases`; the server
/// makes up an id when none is given).
async fn remote_start(
    args: &Args,
    remote: &Remote,
    tokens: Vec<(String, Value)>,
) -> Result<Started, Failure> {
    let upload = upload(&args.net)?;
    let body = json!({ "source": upload.0, "components": upload.1, "allow_problems": args.allow_problems });
    let d: DeployedView = remote.post(&["v1", "nets"], Some(&body)).await?;
    let tokens: Vec<Value> = tokens
        .into_iter()
        .map(|(place, payload)| json!({ "place": place, "payload": payload }))
        .collect();
    let mut body = json!({ "net": d.version, "tokens": tokens });
    if let Some(id) = &args.case {
        body["id"] = json!(id);
    }
    let record: CaseRecord = remote.post(&["v1", "cases"], Some(&body)).await?;
    let deployed = Deployed {
        name: d.name,
        version: d.version,
        new: d.new,
        warnings: d.warnings,
    };
    Ok((deployed, record))
}

/// The net file's text and its guests' components (base64, under their
/// paths as declared), each read within the default host limits.
fn upload(net: &Path) -> Result<(String, BTreeMap<String, String>), Failure> {
    let parsed = Net::load(net).map_err(bad_input)?;
    let limits = HostLimits::default();
    let read = |path: &Path, cap: u64| {
        read_bounded(path, cap).map_err(|e| bad_input(anyhow::anyhow!("{}: {e}", path.display())))
    };
    let source = String::from_utf8(read(net, limits.net_file_bytes())?)
        .map_err(|e| bad_input(anyhow::anyhow!("{}: {e}", net.display())))?;
    let mut components = BTreeMap::new();
    for t in parsed.transitions() {
        if let Performer::Guest { declared, path } = &t.performer {
            let bytes = read(path, limits.component_bytes())?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            components.insert(declared.clone(), encoded);
        }
    }
    Ok((source, components))
}
