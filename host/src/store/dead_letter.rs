//! Dead letters: firings that ran out of attempts, kept with everything an
//! operator needs to retry or discard them.

use serde::{Deserialize, Serialize};

use super::{AttemptFailure, CaseStatus, TokenRecord};

/// What ran out of attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeadLetterKind {
    /// An ordinary firing: its case tokens are held here.
    Firing,
    /// A compensation of an aborted case (the case is
    /// `compensation_failed`; its saga waits on this dead letter).
    Compensation {
        /// The firing the compensation undoes.
        compensated: u64,
    },
    /// A whole case that ended aborted or stuck on the last attempt its
    /// net's `[net] retry` allows (`transition` is empty, `tokens` none):
    /// `retry` starts it once more, `discard` leaves it as it ended.
    Case {
        /// How the last attempt ended: `aborted` or `stuck`.
        ended: CaseStatus,
    },
}

/// The decision the guest gave on the last attempt, when it gave one that
/// the host refused (undeclared outcome, wrong places, over capacity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastDecision {
    /// The outcome it named.
    pub outcome: String,
    /// Places it produced into, one entry per token.
    pub places: Vec<String>,
}

/// A firing that exhausted its retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its id: the firing id.
    pub id: u64,
    /// The case.
    pub case: String,
    /// Net version of the case.
    pub version: String,
    /// The transition.
    pub transition: String,
    /// Firing or compensation.
    #[serde(flatten)]
    pub kind: DeadLetterKind,
    /// The case tokens taken out of the marking (payloads included), in
    /// input order; `retry` puts them back under the same seqs.
    pub tokens: Vec<TokenRecord>,
    /// Attempts made.
    pub attempts: u32,
    /// Every failed attempt, oldest first (the error chain).
    pub failures: Vec<AttemptFailure>,
    /// The refused decision of the last attempt, if there was one.
    pub last_decision: Option<LastDecision>,
    /// When it was dead-lettered (ms since the Unix epoch).
    pub dead_at_ms: u64,
}
