//! Subcommands, one file each.

mod bench;
mod bench_guest;
mod bench_hosts;
mod bench_http;
mod bench_llm;
mod build;
mod cancel;
mod cases;
mod check;
mod compact;
mod demo;
mod demo_workers;
mod dlq;
mod embedded;
mod graph;
mod guests;
mod history;
mod hosts;
mod marking;
mod migrate;
mod new;
mod remote;
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
    /// List cases, newest started first, by net, status and start time.
    Cases(cases::Args),
    /// Cancel a case: it aborts and its compensations run, as when a guest
    /// aborts it.
    ///
    /// With `--data`, the host runs while it cancels, as `petrel run` does
    /// (one firing at a time), and stops at once after: the compensations
    /// run with the next `petrel run`. With `--url`, the server runs them.
    Cancel(cancel::Args),
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
    /// Create or upgrade a PostgreSQL store's schema (every command that
    /// opens one does it too).
    Migrate(migrate::Args),
    /// List the hosts sharing a PostgreSQL store (leases, cases each runs).
    Hosts(hosts::Args),
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
    /// Data directory (created if missing): the store, or with `--store`
    /// only the compiled-component cache (default `petrel-data`).
    #[arg(long, value_name = "DIR", env = "PETREL_DATA")]
    data: Option<PathBuf>,
    /// Keep cases in a PostgreSQL database instead (`postgres://USER@HOST:PORT/DB`;
    /// the password from the URL or PGPASSWORD). Overrides `[store] url`.
    #[arg(long, value_name = "URL", env = "PETREL_STORE", value_parser = store_url)]
    store: Option<String>,
    /// With --store: this host's lease on the database, shared with other
    /// hosts (when it dies, they take its cases over this much later;
    /// default 10000). Overrides `[store] lease_ms`.
    #[arg(long, value_name = "MS", env = "PETREL_LEASE_MS", value_parser = lease_ms)]
    lease_ms: Option<u64>,
    /// Host configuration (`petrel.toml`: the language model guests granted
    /// `llm` may call). Without it, their calls get `not-configured`.
    #[arg(long, value_name = "FILE", env = "PETREL_CONFIG")]
    config: Option<PathBuf>,
}

/// Where a command that reads or changes cases finds them: a data
/// directory, or a running `petrel serve` (`--url`). The environment
/// (PETREL_DATA, PETREL_URL) is read only when neither flag is given, so
/// either flag overrides both variables.
#[derive(Debug, clap::Args)]
pub(crate) struct SourceArgs {
    /// Data directory (created if missing) [env: PETREL_DATA].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Host configuration (`petrel.toml`), with `--data`.
    #[arg(long, value_name = "FILE", env = "PETREL_CONFIG")]
    config: Option<PathBuf>,
    /// A PostgreSQL store instead of a data directory's (`postgres://…`)
    /// [env: PETREL_STORE].
    #[arg(long, value_name = "URL", conflicts_with = "url", value_parser = store_url)]
    store: Option<String>,
    /// Ask the `petrel serve` listening at URL instead of opening a data
    /// directory (the bearer token from PETREL_API_TOKEN) [env: PETREL_URL].
    #[arg(long, value_name = "URL", conflicts_with = "data")]
    url: Option<String>,
}

/// `--lease-ms`: a host lease length.
fn lease_ms(ms: &str) -> Result<u64, String> {
    let ms: u64 = ms
        .parse()
        .map_err(|_| format!("`{ms}` is not a number of milliseconds"))?;
    petrel::config::check_lease_ms(ms)
}

/// `--store`: a PostgreSQL URL.
pub(crate) fn store_url(url: &str) -> Result<String, String> {
    if petrel::store::postgres::is_postgres_url(url) {
        Ok(url.to_string())
    } else {
        Err("expected a PostgreSQL URL, postgres://USER@HOST:PORT/DB".into())
    }
}

impl DataArgs {
    /// The data directory: as given, or `petrel-data` beside a PostgreSQL
    /// store (its component cache).
    pub(crate) fn dir(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| PathBuf::from("petrel-data"))
    }

    /// Whether the cases live in PostgreSQL (`--store`, PETREL_STORE or
    /// the config file's `[store] url`).
    pub(crate) fn in_postgres(&self, config: &petrel::config::Config) -> bool {
        self.store.is_some() || config.store.url.is_some()
    }
}

/// What [`SourceArgs`] name.
pub(crate) enum Source {
    /// A data directory, opened in this process.
    Data(DataArgs),
    /// A running `petrel serve`.
    Url(remote::Remote),
}

impl SourceArgs {
    pub(crate) fn source(&self) -> Result<Source, Failure> {
        let env = |name| std::env::var_os(name).filter(|v: &std::ffi::OsString| !v.is_empty());
        let store = self
            .store
            .clone()
            .or_else(|| env("PETREL_STORE").map(|s| s.to_string_lossy().into_owned()));
        if let Some(url) = &store {
            store_url(url).map_err(|e| bad_input(anyhow::anyhow!("PETREL_STORE: {e}")))?;
        }
        let data = |dir: Option<PathBuf>| {
            Source::Data(DataArgs {
                data: dir,
                store: store.clone(),
                lease_ms: None,
                config: self.config.clone(),
            })
        };
        let url = |url: &str| remote::Remote::new(url).map(Source::Url);
        match (&self.data, &self.url) {
            (Some(dir), _) => Ok(data(Some(dir.clone()))),
            (None, Some(u)) => url(u),
            (None, None) if self.store.is_some() => Ok(data(None)),
            (None, None) => match (env("PETREL_DATA"), env("PETREL_URL")) {
                (Some(dir), None) => Ok(data(Some(dir.into()))),
                (None, Some(u)) => url(&u.to_string_lossy()),
                (Some(_), Some(_)) => Err(bad_input(anyhow::anyhow!(
                    "PETREL_DATA and PETREL_URL are both set: say which to use with --data DIR or --url URL"
                ))),
                (None, None) if store.is_some() => Ok(data(None)),
                (None, None) => Err(bad_input(anyhow::anyhow!(
                    "no cases to read: give --data DIR (a data directory), --store URL (a PostgreSQL store) or --url URL (a running `petrel serve`)"
                ))),
            },
        }
    }
}

/// Opens the engine of a command that could ask a running daemon instead:
/// a data directory `petrel serve` holds is bad input naming `--url`.
pub(crate) async fn open_or_ask(data: &DataArgs) -> Result<Engine, Failure> {
    let config = engine_config(data)?.0;
    Engine::open(config).await.map_err(held)
}

/// The failure `e` is, pointing a locked data directory's user at `--url`.
pub(crate) fn held(e: EngineError) -> Failure {
    let EngineError::Store(petrel::store::StoreError::Locked(dir)) = &e else {
        return e.into();
    };
    let url = std::env::var("PETREL_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "http://HOST:PORT".to_string());
    bad_input(anyhow::anyhow!(
        "store `{dir}` is held by a running `petrel serve` (or another petrel process); ask the server instead: --url {url}"
    ))
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
            | EngineError::Elsewhere { .. }
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
    let mut config = EngineConfig::new(data.dir());
    let host = match &data.config {
        Some(file) => petrel::config::Config::load(file).map_err(bad_input)?,
        None => petrel::config::Config::default(),
    };
    config.store = data.store.clone().or_else(|| host.store.url.clone());
    if let Some(n) = host.store.pool_size {
        config.pool_size = n;
    }
    if let Some(ms) = data.lease_ms.or(host.store.lease_ms) {
        config.lease_ms = ms;
    }
    if config.store.is_none() && data.data.is_none() {
        return Err(bad_input(anyhow::anyhow!(
            "no store: give --data DIR (a data directory) or --store URL (a PostgreSQL database)"
        )));
    }
    if data.config.is_none() {
        return Ok((config, host));
    }
    config.llm = host.llm_provider().map_err(bad_input)?;
    config.limits = host.limits;
    config.record_llm_bodies = host.telemetry.record_llm_bodies;
    Ok((config, host))
}

/// Installs the tracing subscriber, with an OTLP exporter when the
/// `[telemetry]` table of the command's config file (`start`, `run` and
/// `serve` fire guests) or the environment names an endpoint.
pub(crate) fn telemetry(cli: &Cli) -> Result<telemetry::Telemetry, Failure> {
    let config = match &cli.command {
        Command::Start(a) => a.source.config.as_ref(),
        Command::Run(a) => a.data.config.as_ref(),
        Command::Serve(a) => a.data.config.as_ref(),
        _ => None,
    };
    let settings = match config {
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
            Command::Cases(a) => cases::run(a).await,
            Command::Cancel(a) => cancel::run(a).await,
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
            Command::Graph(a) => graph::run(a).await,
            Command::Serve(a) => serve::run(a).await,
            Command::Migrate(a) => migrate::run(a).await,
            Command::Hosts(a) => hosts::run(a).await,
        }
    })
}
