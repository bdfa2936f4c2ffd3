//! The store: marking, reservations, event log, cases and deployed nets.
//!
//! [`Store`] is the interface the engine writes through; [`SledStore`] keeps
//! it in sled. Every change to the marking is one [`Change`] applied in one
//! transaction together with its log entries, re-checking that the tokens it
//! consumes are still there; many changes may share one transaction and one
//! flush (group commit). Nothing is acknowledged to a caller before
//! [`Store::flush`] returned after it.

mod case_entry;
mod case_index;
mod cluster;
mod compaction;
mod dead_letter;
mod directory;
mod error;
mod event;
mod event_filter;
mod exchange;
mod failure;
mod keys;
mod letter_index;
pub mod postgres;
mod record;
mod replay;
mod sled_store;
mod token;
mod token_entry;
mod transaction;
mod vacuum;

pub use cluster::{Adopted, Cluster, Elsewhere, HostInfo, Traffic};
pub use dead_letter::{DeadLetter, DeadLetterKind, LastDecision};
pub use error::StoreError;
pub use event::{Event, EventRecord, TokenRecord, TokenRef, decode_payload};
pub use event_filter::EventFilter;
pub use exchange::{ChatMessage, ChatRequest, ChatResponse, ExchangeRecord, ProviderError, Usage};
pub use failure::{AttemptFailure, FiringError, GuestFailure, LogLine};
pub(crate) use record::is_zero;
pub use record::{
    Archived, CaseRecord, CaseStatus, Lease, NetRecord, Reservation, Saga, SagaStep, tokens_digest,
};
pub(crate) use replay::Rebuild;
pub use replay::{ReplayReport, replay};
pub use sled_store::SledStore;
pub use token::{Owner, StoredToken, TokenId};
pub use vacuum::{bytes_under, vacuum};

pub(crate) use error::{decode, encode};

/// The one byte MessagePack never uses: it leads a stored value that is
/// more than a record (`case_entry`, `token_entry`), as no record starts
/// with it.
const NOT_MESSAGEPACK: u8 = 0xC1;

/// A reservation a change removes: firing `firing`'s, which holds `tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The firing holding it.
    pub firing: u64,
    /// The tokens its reservation holds, in input order (as the
    /// [`Reservation`] lists them).
    pub tokens: Vec<TokenId>,
}

/// One atomic change: all of it commits, or none.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Reservations removed by this change (each must exist).
    pub release: Vec<Release>,
    /// Reservations written (created, or replaced by a retry's).
    pub reserve: Vec<(u64, Reservation)>,
    /// Tokens consumed (each must exist).
    pub consume: Vec<TokenId>,
    /// Tokens produced.
    pub produce: Vec<StoredToken>,
    /// Case record written (created or updated).
    pub case: Option<CaseRecord>,
    /// Log entries appended. The store numbers them when it commits (their
    /// `seq` is set then): seqs increase in commit order, so a reader paging
    /// with the last seq it saw never skips an entry committed before.
    pub events: Vec<EventRecord>,
    /// A dead letter stored.
    pub dead_letter: Option<DeadLetter>,
    /// A dead letter removed (must exist).
    pub remove_dead_letter: Option<u64>,
    /// The change starts its case ([`Change::case`]): the whole
    /// transaction is refused with [`StoreError::CaseExists`] if that id is
    /// stored already or started earlier in the same transaction.
    pub starts_case: bool,
    /// The change compacts its case ([`Change::case`], which must be stored
    /// with the same status and `updated_at_ms`, else the transaction is
    /// refused with a conflict): every log entry of the case written before
    /// this transaction leaves the log (only this change's own entries
    /// stay). Other cases' entries stay.
    pub compacts_case: bool,
}

/// Storage the engine runs on. Implementations must apply a [`Change`]
/// atomically and keep what [`Store::flush`] returned after across crashes.
pub trait Store: Send + Sync {
    /// A fresh id, unique and increasing for the store's whole life (token
    /// seqs, firing ids, event seqs).
    fn next_id(&self) -> Result<u64, StoreError>;

    /// Stores a net version, its components and its initial shared tokens,
    /// unless the version is there already. Returns whether it was new.
    fn deploy(
        &self,
        net: &NetRecord,
        components: &[(String, Vec<u8>)],
        shared: &mut Change,
    ) -> Result<bool, StoreError>;
    /// A deployed net version.
    fn net(&self, version: &str) -> Result<Option<NetRecord>, StoreError>;
    /// The version most recently deployed under a net name.
    fn latest_version(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Every deployed net version.
    fn nets(&self) -> Result<Vec<NetRecord>, StoreError>;
    /// Up to `limit` deployed net versions whose version sorts after
    /// `after` ("" for the first), in version order (a page: only those
    /// are read).
    fn nets_after(&self, after: &str, limit: usize) -> Result<Vec<NetRecord>, StoreError>;
    /// Component bytes by hash.
    fn component(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// A case.
    fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError>;
    /// Every case.
    fn cases(&self) -> Result<Vec<CaseRecord>, StoreError>;
    /// Up to `limit` cases, newest started first (cases started in the
    /// same ms: greater id first), each ordered after `before` (the start
    /// time and id of the previous page's last case; `None`: from the
    /// newest). A page: only those are read.
    fn cases_newest_first(
        &self,
        before: Option<(u64, &str)>,
        limit: usize,
    ) -> Result<Vec<CaseRecord>, StoreError>;

    /// The tokens of one owner, by place then FIFO.
    fn tokens(&self, owner: &Owner) -> Result<Vec<StoredToken>, StoreError>;
    /// Every token.
    fn all_tokens(&self) -> Result<Vec<StoredToken>, StoreError>;
    /// One token's payload.
    fn payload(&self, token: &TokenId) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every reservation left.
    fn reservations(&self) -> Result<Vec<(u64, Reservation)>, StoreError>;
    /// Applies changes in one transaction, numbering their log entries (see
    /// [`Change::events`]). If any conflicts, nothing is applied and the
    /// error names it.
    fn apply(&self, changes: &mut [Change]) -> Result<(), StoreError>;

    /// Every dead letter, oldest first.
    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError>;
    /// Up to `limit` dead letters with an id above `after`, oldest first
    /// (a page: only those are read).
    fn dead_letters_after(&self, after: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError>;
    /// How many dead letters there are (none is decoded).
    fn dead_letter_count(&self) -> Result<usize, StoreError>;
    /// One dead letter.
    fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, StoreError>;
    /// The dead letters of one case, oldest first.
    fn case_dead_letters(&self, case: &str) -> Result<Vec<DeadLetter>, StoreError>;

    /// Log entries with seq > `after`, of one case or of all, at most `limit`.
    fn events(
        &self,
        case: Option<&str>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<EventRecord>, StoreError>;

    /// Makes everything written so far durable.
    fn flush(&self) -> Result<(), StoreError>;

    /// The store's side of sharing it with other hosts, if it can be
    /// shared (PostgreSQL); `None`: this process is its only host.
    fn cluster(&self) -> Option<&dyn Cluster> {
        None
    }
}

/// Checks a case id: 1 to 128 ASCII letters, digits, `_`, `-`, `.` or `:`.
pub fn check_case_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid case id `{id}` (expected 1 to 128 ASCII letters, digits, `_`, `-`, `.` or `:`)"
        ))
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
pub(crate) mod conformance;
#[cfg(test)]
mod tests;
