//! `petrel serve`: the host as a daemon behind its HTTP API, until SIGTERM
//! or Ctrl-C (then: stop accepting, drain, let firings in flight finish
//! within the grace period, exit 0).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use petrel::Host;
use petrel::config::RetentionSettings;
use petrel::metrics::Metrics;
use petrel::server::{DEFAULT_MAX_BODY_BYTES, ServerConfig, serve};
use tokio::net::TcpListener;

use super::{DataArgs, OK, Outcome, bad_input, engine_config};

/// The variable the bearer token is read from unless told otherwise.
const DEFAULT_TOKEN_ENV: &str = "PETREL_API_TOKEN";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(super) data: DataArgs,
    /// Address to listen on; port 0 picks a free one. The bound address is
    /// the first line on stdout (`listening on http://ADDR`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Environment variable holding the API's bearer token (default: the
    /// config file's `[server] token_env`, else PETREL_API_TOKEN). Without a
    /// token only a loopback address is allowed.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// At shutdown: how long requests, then firings, in flight may take to finish.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    grace_ms: u64,
    /// Largest request body accepted (413 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
}

/// The bearer token: from the variable `--token-env` or the config file
/// names (which must then be set), else from PETREL_API_TOKEN if set.
fn token(named: Option<&str>) -> Result<Option<String>, super::Failure> {
    let var = named.unwrap_or(DEFAULT_TOKEN_ENV);
    match std::env::var(var) {
        Ok(token) if !token.is_empty() => Ok(Some(token)),
        _ if named.is_none() => Ok(None),
        _ => Err(bad_input(anyhow!(
            "the environment variable `{var}` that should hold the API token is not set (export the token in it)"
        ))),
    }
}

/// Resolves `--listen` and refuses a non-loopback address without a token.
async fn listen_addr(listen: &str, has_token: bool) -> Result<SocketAddr, super::Failure> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .with_context(|| format!("invalid --listen address `{listen}` (expected HOST:PORT)"))
        .map_err(bad_input)?
        .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| bad_input(anyhow!("--listen `{listen}` resolves to no address")))?;
    let loopback = addrs.iter().all(|a| a.ip().is_loopback());
    if !has_token && !loopback {
        return Err(bad_input(anyhow!(
            "refusing to listen on `{listen}` without an API token: anyone who can reach it could run workflows. Export a token in ${DEFAULT_TOKEN_ENV} (or name another variable with --token-env), or listen on 127.0.0.1"
        )));
    }
    if !has_token {
        tracing::warn!(
            "no API token configured (${DEFAULT_TOKEN_ENV} is not set): every request on {listen} is accepted"
        );
    }
    Ok(addr)
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(cause = %e, "cannot watch SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Applies the `[retention]` policy every `interval`, the first time at
/// start-up. A failed run is logged and tried again at the next interval.
async fn compact_every(host: Host, retention: RetentionSettings, archive: PathBuf) {
    let mut tick = tokio::time::interval(retention.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match host
            .compact(retention.policy.clone(), archive.clone())
            .await
        {
            Ok(report) if report.cases > 0 => tracing::info!(
                cases = report.cases,
                events = report.events,
                archive = ?report.archive,
                "compacted finished cases"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "compaction failed; trying again at the next interval")
            }
        }
    }
}

/// Ends the process (code 3) once another host took this one's cases
/// over (its lease lapsed: it was paused or cut off longer than its
/// lease). None of its writes can commit any more; restarted, it joins
/// afresh.
async fn exit_when_fenced(host: Host) {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if host.engine().store().cluster().is_some_and(|c| c.fenced()) {
            eprintln!(
                "error: this host's lease lapsed and other hosts took its cases over; stopping (restart it to rejoin)"
            );
            std::process::exit(3);
        }
    }
}

pub(crate) async fn run(args: Args) -> Outcome {
    let (mut engine, host_config) = engine_config(&args.data)?;
    let named = args
        .token_env
        .as_deref()
        .or(host_config.server.token_env.as_deref());
    let token = token(named)?;
    let addr = listen_addr(&args.listen, token.is_some()).await?;

    let metrics = Arc::new(Metrics::new());
    engine.observer = Some(metrics.observer());
    let host = Host::open(engine).await?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr().context("reading the bound address")?;

    let mut config = ServerConfig::default();
    config.max_body_bytes = args.max_body_bytes;
    config.grace = Duration::from_millis(args.grace_ms);
    config.metrics = metrics;
    let settings = &host_config.server;
    config.nets_dir = settings.nets_dir.clone();
    if let Some(n) = settings.max_connections {
        config.max_connections = n as usize;
    }
    if let Some(n) = settings.max_requests {
        config.max_requests = n as usize;
    }
    if let Some(n) = settings.max_event_streams {
        config.max_event_streams = n as usize;
    }
    if let Some(ms) = settings.request_timeout_ms {
        config.request_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = settings.header_timeout_ms {
        config.header_timeout = Duration::from_millis(ms);
    }
    if let Some(token) = &token {
        config = config.with_token(token);
    }
    if let Some(retention) = host_config.retention.clone() {
        let archive = super::history::archive_dir(&args.data.dir(), None, &host_config);
        tokio::spawn(compact_every(host.clone(), retention, archive));
    }
    if let Some(cluster) = host.engine().store().cluster() {
        cluster
            .set_url(&format!("http://{bound}"))
            .context("recording this host's address")?;
        tokio::spawn(exit_when_fenced(host.clone()));
    }
    println!("listening on http://{bound}");
    use std::io::Write as _;
    std::io::stdout().flush().context("writing stdout")?;

    let report = serve(host, listener, config, shutdown_signal())
        .await
        .map_err(anyhow::Error::from)?;
    eprintln!(
        "stopped: {} firing(s) in flight finished, {} cut off (they re-run on the next start)",
        report.finished, report.cut_off
    );
    Ok(OK)
}
