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

mod clock;
mod dead_letters;
mod decision;
mod deployment;
mod error;
mod flusher;
mod marking;
mod run;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use clock::{Clock, ManualClock, SystemClock};
pub use decision::check_decision;
pub use deployment::Deployment;
pub use error::EngineError;
pub(crate) use run::driver::{Command, drive};
pub use run::{RunOptions, RunSummary};

use crate::net::Net;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::store::{
    CaseRecord, CaseStatus, Change, Event, EventRecord, Owner, SledStore, Store, StoreError,
    StoredToken, TokenRecord, check_case_id, now_ms,
};
use flusher::Flusher;

/// Told of every event the engine writes, once it is applied (e.g. to count
/// firings for metrics). Called on the engine's own tasks: keep it quick.
pub type EventObserver = Arc<dyn Fn(&EventRecord) + Send + Sync>;

/// The file name an uploaded net is known by (in errors and its record).
pub const UPLOADED_NET: &str = "uploaded-net.toml";

/// Engine settings.
#[derive(Clone)]
pub struct EngineConfig {
    /// Data directory: the sled store and the compiled-component cache.
    pub data_dir: PathBuf,
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
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("data_dir", &self.data_dir)
            .field("instance_slots", &self.instance_slots)
            .field("max_in_flight", &self.max_in_flight)
            .field("llm", &self.llm)
            .field("clock", &self.clock)
            .field("observer", &self.observer.is_some())
            .field("limits", &self.limits)
            .finish()
    }
}

impl EngineConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            data_dir: data_dir.into(),
            instance_slots: 64,
            max_in_flight: 256,
            llm: None,
            clock: Arc::new(SystemClock),
            observer: None,
            limits: crate::limits::HostLimits::default(),
        }
    }
}

/// A deployed net, as [`Engine::deploy`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// Net name.
    pub name: String,
    /// Version hash.
    pub version: String,
    /// Whether this call stored it (false: the same version was there).
    pub new: bool,
}

/// The engine over one data directory.
pub struct Engine {
    store: Arc<dyn Store>,
    sandbox: Arc<Sandbox>,
    flusher: Flusher,
    deployments: Mutex<HashMap<String, Arc<Deployment>>>,
    config: EngineConfig,
    llm: Arc<crate::llm::LlmHost>,
    /// A [`Host`](crate::host::Host)'s driver fires this engine's cases.
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
    /// reservations a crash left behind are dropped (their firings run again).
    /// Must be called inside a tokio runtime.
    pub async fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            EngineError::Invalid(format!(
                "cannot create data dir `{}`: {e}",
                config.data_dir.display()
            ))
        })?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(&config.data_dir)?);
        let sandbox = Sandbox::new(SandboxConfig {
            instance_slots: config.instance_slots,
            cache_dir: Some(config.data_dir.join("cache")),
            limits: config.limits,
        })
        .map_err(|e| EngineError::Sandbox(format!("{e:#}")))?;
        let flusher = Flusher::start(store.clone());
        let flush = flusher.clone();
        let llm = Arc::new(
            crate::llm::LlmHost::new(
                config.llm.clone(),
                store.clone(),
                Arc::new(move || {
                    let flush = flush.clone();
                    Box::pin(async move { flush.flush().await })
                }),
            )
            .with_observer(config.observer.clone()),
        );
        let engine = Engine {
            flusher,
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
        let cut_off: Vec<_> = self
            .store
            .reservations()?
            .into_iter()
            .filter(|(_, r)| r.not_before_ms == 0 && !r.external)
            .collect();
        if cut_off.is_empty() {
            return Ok(());
        }
        let mut events = Vec::with_capacity(cut_off.len());
        for (firing, r) in cut_off {
            tracing::info!(firing, case = %r.case, transition = %r.transition, attempt = r.attempt, "re-running a firing a crash cut off");
            events.push(self.event(
                Some(&r.case),
                Event::FiringAbandoned {
                    firing,
                    transition: r.transition,
                },
            ));
        }
        self.apply(&mut [Change {
            events,
            ..Change::default()
        }])?;
        self.flusher.flush().await?;
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

    /// A log entry stamped now; the store numbers it when it commits.
    pub(crate) fn event(&self, case: Option<&str>, event: Event) -> EventRecord {
        self.event_at(self.config.clock.now_ms(), case, event)
    }

    /// A log entry stamped `at_ms`: for entries whose content was computed
    /// from that instant (a retry timer), so the two agree to the millisecond.
    pub(crate) fn event_at(&self, at_ms: u64, case: Option<&str>, event: Event) -> EventRecord {
        EventRecord {
            seq: 0,
            at_ms,
            case: case.map(str::to_string),
            event,
        }
    }

    /// Applies `changes` (one store transaction, not flushed) and tells the
    /// observer of their events.
    pub(crate) fn apply(&self, changes: &mut [Change]) -> Result<(), StoreError> {
        self.store.apply(changes)?;
        self.observe(changes.iter().flat_map(|c| &c.events));
        Ok(())
    }

    fn observe<'a>(&self, events: impl IntoIterator<Item = &'a EventRecord>) {
        if let Some(observer) = &self.config.observer {
            for e in events {
                observer(e);
            }
        }
    }

    /// Waits until everything written so far is durable (shared with
    /// concurrent callers: group commit).
    pub async fn flush(&self) -> Result<(), EngineError> {
        Ok(self.flusher.flush().await?)
    }

    /// Deploys the net file at `file` (if this exact version is not deployed
    /// yet): checks the net and its guests, stores both, adds the shared
    /// places' initial tokens. Durable when it returns.
    pub async fn deploy(&self, file: &Path) -> Result<Deployed, EngineError> {
        let file = file.to_path_buf();
        let (deployment, components) = self
            .sandbox
            .off_worker(move |sandbox| {
                let net = Net::load_within(&file, sandbox.limits())?;
                Deployment::from_files(sandbox, net)
            })
            .await?;
        self.install(deployment, components).await
    }

    /// Deploys a net sent as text, with its guests' component bytes by
    /// guest path as the net declares them (e.g. an upload to `petrel
    /// serve`). Errors name the net as `uploaded-net.toml`. Durable when it
    /// returns.
    pub async fn deploy_source(
        &self,
        source: &str,
        components: &HashMap<String, Vec<u8>>,
    ) -> Result<Deployed, EngineError> {
        let (source, components) = (source.to_string(), components.clone());
        let (deployment, components) = self
            .sandbox
            .off_worker(move |sandbox| {
                let net = Net::parse_within(&source, Path::new(UPLOADED_NET), sandbox.limits())?;
                Deployment::from_upload(sandbox, net, &components)
            })
            .await?;
        self.install(deployment, components).await
    }

    /// Stores a checked deployment (if new) with its shared places' tokens.
    async fn install(
        &self,
        deployment: Deployment,
        components: deployment::Components,
    ) -> Result<Deployed, EngineError> {
        let version = deployment.version().to_string();
        let name = deployment.record.name.clone();
        let mut tokens = Vec::new();
        let mut produce = Vec::new();
        for place in deployment.net.places().iter().filter(|p| p.shared) {
            for value in &place.initial {
                let payload = encode_json(value)?;
                let seq = self.store.next_id()?;
                tokens.push(TokenRecord {
                    place: place.name.clone(),
                    seq,
                    shared: true,
                    payload: payload.clone(),
                });
                produce.push(StoredToken {
                    owner: Owner::Shared(version.clone()),
                    place: place.name.clone(),
                    seq,
                    payload,
                });
            }
        }
        let mut events = vec![self.event(
            None,
            Event::NetDeployed {
                net: name.clone(),
                version: version.clone(),
            },
        )];
        if !tokens.is_empty() {
            events.push(self.event(
                None,
                Event::SharedTokensAdded {
                    version: version.clone(),
                    tokens,
                },
            ));
        }
        let mut change = Change {
            produce,
            events,
            ..Change::default()
        };
        let new = self
            .store
            .deploy(&deployment.record, &components, &mut change)?;
        if new {
            self.observe(&change.events);
        }
        self.flusher.flush().await?;
        self.deployments
            .lock()
            .expect("deployments lock")
            .entry(version.clone())
            .or_insert_with(|| Arc::new(deployment));
        Ok(Deployed { name, version, new })
    }

    /// The deployment of a stored net version (loaded once, then cached).
    pub fn deployment(&self, version: &str) -> Result<Arc<Deployment>, EngineError> {
        if let Some(d) = self
            .deployments
            .lock()
            .expect("deployments lock")
            .get(version)
        {
            return Ok(d.clone());
        }
        let record = self
            .store
            .net(version)?
            .ok_or_else(|| EngineError::NotFound(format!("no deployed net version `{version}`")))?;
        let d = Arc::new(Deployment::from_store(
            &self.sandbox,
            self.store.as_ref(),
            record,
        )?);
        self.deployments
            .lock()
            .expect("deployments lock")
            .insert(version.to_string(), d.clone());
        Ok(d)
    }

    /// Starts case `case` on net version `version` with tokens given as
    /// (place, JSON payload); with none, one `null` token in each `start`
    /// place. Durable when it returns.
    pub async fn start_case(
        &self,
        version: &str,
        case: &str,
        tokens: Vec<(String, serde_json::Value)>,
    ) -> Result<CaseRecord, EngineError> {
        check_case_id(case).map_err(EngineError::Invalid)?;
        let dep = self.deployment(version)?;
        let net = &dep.net;
        let tokens = if tokens.is_empty() {
            let starts: Vec<_> = net
                .places()
                .iter()
                .filter(|p| p.start)
                .map(|p| (p.name.clone(), serde_json::Value::Null))
                .collect();
            if starts.is_empty() {
                return Err(EngineError::Invalid(format!(
                    "net `{}` declares no `start = true` place, so a case needs explicit tokens (e.g. --token PLACE=JSON)",
                    net.name()
                )));
            }
            starts
        } else {
            tokens
        };
        let mut records = Vec::with_capacity(tokens.len());
        let mut produce = Vec::with_capacity(tokens.len());
        for (place, value) in tokens {
            let Some(p) = net.place_index(&place) else {
                let known: Vec<_> = net
                    .places()
                    .iter()
                    .filter(|p| !p.shared)
                    .map(|p| p.name.as_str())
                    .collect();
                return Err(EngineError::Invalid(format!(
                    "token for unknown place `{place}` (places of net `{}`: {})",
                    net.name(),
                    known.join(", ")
                )));
            };
            if net.places()[p].shared {
                return Err(EngineError::Invalid(format!(
                    "place `{place}` is shared; a case cannot bring tokens into it"
                )));
            }
            let payload = encode_json(&value)?;
            let seq = self.store.next_id()?;
            records.push(TokenRecord {
                place: place.clone(),
                seq,
                shared: false,
                payload: payload.clone(),
            });
            produce.push(StoredToken {
                owner: Owner::Case(case.to_string()),
                place,
                seq,
                payload,
            });
        }
        let now = now_ms();
        let record = CaseRecord {
            id: case.to_string(),
            net: net.name().to_string(),
            version: version.to_string(),
            status: CaseStatus::Running,
            started_at_ms: now,
            updated_at_ms: now,
            saga: None,
        };
        let event = self.event(
            Some(case),
            Event::CaseStarted {
                net: net.name().to_string(),
                version: version.to_string(),
                tokens: records,
            },
        );
        let mut change = Change {
            produce,
            case: Some(record.clone()),
            events: vec![event],
            ..Change::default()
        };
        self.store.start_case(&mut change)?;
        self.observe(&change.events);
        self.flusher.flush().await?;
        Ok(record)
    }

    /// Fires until nothing is enabled (or `options.max_firings` firings
    /// started), then flushes.
    pub async fn run(&self, options: RunOptions) -> Result<RunSummary, EngineError> {
        if self.driven.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(EngineError::Conflict(
                "a Host's driver fires this engine's cases; a separate run would race it".into(),
            ));
        }
        run::Runner::load(self, options)?.run().await
    }

    /// Marks the engine as fired by a driver (see [`Engine::run`]).
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
    pub fn llm(&self) -> &Arc<crate::llm::LlmHost> {
        &self.llm
    }
}

/// A JSON value as a MessagePack token payload.
pub fn encode_json(value: &serde_json::Value) -> Result<Vec<u8>, EngineError> {
    rmp_serde::to_vec_named(value)
        .map_err(|e| EngineError::Invalid(format!("payload cannot be encoded: {e}")))
}

pub use crate::store::decode_payload;
