//! `petrel graph`: draws a net as a Mermaid flowchart or Graphviz DOT,
//! optionally with a case's live marking from a data directory.

use std::collections::BTreeMap;
use std::path::PathBuf;

use petrel::net::Net;
use petrel::store::{Owner, SledStore, Store};
use petrel::verify::{GraphFormat, render};

use super::{OK, Outcome, bad_input};

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
    /// Data directory holding the case to overlay (with `--case`).
    #[arg(long, value_name = "DIR", env = "PETREL_DATA", requires = "case")]
    data: Option<PathBuf>,
    /// Show this case's tokens in the places (needs `--data`).
    #[arg(long, value_name = "ID", requires = "data")]
    case: Option<String>,
}

pub(crate) fn run(args: Args) -> Outcome {
    let net = Net::load(&args.file).map_err(bad_input)?;
    let overlay = match (&args.data, &args.case) {
        (Some(data), Some(case)) => Some(marking(&net, data, case)?),
        _ => None,
    };
    let format = match args.format {
        Drawing::Mermaid => GraphFormat::Mermaid,
        Drawing::Dot => GraphFormat::Dot,
    };
    print!("{}", render(&net, format, overlay.as_ref()));
    Ok(OK)
}

/// Tokens per place of `case` (and of its net version's shared places).
fn marking(
    net: &Net,
    data: &std::path::Path,
    case: &str,
) -> Result<BTreeMap<String, usize>, super::Failure> {
    if !data.join("db").is_dir() {
        return Err(bad_input(anyhow::anyhow!(
            "no Petrel data in {} (expected the `--data` directory of `petrel start`)",
            data.display()
        )));
    }
    let store = SledStore::open(data)?;
    let record = store
        .case(case)?
        .ok_or_else(|| bad_input(anyhow::anyhow!("no case `{case}` in {}", data.display())))?;
    if record.net != net.name() {
        return Err(bad_input(anyhow::anyhow!(
            "case `{case}` runs net `{}`, not `{}` (draw `{}`'s net file)",
            record.net,
            net.name(),
            record.net
        )));
    }
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
