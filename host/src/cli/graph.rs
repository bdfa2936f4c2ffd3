//! `petrel graph`: draws a net as a Mermaid flowchart or Graphviz DOT,
//! optionally with a case's live marking from a data directory or a running
//! `petrel serve`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use petrel::net::Net;
use petrel::store::postgres::PgStore;
use petrel::store::{CaseRecord, Owner, SledStore, Store};
use petrel::verify::{GraphFormat, render};

use super::remote::Remote;
use super::{DataArgs, Failure, OK, Outcome, Source, SourceArgs, bad_input, engine_config, held};

/// Tokens per place.
type Counts = BTreeMap<String, usize>;

/// Drawing format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Drawing {
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Net file (`.toml`).
    file: PathBuf,
    #[arg(long, value_enum, default_value_t = Drawing::Mermaid)]
    format: Drawing,
    /// Where the case to overlay is (with `--case`).
    #[command(flatten)]
    source: SourceArgs,
    /// Show this case's tokens in the places (from `--data` or `--url`).
    #[arg(long, value_name = "ID")]
    case: Option<String>,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let net = Net::load(&args.file).map_err(bad_input)?;
    let overlay = match &args.case {
        Some(case) => Some(match args.source.source()? {
            Source::Data(data) => marking(&net, &data, case)?,
            Source::Url(remote) => remote_marking(&net, &remote, case).await?,
        }),
        None if args.source.data.is_some()
            || args.source.url.is_some()
            || args.source.store.is_some() =>
        {
            return Err(bad_input(anyhow::anyhow!(
                "--data and --url name where a case is: add --case ID to draw its tokens"
            )));
        }
        None => None,
    };
    let format = match args.format {
        Drawing::Mermaid => GraphFormat::Mermaid,
        Drawing::Dot => GraphFormat::Dot,
    };
    print!("{}", render(&net, format, overlay.as_ref()));
    Ok(OK)
}

/// Refuses to draw `case` over a net file of another net.
fn same_net(net: &Net, case: &str, record: &CaseRecord) -> Result<(), Failure> {
    if record.net != net.name() {
        return Err(bad_input(anyhow::anyhow!(
            "case `{case}` runs net `{}`, not `{}` (draw `{}`'s net file)",
            record.net,
            net.name(),
            record.net
        )));
    }
    Ok(())
}

/// Tokens per place of `case` (and of its net version's shared places).
fn marking(net: &Net, args: &DataArgs, case: &str) -> Result<Counts, Failure> {
    let (config, _) = engine_config(args)?;
    let data = &config.data_dir;
    let store: Box<dyn Store> = match &config.store {
        Some(url) => Box::new(PgStore::open(url, 1).map_err(|e| held(e.into()))?),
        None if !data.join("db").is_dir() => {
            return Err(bad_input(anyhow::anyhow!(
                "no Petrel data in {} (expected the `--data` directory of `petrel start`)",
                data.display()
            )));
        }
        None => Box::new(SledStore::open(data).map_err(|e| held(e.into()))?),
    };
    let record = store
        .case(case)?
        .ok_or_else(|| bad_input(anyhow::anyhow!("no case `{case}` in {}", data.display())))?;
    same_net(net, case, &record)?;
    let mut tokens = BTreeMap::new();
    for owner in [
        Owner::Case(record.id.clone()),
        Owner::Shared(record.version.clone()),
    ] {
        for t in store.tokens(&owner)? {
            *tokens.entry(t.place).or_insert(0) += 1;
        }
    }
    Ok(tokens)
}

/// Tokens per place of `case` on the server at `remote` (the API serves a
/// case's own tokens, not its net's shared ones).
async fn remote_marking(net: &Net, remote: &Remote, case: &str) -> Result<Counts, Failure> {
    let found = remote.case(case).await?;
    same_net(net, case, &found.record)?;
    if net.places().iter().any(|p| p.shared) {
        eprintln!(
            "note: shared places show no tokens with --url (the API serves a case's own tokens)"
        );
    }
    let mut tokens = BTreeMap::new();
    for t in found.tokens {
        *tokens.entry(t.place).or_insert(0) += 1;
    }
    Ok(tokens)
}
