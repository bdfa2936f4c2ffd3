//! What a store shared by several hosts offers the engine besides
//! [`Store`](super::Store): each live case is run by one host (it adopts
//! cases no host runs: new ones, and those of a host that died), and the
//! shared tokens of a net version are lent to the host whose cases need
//! them, one host at a time per token.

use std::sync::Arc;

use tokio::sync::Notify;

use super::{CaseRecord, DeadLetter, Reservation, StoreError, StoredToken};

/// Cases a host took on, with what it needs to run them.
#[derive(Debug, Default)]
pub struct Adopted {
    /// Their records.
    pub cases: Vec<CaseRecord>,
    /// Their own tokens, and the shared tokens their reservations hold
    /// (now lent to this host).
    pub tokens: Vec<StoredToken>,
    /// Their dead letters.
    pub dead_letters: Vec<DeadLetter>,
    /// Their reservations (retries, offers, firings cut off).
    pub reservations: Vec<(u64, Reservation)>,
}

/// The host running a case, when it is not this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elsewhere {
    /// Its name (machine and process).
    pub host: String,
    /// Where its HTTP API listens, if it serves one.
    pub url: Option<String>,
}

/// A store several hosts share. See the module docs.
pub trait Cluster: Send + Sync {
    /// This host's id.
    fn host_id(&self) -> u64;
    /// Takes on up to `limit` live cases no host runs.
    fn adopt(&self, limit: usize) -> Result<Adopted, StoreError>;
    /// The live cases this host runs already (it started them before it
    /// loaded them), as adopted.
    fn own(&self) -> Result<Adopted, StoreError>;
    /// Takes on case `id` to act on it (an operator's command): it is this
    /// host's already (nothing is read: `Ok(None)`), or no live host runs
    /// it (`Ok(Some(..))`, read as adopted), or another host runs it.
    fn claim(&self, id: &str) -> Result<Result<Option<Adopted>, Elsewhere>, StoreError>;
    /// The case of firing `firing` and the other live host running it, if
    /// another host runs it.
    fn firing_elsewhere(&self, firing: u64) -> Result<Option<(String, Elsewhere)>, StoreError>;
    /// Borrows the free shared tokens of net version `version` no host holds.
    fn borrow(&self, version: &str) -> Result<Vec<StoredToken>, StoreError>;
    /// Gives shared tokens of `version` (place, seq) back for other hosts;
    /// returns those given (not those this host's changes have not stored
    /// yet).
    fn give_back(
        &self,
        version: &str,
        tokens: &[(String, u64)],
    ) -> Result<Vec<(String, u64)>, StoreError>;
    /// Records that this host waits for shared tokens of exactly these
    /// versions (telling the hosts holding them).
    fn want(&self, versions: &[String]) -> Result<(), StoreError>;
    /// The versions whose shared tokens other hosts wait for.
    fn wanted(&self) -> Result<Vec<String>, StoreError>;
    /// Told when another host may have work for this one (a case freed,
    /// tokens given back or wanted), and when this host is fenced.
    fn wake(&self) -> Arc<Notify>;
    /// Whether another host reaped this one (its lease lapsed): none of its
    /// writes can commit any more.
    fn fenced(&self) -> bool;
    /// Leaves the hosts now: frees this host's cases and lent tokens for
    /// the others, and writes nothing more (a store leaves when dropped
    /// too; this is for a host that must be gone before it returns).
    fn leave(&self) -> Result<(), StoreError>;
    /// The other hosts of the database, oldest first, and how many live
    /// cases no host runs.
    fn hosts(&self) -> Result<(Vec<HostInfo>, u64), StoreError>;
    /// Records where this host's HTTP API listens.
    fn set_url(&self, url: &str) -> Result<(), StoreError>;
    /// Transactions and round trips to the database this host made so far.
    fn traffic(&self) -> Traffic;
}

/// One host of a shared database, as `petrel hosts` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostInfo {
    /// Its id.
    pub id: u64,
    /// Machine and process id.
    pub name: String,
    /// Where its HTTP API listens, if it serves one.
    pub url: Option<String>,
    /// Milliseconds until its lease lapses (negative: lapsed, it is dead
    /// and about to be reaped).
    pub lease_left_ms: i64,
    /// The live cases it runs.
    pub cases: u64,
}

/// What a host asked of the database: transactions (committed or not) and
/// round trips (a pipeline of statements sent together counts once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Transactions, single statements included.
    pub transactions: u64,
    /// Waits for the database's answer.
    pub round_trips: u64,
}
