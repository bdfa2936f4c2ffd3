//! The always-on host: an [`Engine`] with a driver that keeps firing as cases
//! start, timers pass and workers finish external firings. `petrel serve`
//! puts HTTP in front of it; a Rust service embeds it directly.

mod cases;
mod nets;
mod views;
mod work;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

pub use crate::engine::ShutdownReport;
pub use crate::engine::work::{
    ClaimRequest, Compensates, Completion, DEFAULT_LEASE_MS, LeaseInfo, MAX_LEASE_MS,
    MAX_OFFERS_LISTED, OfferFilter, OpenOffer, WorkFailure, WorkItem, WorkOutcome, WorkToken,
};
pub use cases::{CaseFilter, CasePage, MAX_REASON_BYTES};
pub use nets::{NetDetail, OutcomeDetail, PlaceDetail, TransitionDetail};
pub use views::{
    CaseView, DeadLetterPage, HistoryPage, MAX_PAGE, MAX_SCAN, NetPage, NetVersion, TokenView,
};

use crate::engine::driver::Command;
use crate::engine::{Deployed, Engine, EngineConfig, EngineError, decode_payload};
use crate::retention::{Policy, Report as RetentionReport};
use crate::store::{CaseRecord, DeadLetter, EventFilter, Owner};
use crate::verify::GateOptions;

/// The engine plus its driver (see the module docs). Cheap to clone.
///
/// While a `Host` is open its driver alone fires the engine's cases
/// ([`Engine::run`] refuses to race it).
#[derive(Clone, Debug)]
pub struct Host {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    engine: Arc<Engine>,
    commands: mpsc::Sender<Command>,
    claimable: Arc<Notify>,
    /// The driver runs and no shutdown began.
    ready: Arc<AtomicBool>,
    driver: Mutex<Option<JoinHandle<()>>>,
}

/// Longest a claim may long-poll.
const MAX_CLAIM_WAIT: Duration = Duration::from_secs(300);

impl Host {
    /// Opens the data directory and starts the driver, which fires every
    /// running case (and resumes retries, sagas and external firings).
    /// Must be called inside a tokio runtime.
    pub async fn open(config: EngineConfig) -> Result<Host, EngineError> {
        let engine = Arc::new(Engine::open(config).await?);
        engine.set_driven();
        let (commands, receiver) = mpsc::channel(1024);
        let claimable = Arc::new(Notify::new());
        let ready = Arc::new(AtomicBool::new(true));
        let (started, is_started) = oneshot::channel();
        let driver = {
            let engine = engine.clone();
            let claimable = claimable.clone();
            let ready = ready.clone();
            tokio::spawn(async move {
                let result = engine.drive(receiver, claimable.clone(), started).await;
                ready.store(false, Ordering::SeqCst);
                // Long-polling claims wake, ask, and learn the host stopped.
                claimable.notify_waiters();
                if let Err(e) = result {
                    tracing::error!(error = %e, "the driver stopped");
                }
            })
        };
        is_started
            .await
            .map_err(|_| EngineError::Unavailable("the driver did not start".into()))??;
        Ok(Host {
            inner: Arc::new(Inner {
                engine,
                commands,
                claimable,
                ready,
                driver: Mutex::new(Some(driver)),
            }),
        })
    }

    /// The engine underneath.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    async fn send(&self, command: Command) -> Result<(), EngineError> {
        self.inner
            .commands
            .send(command)
            .await
            .map_err(|_| EngineError::Unavailable("the host is shut down".into()))
    }

    /// Sends the command `make` builds and waits for its answer.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, EngineError>>) -> Command,
    ) -> Result<T, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(make(reply)).await?;
        answer
            .await
            .map_err(|_| EngineError::Unavailable("the host shut down before answering".into()))?
    }

    /// Deploys the net file at `file` (see [`Engine::deploy`]): refused
    /// when the deploy check finds a problem.
    pub async fn deploy(&self, file: &Path) -> Result<Deployed, EngineError> {
        self.engine().deploy(file).await
    }

    /// Deploys the net file at `file`, checked as `gate` says (see
    /// [`Engine::deploy_with`]; [`GateOptions::allowing`]`(true)` deploys a
    /// net with problems).
    pub async fn deploy_with(
        &self,
        file: &Path,
        gate: &GateOptions,
    ) -> Result<Deployed, EngineError> {
        self.engine().deploy_with(file, gate).await
    }

    /// Deploys a net sent as text with its guests' bytes by declared guest
    /// path (see [`Engine::deploy_source`]).
    pub async fn deploy_source(
        &self,
        source: &str,
        components: &std::collections::HashMap<String, Vec<u8>>,
    ) -> Result<Deployed, EngineError> {
        self.engine().deploy_source(source, components).await
    }

    /// Deploys a net sent as text, checked as `gate` says (see
    /// [`Engine::deploy_source_with`]).
    pub async fn deploy_source_with(
        &self,
        source: &str,
        components: &std::collections::HashMap<String, Vec<u8>>,
        gate: &GateOptions,
    ) -> Result<Deployed, EngineError> {
        self.engine()
            .deploy_source_with(source, components, gate)
            .await
    }

    /// Every deployed net version, oldest first.
    pub fn nets(&self) -> Result<Vec<NetVersion>, EngineError> {
        let mut nets: Vec<NetVersion> = self
            .engine()
            .store()
            .nets()?
            .into_iter()
            .map(NetVersion::from)
            .collect();
        nets.sort_by(|a, b| (a.deployed_at_ms, &a.version).cmp(&(b.deployed_at_ms, &b.version)));
        Ok(nets)
    }

    /// Up to `limit` (1 to [`MAX_PAGE`]) deployed versions whose version
    /// sorts after `after` ("" for the first page), in version order.
    pub fn nets_page(&self, after: &str, limit: usize) -> Result<NetPage, EngineError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let nets: Vec<NetVersion> = self
            .engine()
            .store()
            .nets_after(after, limit)?
            .into_iter()
            .map(NetVersion::from)
            .collect();
        let next_after = (nets.len() == limit)
            .then(|| nets.last().map(|n| n.version.clone()))
            .flatten();
        Ok(NetPage { nets, next_after })
    }

    /// Starts case `case` on `net` (a version, or a name: its newest
    /// version) with tokens as (place, JSON); durable when it returns, and
    /// the driver fires it from then on.
    pub async fn start_case(
        &self,
        net: &str,
        case: &str,
        tokens: Vec<(String, serde_json::Value)>,
    ) -> Result<CaseRecord, EngineError> {
        let version = self.resolve(net)?;
        let (record, tokens) = self.engine().start(&version, case, tokens).await?;
        let started = Command::CaseStarted {
            record: Box::new(record.clone()),
            tokens,
        };
        if self.send(started).await.is_err() {
            tracing::warn!(case = %record.id, "case stored while the host shuts down; it runs on the next start");
        }
        Ok(record)
    }

    /// A net version, by version or by name (its newest).
    pub(crate) fn resolve(&self, net: &str) -> Result<String, EngineError> {
        let store = self.engine().store();
        if store.net(net)?.is_some() {
            return Ok(net.to_string());
        }
        store
            .latest_version(net)?
            .ok_or_else(|| EngineError::NotFound(format!("no deployed net or version `{net}`")))
    }

    /// A case, with its tokens and dead letters.
    pub fn case(&self, id: &str) -> Result<CaseView, EngineError> {
        let store = self.engine().store();
        let record = store
            .case(id)?
            .ok_or_else(|| EngineError::NotFound(format!("no case `{id}`")))?;
        let tokens = store
            .tokens(&Owner::Case(id.to_string()))?
            .into_iter()
            .map(|t| TokenView {
                payload: decode_payload(&t.payload),
                place: t.place,
                seq: t.seq,
            })
            .collect();
        let dead_letters = store
            .case_dead_letters(id)?
            .into_iter()
            .map(|d| d.id)
            .collect();
        Ok(CaseView {
            record,
            tokens,
            dead_letters,
        })
    }

    /// Up to `limit` (1 to 1000) events of case `id` after seq `after` (0:
    /// from the start).
    pub fn history(&self, id: &str, after: u64, limit: usize) -> Result<HistoryPage, EngineError> {
        self.history_matching(id, after, limit, &EventFilter::default())
    }

    /// Like [`Host::history`], only the events `filter` asks for. A page
    /// reads at most [`MAX_SCAN`] entries of the log, so it may hold fewer
    /// than `limit` events and still have a `next_after`.
    pub fn history_matching(
        &self,
        id: &str,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<HistoryPage, EngineError> {
        let store = self.engine().store();
        if store.case(id)?.is_none() {
            return Err(EngineError::NotFound(format!("no case `{id}`")));
        }
        let limit = limit.clamp(1, MAX_PAGE);
        let mut events = Vec::new();
        let (mut cursor, mut scanned) = (after, 0);
        loop {
            let page = store.events(Some(id), cursor, limit)?;
            let Some(last) = page.last() else {
                return Ok(HistoryPage {
                    events,
                    next_after: None,
                });
            };
            cursor = last.seq;
            scanned += page.len();
            for e in page {
                if filter.matches(&e) {
                    events.push(e);
                    if events.len() == limit {
                        let next_after = events.last().map(|e| e.seq);
                        return Ok(HistoryPage { events, next_after });
                    }
                }
            }
            if scanned >= MAX_SCAN {
                return Ok(HistoryPage {
                    events,
                    next_after: Some(cursor),
                });
            }
        }
    }

    /// Moves the log entries of the finished cases `policy` chooses into an
    /// archive file under `archive_dir` (see [`crate::retention`]), off the
    /// async threads. Safe while the host runs: a case that changes
    /// meanwhile is left for the next run.
    pub async fn compact(
        &self,
        policy: Policy,
        archive_dir: std::path::PathBuf,
    ) -> Result<RetentionReport, EngineError> {
        let store = self.engine().store().clone();
        let now = self.engine().clock().now_ms();
        tokio::task::spawn_blocking(move || {
            crate::retention::compact(store.as_ref(), &archive_dir, &policy, now)
        })
        .await
        .map_err(|e| EngineError::Unavailable(format!("compaction stopped: {e}")))?
        .map_err(EngineError::from)
    }

    /// Every dead letter, oldest first (reads the whole queue: prefer
    /// [`Host::dead_letters_page`] where it may be long).
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, EngineError> {
        self.engine().dead_letters()
    }

    /// Up to `limit` (1 to [`MAX_PAGE`]) dead letters with an id above
    /// `after` (0: from the start), oldest first.
    pub fn dead_letters_page(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<DeadLetterPage, EngineError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let dead_letters = self.engine().store().dead_letters_after(after, limit)?;
        let next_after = (dead_letters.len() == limit)
            .then(|| dead_letters.last().map(|d| d.id))
            .flatten();
        Ok(DeadLetterPage {
            dead_letters,
            next_after,
        })
    }

    /// Puts a dead letter's tokens back for its transition, which the
    /// driver fires again on them; `by` (who) is logged. Durable when it
    /// returns.
    pub async fn retry_dead_letter(&self, id: u64, by: &str) -> Result<DeadLetter, EngineError> {
        let by = by.to_string();
        let letter = self
            .ask(|reply| Command::RetryDeadLetter { id, by, reply })
            .await?;
        self.engine().flush().await?;
        Ok(letter)
    }

    /// Discards a dead letter; who (`by`) and `reason` are logged. Durable
    /// when it returns.
    pub async fn discard_dead_letter(
        &self,
        id: u64,
        by: &str,
        reason: &str,
    ) -> Result<DeadLetter, EngineError> {
        let (by, reason) = (by.to_string(), reason.to_string());
        let letter = self
            .ask(|reply| Command::DiscardDeadLetter {
                id,
                by,
                reason,
                reply,
            })
            .await?;
        self.engine().flush().await?;
        Ok(letter)
    }

    /// Whether the driver is running (false once shutdown began or it failed).
    pub fn ready(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst)
    }

    /// Stops launching firings, lets those in flight finish within `grace`,
    /// flushes. Firings cut off re-run on the next start. A second call
    /// finds nothing to do.
    pub async fn shutdown(&self, grace: Duration) -> Result<ShutdownReport, EngineError> {
        self.inner.ready.store(false, Ordering::SeqCst);
        self.inner.claimable.notify_waiters();
        let (reply, answer) = oneshot::channel();
        let report = match self.send(Command::Shutdown { grace, reply }).await {
            Ok(()) => answer.await.unwrap_or_default(),
            Err(_) => ShutdownReport::default(),
        };
        let driver = self.inner.driver.lock().expect("driver lock").take();
        if let Some(driver) = driver {
            driver
                .await
                .map_err(|e| EngineError::Unavailable(format!("the driver failed: {e}")))?;
        }
        self.engine().flush().await?;
        Ok(report)
    }
}
