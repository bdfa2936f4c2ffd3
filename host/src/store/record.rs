//! Records the store keeps besides tokens and events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AttemptFailure, TokenId, TokenRecord};

/// A deployed net version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetRecord {
    /// The net's declared name.
    pub name: String,
    /// Content hash of the net file and its components.
    pub version: String,
    /// Path of the net file it was deployed from (for messages, and to
    /// resolve nothing: components are stored).
    pub file: String,
    /// Exact text of the net file.
    pub source: String,
    /// Component hash per guest transition, in net order.
    pub components: Vec<(String, String)>,
    /// When it was first deployed (ms since the Unix epoch).
    pub deployed_at_ms: u64,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Something may still fire.
    Running,
    /// Nothing is enabled and every token lies in a final place.
    Completed,
    /// Nothing is enabled and some token lies outside the final places.
    Stuck,
    /// The case aborted and every compensation ran (or there were none).
    Aborted,
    /// The case aborted; its compensations are running, newest firing first.
    Compensating,
    /// A compensation failed for good: it waits in the dead-letter queue.
    CompensationFailed,
    /// The case ended aborted or stuck and starts again from its start
    /// tokens at [`CaseRecord::restart_at_ms`], as a new attempt (the net's
    /// `[net] retry`).
    Restarting,
}

impl CaseStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [CaseStatus; 7] = [
        CaseStatus::Running,
        CaseStatus::Stuck,
        CaseStatus::Restarting,
        CaseStatus::Completed,
        CaseStatus::Compensating,
        CaseStatus::CompensationFailed,
        CaseStatus::Aborted,
    ];

    /// The status's name as shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Running => "running",
            CaseStatus::Completed => "completed",
            CaseStatus::Stuck => "stuck",
            CaseStatus::Aborted => "aborted",
            CaseStatus::Compensating => "compensating",
            CaseStatus::CompensationFailed => "compensation_failed",
            CaseStatus::Restarting => "restarting",
        }
    }

    /// Whether the case can still change without outside help.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CaseStatus::Completed | CaseStatus::Aborted | CaseStatus::CompensationFailed
        )
    }

    /// Whether the case aborted (its ordinary transitions never fire again).
    pub fn is_aborted(self) -> bool {
        matches!(
            self,
            CaseStatus::Aborted | CaseStatus::Compensating | CaseStatus::CompensationFailed
        )
    }
}

/// One case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case id.
    pub id: String,
    /// Net name.
    pub net: String,
    /// Net version the case runs on for its whole life.
    pub version: String,
    /// Where it stands.
    pub status: CaseStatus,
    /// When it started (ms since the Unix epoch).
    pub started_at_ms: u64,
    /// When its status last changed.
    pub updated_at_ms: u64,
    /// Set once its log entries moved to an archive (see
    /// `petrel::retention`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<Archived>,
    /// Completed firings of transitions that name a `compensate`, oldest
    /// first: what an abort compensates, newest first. Kept with the case
    /// (written by the firing's own commit), so an abort never reads the log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compensable: Vec<SagaStep>,
    /// Compensations still to run after an abort (the saga's durable cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saga: Option<Saga>,
    /// Which attempt of the case this is: 1, then one more each time the
    /// net's `[net] retry` starts it again.
    #[serde(default = "first_attempt", skip_serializing_if = "is_first_attempt")]
    pub attempt: u32,
    /// The case's first tokens (payloads; their seqs as first stored), kept
    /// when its net retries whole cases: a new attempt starts from them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start: Vec<TokenRecord>,
    /// When a `restarting` case starts again (ms since the Unix epoch; a
    /// durable timer), 0 otherwise.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub restart_at_ms: u64,
    /// Regions (`[regions.NAME]`) that aborted, each with the id drawn at
    /// its last abort: a firing of the region launched before (a lower
    /// firing id) is discarded when it returns.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub region_aborts: BTreeMap<String, u64>,
}

fn first_attempt() -> u32 {
    1
}

fn is_first_attempt(n: &u32) -> bool {
    *n == 1
}

/// Where a compacted case's log entries went, and the marking they left:
/// the snapshot `replay` checks the case's stored tokens against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    /// When it was compacted (ms since the Unix epoch).
    pub at_ms: u64,
    /// The archive file holding its entries (relative to the archive
    /// directory).
    pub file: String,
    /// Entries archived.
    pub events: u64,
    /// Seq of the last entry archived.
    pub last_seq: u64,
    /// BLAKE3 (first 16 bytes, hex) of the case's tokens as its entries
    /// left them (see [`tokens_digest`]).
    pub tokens: String,
}

/// The digest [`Archived::tokens`] holds: of each token's place, seq and
/// payload, in key order.
pub fn tokens_digest<'a>(tokens: impl IntoIterator<Item = (&'a str, u64, &'a [u8])>) -> String {
    let mut hash = blake3::Hasher::new();
    for (place, seq, payload) in tokens {
        hash.update(&(place.len() as u64).to_be_bytes());
        hash.update(place.as_bytes());
        hash.update(&seq.to_be_bytes());
        hash.update(&(payload.len() as u64).to_be_bytes());
        hash.update(payload);
    }
    hash.finalize().to_hex()[..32].to_string()
}

/// An aborted case's compensations still to run. Kept in the case record, so
/// each step's commit removes it atomically: a restarted host runs every
/// step exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saga {
    /// Why the case aborted.
    pub reason: String,
    /// Steps left, the next first (newest completed firing first).
    pub steps: Vec<SagaStep>,
    /// Attempt number of the next step.
    pub attempt: u32,
    /// The next step waits until then (ms since the Unix epoch; a durable
    /// retry timer), 0 when it may run now.
    pub not_before_ms: u64,
    /// Whether the case starts again once the steps are done (a firing
    /// aborted it and its net retries whole cases; not after an operator's
    /// cancel).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub then_restart: bool,
    /// Set while the case runs on: the regions whose aborts queued these
    /// steps (empty: the whole case aborted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// The dead letter a failed step of a region's compensations waits in
    /// (the case runs on meanwhile); cleared when it is retried or
    /// discarded. A whole case's saga waits as `compensation_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_letter: Option<u64>,
    /// Failed attempts of the next step, oldest first.
    pub failures: Vec<AttemptFailure>,
}

impl Saga {
    /// `steps` to run for `reason`, the first from its first attempt, now.
    pub fn new(reason: &str, steps: Vec<SagaStep>) -> Saga {
        Saga {
            reason: reason.to_string(),
            steps,
            attempt: 1,
            not_before_ms: 0,
            failures: Vec::new(),
            then_restart: false,
            regions: Vec::new(),
            waiting_letter: None,
        }
    }

    /// Whether the case runs on while these steps run (a region aborted,
    /// not the case).
    pub fn is_branch(&self) -> bool {
        !self.regions.is_empty()
    }

    /// The next step starts afresh: attempt 1, now, no failures.
    pub fn restart_step(&mut self) {
        self.attempt = 1;
        self.not_before_ms = 0;
        self.failures.clear();
    }

    /// The next step is done (or given up): the one after it starts afresh.
    pub fn step_done(&mut self) {
        if !self.steps.is_empty() {
            self.steps.remove(0);
        }
        self.restart_step();
    }
}

/// One compensation: the completed firing it undoes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaStep {
    /// The compensated firing.
    pub firing: u64,
    /// Its transition.
    pub transition: String,
    /// The outcome it fired.
    pub outcome: String,
    /// The compensation transition that undoes it.
    pub compensation: String,
    /// The tokens it consumed.
    pub inputs: Vec<TokenRecord>,
    /// The tokens it produced.
    pub outputs: Vec<TokenRecord>,
}

/// Inputs held by a firing in progress or waiting to be retried. Written
/// before the guest runs; removed by the firing's commit, or rewritten with
/// the next attempt and its `not_before_ms` when the firing failed and will
/// be retried (a durable timer). One left running at start-up belongs to a
/// firing a crash cut off: its tokens never left their places, so the same
/// attempt runs again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The case.
    pub case: String,
    /// The transition.
    pub transition: String,
    /// Attempt number.
    pub attempt: u32,
    /// The reserved tokens, in input order.
    pub tokens: Vec<TokenId>,
    /// When the firing started (ms since the Unix epoch); the guest's clock.
    pub started_at_ms: u64,
    /// A retry waits until then (ms since the Unix epoch); 0 for a firing
    /// launched now.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_before_ms: u64,
    /// Failed attempts so far, oldest first (the dead-letter error chain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<AttemptFailure>,
    /// A firing of an `external = true` transition: offered to workers, not
    /// run by the host (a crash does not cut it off).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The worker's lease, once an external firing is claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Set for a claimed external compensation: the firing it undoes (the
    /// case's next saga step). It holds no tokens; the claim outlives a
    /// restart as a firing's does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensates: Option<u64>,
}

/// For `skip_serializing_if` on `u64` fields that `serde(default)` fills
/// in: a first attempt's reservation leaves its defaults out of the record,
/// so the record every firing writes stays small.
pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A worker's hold on a claimed external firing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Lease id; completing, failing or extending must present it.
    pub id: String,
    /// Who claimed it.
    pub worker: String,
    /// When the lease ends (ms since the Unix epoch).
    pub until_ms: u64,
    /// How long it was granted or last extended for.
    pub lease_ms: u64,
}
