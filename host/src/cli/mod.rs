//! Subcommands, one file each.

mod demo;
mod guests;
mod history;
mod marking;
mod replay;
mod run;
mod start;
mod view;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use petrel::engine::{Engine, EngineConfig, EngineError};

/// Petri-net workflows whose transitions are decided by sandboxed
/// WebAssembly guests.
#[derive(Debug, Parser)]
#[command(name = "petrel", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Deploy a net (if needed) and start a case on it.
    Start(start::Args),
    /// Fire until nothing is enabled; print a summary.
    Run(run::Args),
    /// Show the tokens of one case or of all.
    Marking(marking::Args),
    /// Show a case's event log.
    History(history::Args),
    /// Rebuild the marking from the event log and compare it with the store.
    Replay(replay::Args),
    /// Run the order-approval example end to end in a temp dir.
    Demo(demo::Args),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

/// Arguments every command that opens a store takes.
#[derive(Debug, clap::Args)]
pub(crate) struct DataArgs {
    /// Data directory (created if missing).
    #[arg(long, value_name = "DIR", env = "PETREL_DATA")]
    data: PathBuf,
}

/// Exit codes: 0 ok, 1 the operation found a problem, 2 bad input.
pub(crate) const OK: u8 = 0;
pub(crate) const PROBLEM: u8 = 1;
pub(crate) const BAD_INPUT: u8 = 2;

/// An error with the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) error: anyhow::Error,
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Failure {
        let code = match &e {
            EngineError::Net(_)
            | EngineError::Deploy(_)
            | EngineError::Invalid(_)
            | EngineError::NotFound(_)
            | EngineError::Store(petrel::store::StoreError::CaseExists(_)) => BAD_INPUT,
            EngineError::Store(_) | EngineError::Sandbox(_) => PROBLEM,
        };
        Failure {
            code,
            error: e.into(),
        }
    }
}

impl From<petrel::store::StoreError> for Failure {
    fn from(e: petrel::store::StoreError) -> Failure {
        EngineError::from(e).into()
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure {
            code: PROBLEM,
            error,
        }
    }
}

pub(crate) fn bad_input(error: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: BAD_INPUT,
        error: error.into(),
    }
}

pub(crate) type Outcome = Result<u8, Failure>;

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            code: PROBLEM,
            error: e.into(),
        })
}

pub(crate) async fn open(data: &DataArgs) -> Result<Engine, Failure> {
    Ok(Engine::open(EngineConfig::new(&data.data)).await?)
}

pub(crate) fn dispatch(cli: Cli) -> Outcome {
    let rt = runtime()?;
    rt.block_on(async move {
        match cli.command {
            Command::Start(a) => start::run(a).await,
            Command::Run(a) => run::run(a).await,
            Command::Marking(a) => marking::run(a).await,
            Command::History(a) => history::run(a).await,
            Command::Replay(a) => replay::run(a).await,
            Command::Demo(a) => demo::run(a).await,
        }
    })
}
