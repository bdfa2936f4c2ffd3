//! The HTTP API of `petrel serve`: JSON over HTTP/1.1 in front of a [`Host`].
//!
//! [`serve`] takes an already-bound listener and a shutdown future, so the
//! binary, tests and embedders start it the same way:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use petrel::engine::EngineConfig;
//! use petrel::server::{ServerConfig, serve};
//!
//! let host = petrel::Host::open(EngineConfig::new("./petrel-data")).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let config = ServerConfig::default().with_token("change me");
//! let stop = async { tokio::signal::ctrl_c().await.unwrap_or(()) };
//! serve(host, listener, config, stop).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Every route is listed once, in `routes`, which both builds the router
//! and is checked against `openapi.json` (served at `/openapi.json`).
//! Errors are always `{"error": {"code", "message"}}` with a stable
//! [`ErrorCode`]. `/` serves the web dashboard (files embedded in the
//! binary, see `ui`), which calls the API like any client. Every route but
//! `/healthz`, `/readyz` and the dashboard's files requires
//! `Authorization: Bearer <token>` when a token is configured; without
//! one, only requests whose `Host` is a loopback name are answered.
//!
//! Bounds: connections open at once, a deadline on each request's
//! headers, requests in flight (more get 503 `overloaded`), a deadline per
//! request (503 `timeout`), the body size (413), page sizes of every list.

mod auth;
mod cases;
mod dead_letters;
mod error;
mod events;
mod extract;
mod forward;
mod guard;
mod listener;
mod nets;
mod openapi;
mod probes;
mod routes;
mod trace;
mod ui;
mod work;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use error::{ApiError, ErrorCode};
pub use openapi::DOCUMENT as OPENAPI;
pub use routes::{Endpoint, endpoints};

use crate::Host;
use crate::engine::EngineError;
use crate::host::ShutdownReport;
use crate::metrics::Metrics;

/// Default largest request body (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Default longest long poll of `POST /v1/work/claim` (30 s).
pub const DEFAULT_MAX_CLAIM_WAIT: Duration = Duration::from_secs(30);
/// Default grace period for in-flight requests and firings at shutdown.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// Default most connections open at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default most requests in flight at once.
pub const DEFAULT_MAX_REQUESTS: usize = 64;
/// Default cap on `GET /v1/events` streams open at once.
pub const DEFAULT_MAX_EVENT_STREAMS: usize = 32;
/// Default longest a request may take (long polls included).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default longest a client may take to send a request's headers.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The bearer token every request but the probes must present; `None`:
    /// every request is accepted (bind to loopback only).
    token: Option<auth::BearerToken>,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// A claim's `wait_ms` is cut to this.
    pub max_claim_wait: Duration,
    /// At shutdown: how long requests in flight may take to finish, and
    /// then how long firings in flight may take (each).
    pub grace: Duration,
    /// The metrics `/metrics` renders (feed them with
    /// [`Metrics::observer`] in the engine's config).
    pub metrics: Arc<Metrics>,
    /// The only directory `POST /v1/nets` may deploy `{"path"}` from;
    /// `None` (the default): deploying by path over HTTP is refused.
    pub nets_dir: Option<PathBuf>,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// Requests in flight at once; more get 503 `overloaded`.
    pub max_requests: usize,
    /// `GET /v1/events` streams open at once (they outlive their request's
    /// deadline and in-flight slot); more get 503 `overloaded`.
    pub max_event_streams: usize,
    /// Longest one request may take (503 `timeout` beyond); a claim's
    /// long poll is cut to fit inside it.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's headers (the
    /// connection is closed beyond; also bounds an idle keep-alive).
    pub header_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_claim_wait: DEFAULT_MAX_CLAIM_WAIT,
            grace: DEFAULT_GRACE,
            metrics: Arc::new(Metrics::new()),
            nets_dir: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_requests: DEFAULT_MAX_REQUESTS,
            max_event_streams: DEFAULT_MAX_EVENT_STREAMS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
        }
    }
}

impl ServerConfig {
    /// Requires `Authorization: Bearer <token>` on every route but the probes.
    pub fn with_token(mut self, token: &str) -> ServerConfig {
        self.token = Some(auth::BearerToken::new(token));
        self
    }

    /// Whether a token is required.
    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Accepting or serving connections failed.
    #[error("http server: {0}")]
    Io(#[from] std::io::Error),
    /// The host failed to shut down cleanly.
    #[error("shutting the host down: {0}")]
    Shutdown(#[from] EngineError),
}

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) host: Host,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) max_claim_wait: Duration,
    /// Turns true when shutdown begins (long polls give up).
    pub(crate) stopping: watch::Receiver<bool>,
    /// Where `POST /v1/nets` may deploy `{"path"}` from.
    pub(crate) nets_dir: Option<PathBuf>,
    /// One permit per open `GET /v1/events` stream.
    pub(crate) event_streams: Arc<Semaphore>,
}

/// The application: every route, the JSON fallbacks, auth, the body limit,
/// the guard (`Host` check, in-flight cap, deadline) and, around it all,
/// each request's span.
fn app(state: AppState, config: &ServerConfig) -> Router {
    let guard = guard::Guard {
        loopback_only: config.token.is_none(),
        in_flight: Arc::new(Semaphore::new(config.max_requests.max(1))),
        timeout: config.request_timeout,
    };
    routes::table(config.token.clone())
        .router
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state)
        .layer(from_fn_with_state(
            forward::Forwarder::new(config.max_body_bytes, config.request_timeout),
            forward::to_owner,
        ))
        .layer(from_fn_with_state(guard, guard::guard))
        .layer(from_fn(trace::span))
}

/// The API as a router, for an embedder to serve (or mount) itself, with
/// every per-request bound of `config`; [`serve`] adds the connection
/// bounds and graceful shutdown.
pub fn router(host: Host, config: &ServerConfig) -> Router {
    let (_, stopping) = watch::channel(false);
    app(state(host, config, stopping), config)
}

fn state(host: Host, config: &ServerConfig, stopping: watch::Receiver<bool>) -> AppState {
    AppState {
        host,
        metrics: config.metrics.clone(),
        // A long poll ends well inside the request deadline.
        max_claim_wait: config.max_claim_wait.min(config.request_timeout / 2),
        stopping,
        nets_dir: config.nets_dir.clone(),
        event_streams: Arc::new(Semaphore::new(config.max_event_streams)),
    }
}

/// Serves the API on `listener` until `shutdown` resolves; then stops
/// accepting, lets requests in flight finish (at most `config.grace`),
/// shuts the host down (firings in flight get `config.grace` more) and
/// returns what that did.
pub async fn serve(
    host: Host,
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<ShutdownReport, ServerError> {
    let (stop_tx, stopping) = watch::channel(false);
    let app = app(state(host.clone(), &config, stopping.clone()), &config);
    let connections = listener::Connections {
        max: config.max_connections,
        header_timeout: config.header_timeout,
    };
    let server = listener::serve_connections(listener, app, connections, stopping);
    let drained = async {
        shutdown.await;
        tracing::info!("shutting down: no new connections, draining requests");
        let _ = stop_tx.send(true);
        tokio::time::sleep(config.grace).await;
    };
    tokio::select! {
        () = server => {}
        () = drained => tracing::warn!(grace_ms = config.grace.as_millis() as u64, "requests still in flight after the grace period; closing them"),
    }
    let report = host.shutdown(config.grace).await?;
    tracing::info!(
        finished = report.finished,
        cut_off = report.cut_off,
        "host shut down"
    );
    Ok(report)
}
