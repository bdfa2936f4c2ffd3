//! What a daemon's driver is asked to do (its commands, sent by the
//! [`Host`](crate::Host)), and what shutting it down did.

use std::time::Duration;

use tokio::sync::oneshot;

use super::EngineError;
use super::work::{
    ClaimRequest, Completion, LeaseInfo, OfferFilter, OpenOffer, WorkFailure, WorkItem,
};
use crate::store::{CaseRecord, DeadLetter, StoredToken};

/// A reply channel.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// What a daemon's driver is asked to do.
pub(crate) enum Command {
    /// A case was started (it is durable, as are its tokens); fire it.
    CaseStarted {
        record: Box<CaseRecord>,
        tokens: Vec<StoredToken>,
    },
    /// A worker claims an external firing.
    Claim {
        request: ClaimRequest,
        lease_ms: u64,
        reply: Reply<Option<WorkItem>>,
    },
    /// A worker completes a claimed firing.
    Complete {
        firing: u64,
        lease: String,
        completion: Completion,
        reply: Reply<()>,
    },
    /// A worker failed a claimed firing.
    Fail {
        firing: u64,
        lease: String,
        failure: WorkFailure,
        reply: Reply<()>,
    },
    /// A worker extends its lease.
    Extend {
        firing: u64,
        lease: String,
        lease_ms: u64,
        reply: Reply<LeaseInfo>,
    },
    /// List the open offers.
    Offers {
        filter: OfferFilter,
        reply: Reply<Vec<OpenOffer>>,
    },
    /// Count the tokens per place of a net version's live cases.
    PlaceCounts {
        version: String,
        reply: Reply<std::collections::BTreeMap<String, usize>>,
    },
    /// An operator cancels a case (`None`: it is not loaded).
    Cancel {
        id: String,
        by: String,
        reason: String,
        reply: Reply<Option<CaseRecord>>,
    },
    /// Retry a dead letter.
    RetryDeadLetter {
        id: u64,
        by: String,
        reply: Reply<DeadLetter>,
    },
    /// Discard a dead letter.
    DiscardDeadLetter {
        id: u64,
        by: String,
        reason: String,
        reply: Reply<DeadLetter>,
    },
    /// Stop launching; let firings in flight finish within `grace`.
    Shutdown {
        grace: Duration,
        reply: oneshot::Sender<ShutdownReport>,
    },
}

/// What shutting a driver down did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ShutdownReport {
    /// In-flight firings that finished within the grace period.
    pub finished: u64,
    /// In-flight firings cut off (re-run on the next start).
    pub cut_off: u64,
}
