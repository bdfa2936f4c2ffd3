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
//! [`ErrorCode`]. Every route but `/healthz` and `/readyz` requires
//! `Authorization: Bearer <token>` when a token is configured.

mod auth;
mod cases;
mod dead_letters;
mod error;
mod extract;
mod nets;
mod openapi;
mod probes;
mod routes;
mod work;

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tokio::sync::watch;

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
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            token: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_claim_wait: DEFAULT_MAX_CLAIM_WAIT,
            grace: DEFAULT_GRACE,
            metrics: Arc::new(Metrics::new()),
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
}

/// The application: every route, the JSON fallbacks, auth and the body limit.
fn app(state: AppState, config: &ServerConfig) -> Router {
    routes::table(config.token.clone())
        .router
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state)
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
    let state = AppState {
        host: host.clone(),
        metrics: config.metrics.clone(),
        max_claim_wait: config.max_claim_wait,
        stopping: stopping.clone(),
    };
    let app = app(state, &config);
    let mut stopped = stopping.clone();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .into_future();
    let drained = async {
        shutdown.await;
        tracing::info!("shutting down: no new connections, draining requests");
        let _ = stop_tx.send(true);
        tokio::time::sleep(config.grace).await;
    };
    tokio::select! {
        served = server => served?,
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
