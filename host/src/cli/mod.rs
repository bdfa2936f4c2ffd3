//! Subcommands, one file each.

mod bench;
mod bench_guest;
mod bench_http;
mod bench_llm;
mod build;
mod check;
mod compact;
mod demo;
mod demo_workers;
mod dlq;
mod embedded;
mod graph;
mod guests;
mod history;
mod marking;
mod new;
mod replay;
mod run;
mod serve;
mod start;
mod telemetry;
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
    /// Scaffold a guest project (Rust, Python or TypeScript) and a net file
    /// with one transition using it.
    New(new::Args),
    /// Build every guest a net file references (cargo, componentize-py,
    /// componentize-js), saying what it runs.
    Build(build::Args),
    /// Deploy a net (if needed) and start a case on it.
    Start(start::Args),
    /// Fire until nothing is enabled; print a summary.
    Run(run::Args),
    /// Show the tokens of one case or of all.
    Marking(marking::Args),
    /// Show a case's event log.
    History(history::Args),
    /// The dead-letter queue: firings that ran out of attempts (list, show,
    /// retry, discard).
    Dlq(dlq::Args),
    /// Rebuild the marking from the event log and compare it with the store.
    Replay(replay::Args),
    /// Move the event log of finished cases to an archive file, keeping
    /// each case's record and final tokens (retention).
    Compact(compact::Args),
    /// Run an example end to end in a temp dir (the refund flow, offline on
    /// its cassette; `--example order-approval`).
    Demo(demo::Args),
    /// Measure firing latency and throughput (build with --release).
    Bench(bench::Args),
    /// Load-test the HTTP API in process: concurrent case starts and status
    /// reads (build with --release).
    BenchHttp(bench_http::Args),
    /// Time many concurrent cases whose language model is slow.
    #[command(hide = true)]
    BenchLlm(bench_llm::Args),
    /// Explore a net's state space (whatever the guests decide): deadlocks,
    /// improper completion, dead outcomes, unbounded places, lints. Also
    /// reads PNML place/transition nets.
    Check(check::Args),
    /// Draw a net as Mermaid or DOT, optionally with a case's tokens.
    Graph(graph::Args),
    /// Run the host as a daemon with its HTTP API (JSON under /v1, /metrics,
    /// /openapi.json) until SIGTERM or Ctrl-C.
    Serve(serve::Args),
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
    /// Host configuration (`petrel.toml`: the language model guests granted
    /// `llm` may call). Without it, their calls get `not-configured`.
    #[arg(long, value_name = "FILE", env = "PETREL_CONFIG")]
    config: Option<PathBuf>,
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
            | EngineError::Conflict(_)
            | EngineError::Store(petrel::store::StoreError::CaseExists(_)) => BAD_INPUT,
            EngineError::Check(_)
            | EngineError::Store(_)
            | EngineError::Sandbox(_)
            | EngineError::Retention(_)
            | EngineError::Unavailable(_) => PROBLEM,
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

/// The engine settings `data` asks for, and the host config file it names
/// (default when none).
pub(crate) fn engine_config(
    data: &DataArgs,
) -> Result<(EngineConfig, petrel::config::Config), Failure> {
    let mut config = EngineConfig::new(&data.data);
    let Some(file) = &data.config else {
        return Ok((config, petrel::config::Config::default()));
    };
    let host = petrel::config::Config::load(file).map_err(bad_input)?;
    config.llm = host.llm_provider().map_err(bad_input)?;
    config.limits = host.limits;
    config.record_llm_bodies = host.telemetry.record_llm_bodies;
    Ok((config, host))
}

/// Installs the tracing subscriber, with an OTLP exporter when the
/// `[telemetry]` table of the command's config file (`start`, `run` and
/// `serve` fire guests) or the environment names an endpoint.
pub(crate) fn telemetry(cli: &Cli) -> Result<telemetry::Telemetry, Failure> {
    let data = match &cli.command {
        Command::Start(a) => Some(&a.data),
        Command::Run(a) => Some(&a.data),
        Command::Serve(a) => Some(&a.data),
        _ => None,
    };
    let settings = match data.and_then(|d| d.config.as_ref()) {
        Some(file) => {
            petrel::config::Config::load(file)
                .map_err(bad_input)?
                .telemetry
        }
        None => petrel::config::TelemetrySettings::default(),
    };
    telemetry::install(&settings)
}

pub(crate) async fn open(data: &DataArgs) -> Result<Engine, Failure> {
    Ok(Engine::open(engine_config(data)?.0).await?)
}

pub(crate) fn dispatch(cli: Cli) -> Outcome {
    let rt = runtime()?;
    rt.block_on(async move {
        match cli.command {
            Command::New(a) => new::run(a),
            Command::Build(a) => build::run(a),
            Command::Start(a) => start::run(a).await,
            Command::Run(a) => run::run(a).await,
            Command::Marking(a) => marking::run(a).await,
            Command::History(a) => history::run(a).await,
            Command::Replay(a) => replay::run(a).await,
            Command::Compact(a) => compact::run(a).await,
            Command::Dlq(a) => dlq::run(a).await,
            Command::Demo(a) => demo::run(a).await,
            Command::Bench(a) => bench::run(a).await,
            Command::BenchHttp(a) => bench_http::run(a).await,
            Command::BenchLlm(a) => bench_llm::run(a).await,
            Command::Check(a) => check::run(a),
            Command::Graph(a) => graph::run(a),
            Command::Serve(a) => serve::run(a).await,
        }
    })
}
