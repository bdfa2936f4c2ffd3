//! The engine-wide part of the `llm` capability: the provider, the case
//! budgets, and the way into the event log.

use std::sync::Arc;

use super::budget::Budgets;
use super::journal::JournalKey;
use super::session::LlmSession;
use super::{BoxFuture, LlmProvider};
use crate::net::LlmPolicy;
use crate::store::{Event, EventRecord, ExchangeRecord, Store, StoreError, now_ms};

/// Appends a log entry through the engine's commit path; with `durable`
/// (the second argument), resolves once it is on disk.
pub type JournalFn =
    Arc<dyn Fn(EventRecord, bool) -> BoxFuture<'static, Result<(), StoreError>> + Send + Sync>;

/// What every firing's language-model session shares.
pub struct LlmGateway {
    pub(crate) provider: Option<Arc<dyn LlmProvider>>,
    store: Arc<dyn Store>,
    journal: JournalFn,
    pub(crate) budgets: Budgets,
    /// Put prompts and answers on `petrel.llm` spans.
    pub(crate) record_bodies: bool,
}

impl std::fmt::Debug for LlmGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmGateway")
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

impl LlmGateway {
    /// A host answering through `provider` (none: every call gets
    /// `not-configured`), reading journals from `store`, appending
    /// exchanges through `journal`.
    pub fn new(
        provider: Option<Arc<dyn LlmProvider>>,
        store: Arc<dyn Store>,
        journal: JournalFn,
    ) -> LlmGateway {
        LlmGateway {
            provider,
            store,
            journal,
            budgets: Budgets::default(),
            record_bodies: false,
        }
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
        (self.journal)(event, durable).await.map_err(|e| {
            StoreError::Conflict(format!(
                "cannot append the llm exchange to the event log: {e}"
            ))
        })
    }
}
