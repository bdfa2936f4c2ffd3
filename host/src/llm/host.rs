//! The engine-wide part of the `llm` capability: the provider, the case
//! budgets, and the way into the event log.

use std::sync::{Arc, OnceLock};

use super::budget::Budgets;
use super::journal::JournalKey;
use super::session::LlmSession;
use super::writer::Writer;
use super::{BoxFuture, LlmProvider};
use crate::net::LlmPolicy;
use crate::store::ExchangeRecord;
use crate::store::{Event, EventRecord, Store, StoreError, now_ms};

/// Makes everything written to the store so far durable (the engine's
/// group commit).
pub type FlushFn = Arc<dyn Fn() -> BoxFuture<'static, Result<(), StoreError>> + Send + Sync>;

/// What every firing's language-model session shares.
pub struct LlmHost {
    pub(crate) provider: Option<Arc<dyn LlmProvider>>,
    store: Arc<dyn Store>,
    flush: FlushFn,
    pub(crate) budgets: Budgets,
    /// Started on first use (inside the runtime).
    writer: OnceLock<Writer>,
    observer: Option<crate::engine::EventObserver>,
}

impl std::fmt::Debug for LlmHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmHost")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// Who is calling: one firing of one transition of one case.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The case.
    pub case: String,
    /// The transition.
    pub transition: String,
    /// The firing id.
    pub firing: u64,
    /// The firing's journal key.
    pub key: JournalKey,
}

impl LlmHost {
    /// A host answering through `provider` (none: every call gets
    /// `not-configured`), logging into `store`, durable through `flush`.
    pub fn new(
        provider: Option<Arc<dyn LlmProvider>>,
        store: Arc<dyn Store>,
        flush: FlushFn,
    ) -> LlmHost {
        LlmHost {
            provider,
            store,
            flush,
            budgets: Budgets::default(),
            writer: OnceLock::new(),
            observer: None,
        }
    }

    /// Tells `observer` of every exchange written (e.g. for metrics).
    pub fn with_observer(mut self, observer: Option<crate::engine::EventObserver>) -> LlmHost {
        self.observer = observer;
        self
    }

    /// The configured provider.
    pub fn provider(&self) -> Option<&Arc<dyn LlmProvider>> {
        self.provider.as_ref()
    }

    /// A session for one firing under `policy`.
    pub fn session(self: &Arc<Self>, caller: Caller, policy: LlmPolicy) -> LlmSession {
        LlmSession::new(self.clone(), caller, policy)
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Appends an exchange to the case's log; with `durable`, waits until
    /// it is on disk.
    pub(crate) async fn record(
        &self,
        case: &str,
        exchange: ExchangeRecord,
        durable: bool,
    ) -> Result<(), StoreError> {
        let event = EventRecord {
            seq: 0, // numbered by the store when it commits
            at_ms: now_ms(),
            case: Some(case.to_string()),
            event: Event::LlmExchange(Box::new(exchange)),
        };
        self.writer
            .get_or_init(|| {
                Writer::start(
                    self.store.clone(),
                    self.flush.clone(),
                    self.observer.clone(),
                )
            })
            .write(event, durable)
            .await
    }
}
