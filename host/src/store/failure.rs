//! Why firings fail, and what guests log: records the event log and dead
//! letters keep (their encoding is pinned by the store's snapshot tests).

use serde::{Deserialize, Serialize};

/// One line a guest logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// `trace`, `debug`, `info`, `warn` or `error`; `stdout`/`stderr` for captured output.
    pub level: String,
    /// The text (cut at `[limits] log_line_bytes`, 4 KiB by default).
    pub message: String,
}

/// Why one guest call produced no decision. Each costs one failed attempt;
/// none harms the host or other firings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GuestFailure {
    /// The call ran past its wall-clock deadline.
    #[error("guest ran past its deadline of {timeout_ms} ms")]
    Deadline {
        /// The deadline.
        timeout_ms: u64,
    },
    /// The call used up its instruction budget.
    #[error("guest used up its instruction budget of {fuel} fuel")]
    OutOfFuel {
        /// The budget.
        fuel: u64,
    },
    /// The guest tried to grow its memory past the cap.
    #[error("guest tried to grow its memory past the cap of {memory_mb} MiB")]
    MemoryCap {
        /// The cap.
        memory_mb: u32,
    },
    /// The guest trapped (panic, stack overflow, unreachable, ...).
    #[error("guest trapped: {message}")]
    Trap {
        /// The trap and its wasm backtrace, if any.
        message: String,
    },
    /// The guest returned more payload bytes than allowed.
    #[error("guest returned {bytes} payload bytes, more than the cap of {cap} bytes")]
    OutputTooLarge {
        /// Bytes returned.
        bytes: usize,
        /// The cap.
        cap: usize,
    },
    /// The guest reported an error instead of a decision.
    #[error("guest reported an error: {message}")]
    Guest {
        /// The guest's message.
        message: String,
        /// Whether the guest said a retry could succeed.
        retryable: bool,
    },
    /// The guest could not be instantiated.
    #[error("guest could not be instantiated: {message}")]
    Instantiate {
        /// What wasmtime said.
        message: String,
    },
}

/// Why a firing produced no effect on the marking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum FiringError {
    /// The guest failed (trap, deadline, budget, its own error).
    #[error(transparent)]
    Guest(GuestFailure),
    /// The guest named an outcome its transition does not declare.
    #[error("undeclared outcome `{outcome}` (declared outcomes: {declared})")]
    UndeclaredOutcome {
        /// What the guest named.
        outcome: String,
        /// The declared outcomes, comma-separated.
        declared: String,
    },
    /// The guest produced a token into a place its outcome does not list.
    #[error("outcome `{outcome}` does not produce into place `{place}` (its places: {declared})")]
    WrongPlace {
        /// The outcome.
        outcome: String,
        /// Where the guest produced.
        place: String,
        /// The outcome's places, comma-separated.
        declared: String,
    },
    /// The guest produced the wrong number of tokens into a place.
    #[error(
        "outcome `{outcome}` produces {expected} token(s) into `{place}`, the guest gave {got}"
    )]
    WrongCount {
        /// The outcome.
        outcome: String,
        /// The place.
        place: String,
        /// The arc weight.
        expected: u32,
        /// Tokens the guest produced there.
        got: u32,
    },
    /// The guest produced a payload that is not one MessagePack value.
    #[error("the payload produced into `{place}` is not one MessagePack value: {message}")]
    NotMessagePack {
        /// The place.
        place: String,
        /// What is wrong with it.
        message: String,
    },
    /// Producing the tokens would overfill a place.
    #[error("place `{place}` would hold {would_hold} tokens, over its capacity {capacity}")]
    CapacityExceeded {
        /// The place.
        place: String,
        /// Its capacity.
        capacity: u32,
        /// How many it would hold.
        would_hold: u64,
    },
}

/// One failed attempt of a firing, as a dead letter's error chain keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptFailure {
    /// Attempt number.
    pub attempt: u32,
    /// When it failed (ms since the Unix epoch).
    pub at_ms: u64,
    /// Why.
    pub error: FiringError,
}
