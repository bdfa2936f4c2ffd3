//! The engine: deploying nets, starting cases, firing.
//!
//! A firing is: reserve inputs (a reservation record in the store) → run the
//! guest outside any transaction → check the decision → commit input removal,
//! outputs and the log entry in one store transaction (many firings share
//! one transaction and one flush). A crash before the commit leaves a
//! reservation behind; the next run re-runs that attempt on the same tokens.
//!
//! A failed firing keeps its case tokens reserved and is retried on a
//! durable timer (the reservation, rewritten with its next attempt and
//! `not_before_ms`) under its transition's [`RetryPolicy`](crate::net::RetryPolicy);
//! out of attempts it becomes a [`DeadLetter`](crate::store::DeadLetter) or
//! aborts its case. An aborted case runs the compensations of its completed
//! compensable firings, newest first (the saga).
//!
//! Layout: `core` (the state machine: marking, planning, settling, retries,
//! sagas, offers; no I/O), `driver` (the one loop around it, for batch runs
//! and the daemon), `execute` (running a guest), `commit` (the way into the
//! store: grouped transactions, group flush), `load` (reading the core's
//! state), `versions` (deploying nets), `cases` (starting cases),
//! `dead_letters`, `decision` (checking a guest's decision), `deployment`,
//! `work` (external work's types), `clock`, `error`.

mod cases;
mod clock;
mod command;
mod commit;
mod core;
mod dead_letters;
mod decision;
mod deployment;
pub(crate) mod driver;
mod error;
mod execute;
mod form;
mod load;
mod run;
mod sharing;
mod versions;
pub mod work;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use clock::{Clock, ManualClock, SystemClock};
pub use core::letters::MAX_BY_BYTES;
pub use decision::check_decision;
pub use deployment::Deployment;
pub use driver::ShutdownReport;
pub use error::EngineError;
pub use run::{RunOptions, RunSummary};
pub use versions::{Deployed, UPLOADED_NET};

use crate::sandbox::{Sandbox, SandboxConfig};
use crate::store::postgres::PgStore;
use crate::store::{Change, Event, EventRecord, SledStore, Store};
use commit::Committer;

/// Told of every event the engine writes, once it is applied (e.g. to count
/// firings for metrics). Called on the engine's own tasks: keep it quick.
pub type EventObserver = Arc<dyn Fn(&EventRecord) + Send + Sync>;

/// Engine settings.
#[derive(Clone)]
pub struct EngineConfig {
    /// Data directory: the sled store and the compiled-component cache.
    pub data_dir: PathBuf,
    /// A PostgreSQL store instead of sled (`postgres://…`; the data
    /// directory then keeps only the component cache).
    pub store: Option<String>,
    /// Most connections to a PostgreSQL store.
    pub pool_size: usize,
    /// This host's lease on a PostgreSQL store shared with other hosts:
    /// when it dies, others take its cases over this much later.
    pub lease_ms: u64,
    /// Guest instances alive at once.
    pub instance_slots: u32,
    /// Firings in flight at once during a run.
    pub max_in_flight: usize,
    /// The language model that answers guests granted `llm` (built from
    /// `petrel.toml` with [`crate::llm::provider`]); `None`: their calls get
    /// `not-configured`.
    pub llm: Option<Arc<dyn crate::llm::LlmProvider>>,
    /// Time for retry timers ([`SystemClock`]; tests inject a [`ManualClock`]).
    pub clock: Arc<dyn Clock>,
    /// Told of every event written (see [`EventObserver`]).
    pub observer: Option<EventObserver>,
    /// The host's ceilings (`[limits]` in `petrel.toml`).
    pub limits: crate::limits::HostLimits,
    /// Put language-model prompts and answers on `petrel.llm` spans
    /// (`[telemetry] record_llm_bodies`; default false).
    pub record_llm_bodies: bool,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("data_dir", &self.data_dir)
            .field("store", &self.store.as_ref().map(|_| "postgres"))
            .field("pool_size", &self.pool_size)
            .field("lease_ms", &self.lease_ms)
            .field("instance_slots", &self.instance_slots)
            .field("max_in_flight", &self.max_in_flight)
            .field("llm", &self.llm)
            .field("clock", &self.clock)
            .field("observer", &self.observer.is_some())
            .field("limits", &self.limits)
            .field("record_llm_bodies", &self.record_llm_bodies)
            .finish()
    }
}

impl EngineConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            data_dir: data_dir.into(),
            store: None,
            pool_size: crate::store::postgres::DEFAULT_POOL_SIZE,
            lease_ms: crate::store::postgres::DEFAULT_LEASE_MS,
            instance_slots: 64,
            max_in_flight: 256,
            llm: None,
            clock: Arc::new(SystemClock),
            observer: None,
            limits: crate::limits::HostLimits::default(),
            record_llm_bodies: false,
        }
    }
}

/// The engine over one data directory.
pub struct Engine {
    store: Arc<dyn Store>,
    sandbox: Arc<Sandbox>,
    committer: Committer,
    deployments: Mutex<HashMap<String, Arc<Deployment>>>,
    config: EngineConfig,
    llm: Arc<crate::llm::LlmGateway>,
    /// A daemon's driver fires this engine's cases.
    driven: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the store in `config.data_dir` and recovers from a crash:
    /// firings a crash cut off are logged and run again on their kept
    /// reservations. Must be called inside a tokio runtime.
    pub async fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            EngineError::Invalid(format!(
                "cannot create data dir `{}`: {e}",
                config.data_dir.display()
            ))
        })?;
        let store: Arc<dyn Store> = match &config.store {
            Some(url) => Arc::new(PgStore::open_host(url, config.pool_size, config.lease_ms)?),
            None => Arc::new(SledStore::open(&config.data_dir)?),
        };
        let sandbox = Sandbox::new(SandboxConfig {
            instance_slots: config.instance_slots,
            cache_dir: Some(config.data_dir.join("cache")),
            limits: config.limits,
        })
        .map_err(|e| EngineError::Sandbox(format!("{e:#}")))?;
        // Every log entry stored so far has a smaller seq than a fresh id.
        let log_seq = store.next_id()?;
        let committer = Committer::start(store.clone(), config.observer.clone(), log_seq);
        let journal = committer.clone();
        let mut llm = crate::llm::LlmGateway::new(
            config.llm.clone(),
            store.clone(),
            Arc::new(move |event, durable| {
                let journal = journal.clone();
                Box::pin(async move {
                    let change = Change {
                        events: vec![event],
                        ..Change::default()
                    };
                    journal.apply(vec![change]).await?;
                    if durable {
                        journal.flush().await?;
                    }
                    Ok(())
                })
            }),
        );
        llm.record_bodies = config.record_llm_bodies;
        let llm = Arc::new(llm);
        let engine = Engine {
            committer,
            llm,
            store,
            sandbox: Arc::new(sandbox),
            deployments: Mutex::new(HashMap::new()),
            config,
            driven: std::sync::atomic::AtomicBool::new(false),
        };
        engine.recover().await?;
        Ok(engine)
    }

    /// Logs the firings a crash cut off; the next run re-runs each (same
    /// attempt, same tokens: their reservations are kept).
    async fn recover(&self) -> Result<(), EngineError> {
        if self.cluster().is_some() {
            // Each host logs those of the cases it adopts.
            return Ok(());
        }
        let now = self.clock().now_ms();
        let events: Vec<EventRecord> = self
            .store
            .reservations()?
            .into_iter()
            .filter(|(_, r)| r.not_before_ms == 0 && !r.external)
            .map(|(firing, r)| {
                tracing::info!(firing, case = %r.case, transition = %r.transition, attempt = r.attempt, "re-running a firing a crash cut off");
                EventRecord {
                    seq: 0,
                    at_ms: now,
                    case: Some(r.case),
                    event: Event::FiringAbandoned {
                        firing,
                        transition: r.transition,
                    },
                }
            })
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        self.committer
            .commit(vec![Change {
                events,
                ..Change::default()
            }])
            .await?;
        Ok(())
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The sandbox underneath.
    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    pub(crate) fn committer(&self) -> &Committer {
        &self.committer
    }

    /// Waits until everything written so far is durable (shared with
    /// concurrent callers: group commit).
    pub async fn flush(&self) -> Result<(), EngineError> {
        Ok(self.committer.flush().await?)
    }

    /// The greatest seq of a log entry known durable, changed after each
    /// flush: a log reader (`GET /v1/events`) waits on it for new entries.
    pub fn durable_seq(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committer.durable_seq()
    }

    /// The greatest seq of a log entry applied, durable or not yet (a log
    /// reader waiting on [`Engine::durable_seq`] flushes when it is ahead).
    pub fn applied_seq(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committer.applied_seq()
    }

    /// Store flushes so far: each made every change applied before it
    /// durable, for all the callers waiting on it (group commit).
    pub fn flushes(&self) -> u64 {
        self.committer.flushes()
    }

    /// Marks the engine as fired by a daemon's driver (see [`Engine::run`]).
    pub(crate) fn set_driven(&self) {
        self.driven.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The clock retry timers run on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.config.clock
    }

    /// The `llm` capability's engine-wide state (provider, case budgets).
    pub fn llm(&self) -> &Arc<crate::llm::LlmGateway> {
        &self.llm
    }
}

/// A JSON value as a MessagePack token payload.
pub fn encode_json(value: &serde_json::Value) -> Result<Vec<u8>, EngineError> {
    rmp_serde::to_vec_named(value)
        .map_err(|e| EngineError::Invalid(format!("payload cannot be encoded: {e}")))
}

pub use crate::store::decode_payload;
