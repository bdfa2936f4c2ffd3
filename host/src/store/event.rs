//! The event log: an append-only record of everything that happened, from
//! which the marking can be rebuilt (see `replay`).

use serde::{Deserialize, Serialize};

use super::{FiringError, LogLine};

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Position in the log (increasing, not dense).
    pub seq: u64,
    /// When it was written (ms since the Unix epoch).
    pub at_ms: u64,
    /// The case it concerns, if any.
    pub case: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// A token as the log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Its place.
    pub place: String,
    /// Its sequence number (FIFO order within the place).
    pub seq: u64,
    /// Whether it is a shared (resource) token.
    pub shared: bool,
    /// MessagePack payload (in the store; a human-readable format such as
    /// JSON shows it decoded).
    #[serde(with = "serde_bytes_compat")]
    pub payload: Vec<u8>,
}

/// A MessagePack token payload as JSON (binary data becomes an array of numbers).
pub fn decode_payload(payload: &[u8]) -> serde_json::Value {
    rmp_serde::from_slice(payload).unwrap_or_else(|_| {
        serde_json::Value::String(format!("<{} undecodable bytes>", payload.len()))
    })
}

/// A reference to a token that was consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRef {
    /// Its place.
    pub place: String,
    /// Its sequence number.
    pub seq: u64,
    /// Whether it is a shared (resource) token.
    pub shared: bool,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A net version was deployed.
    NetDeployed {
        /// Net name.
        net: String,
        /// Version hash.
        version: String,
    },
    /// Shared resource tokens were added to a net version.
    SharedTokensAdded {
        /// Version hash.
        version: String,
        /// The tokens.
        tokens: Vec<TokenRecord>,
    },
    /// A case started with these tokens.
    CaseStarted {
        /// Net name.
        net: String,
        /// Version hash.
        version: String,
        /// The case's first tokens.
        tokens: Vec<TokenRecord>,
    },
    /// A firing committed: inputs consumed, outcome's tokens produced.
    FiringCompleted {
        /// Firing id.
        firing: u64,
        /// Transition.
        transition: String,
        /// Attempt number.
        attempt: u32,
        /// The outcome fired.
        outcome: String,
        /// Whether the host fired the outcome itself because the deadline passed.
        timed_out: bool,
        /// Consumed tokens.
        consumed: Vec<TokenRef>,
        /// Produced tokens.
        produced: Vec<TokenRecord>,
        /// What the guest logged.
        log: Vec<LogLine>,
        /// Guest time in microseconds.
        elapsed_us: u64,
    },
    /// The guest declined (guard false): inputs stay.
    FiringDeclined {
        /// Firing id.
        firing: u64,
        /// Transition.
        transition: String,
        /// Attempt number.
        attempt: u32,
        /// What the guest logged.
        log: Vec<LogLine>,
    },
    /// The firing failed: inputs stay where they were (held for the retry).
    FiringFailed {
        /// Firing id (the same for every attempt of one firing).
        firing: u64,
        /// Transition.
        transition: String,
        /// Attempt number.
        attempt: u32,
        /// Why.
        error: FiringError,
        /// What the guest logged.
        log: Vec<LogLine>,
        /// When the next attempt may start (the durable timer), if the retry
        /// policy retries it; `None`: exhausted (a dead letter or an abort
        /// follows in the same commit).
        #[serde(default)]
        retry_at_ms: Option<u64>,
        /// Set when the firing was a compensation: the firing it undoes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compensating: Option<u64>,
    },
    /// A firing ran out of attempts: its case tokens moved to the
    /// dead-letter queue (shared tokens went back), the case is stuck.
    FiringDeadLettered {
        /// Firing id; also the dead letter's id.
        firing: u64,
        /// Transition.
        transition: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        error: FiringError,
        /// The case tokens moved out of the marking into the dead letter.
        consumed: Vec<TokenRef>,
        /// Set when the firing was a compensation: the firing it undoes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compensating: Option<u64>,
    },
    /// A dead letter was retried: its tokens are back in their places (or
    /// its compensation runs again) with a fresh attempt count.
    DeadLetterRetried {
        /// The dead letter (its firing id).
        dead_letter: u64,
        /// Its transition.
        transition: String,
        /// The tokens put back.
        restored: Vec<TokenRecord>,
    },
    /// A dead letter was discarded: its tokens are gone for good.
    DeadLetterDiscarded {
        /// The dead letter (its firing id).
        dead_letter: u64,
        /// Its transition.
        transition: String,
        /// Why, as the operator gave it.
        reason: String,
        /// The tokens dropped.
        dropped: Vec<TokenRef>,
    },
    /// A compensation committed: the compensated firing is undone.
    CompensationCompleted {
        /// Firing id of the compensation.
        firing: u64,
        /// The compensation transition.
        transition: String,
        /// The compensated firing.
        compensated: u64,
        /// Attempt number.
        attempt: u32,
        /// The outcome fired (`None`: the guest declined, nothing to undo).
        outcome: Option<String>,
        /// Tokens produced.
        produced: Vec<TokenRecord>,
        /// What the guest logged.
        log: Vec<LogLine>,
        /// Compensations still to run for the case.
        remaining: u32,
    },
    /// A worker claimed an external firing.
    FiringClaimed {
        /// Firing id.
        firing: u64,
        /// Transition.
        transition: String,
        /// Attempt number.
        attempt: u32,
        /// Who claimed it.
        worker: String,
        /// When the lease ends (ms since the Unix epoch).
        lease_until_ms: u64,
    },
    /// A firing was cut off by a crash before it committed; it runs again.
    FiringAbandoned {
        /// Firing id.
        firing: u64,
        /// Transition.
        transition: String,
    },
    /// The case was aborted while this firing ran: its decision is void,
    /// its case inputs are removed, its shared inputs stay.
    FiringDiscarded {
        /// Firing id.
        firing: u64,
        /// Transition.
        transition: String,
        /// The case tokens removed.
        consumed: Vec<TokenRef>,
        /// What the guest logged.
        log: Vec<LogLine>,
    },
    /// A guest aborted the case (or a firing whose policy says
    /// `on_exhausted = "abort"` ran out of attempts): the case's tokens are
    /// removed, shared tokens go back, and the compensations of its
    /// completed compensable firings run, newest first.
    CaseAborted {
        /// Firing id.
        firing: u64,
        /// Transition.
        transition: String,
        /// The guest's reason.
        reason: String,
        /// The case tokens removed.
        consumed: Vec<TokenRef>,
        /// What the guest logged.
        log: Vec<LogLine>,
        /// The firings to compensate, in the order their compensations run.
        #[serde(default)]
        compensations: Vec<u64>,
    },
    /// A guest's call to the language model (request, answer or error,
    /// model, latency, usage; never the key), appended as it happened,
    /// before its firing commits. Replay ignores it; a re-run of a firing
    /// cut off by a crash is answered from it (see `llm::journal`).
    LlmExchange(Box<super::ExchangeRecord>),
    /// Nothing is enabled and every token is in a final place.
    CaseCompleted,
    /// Nothing is enabled and some token is outside the final places.
    CaseStuck {
        /// Places holding the non-final tokens.
        places: Vec<String>,
    },
}

/// Payload bytes as a MessagePack `bin` (and a JSON array of numbers).
mod serde_bytes_compat {
    use serde::{Deserializer, Serialize, Serializer};

    /// Bytes in the store; the decoded value in JSON (history, dead letters
    /// over the API and `--format json`).
    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            super::decode_payload(bytes).serialize(s)
        } else {
            s.serialize_bytes(bytes)
        }
    }

    /// Bytes.
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        d.deserialize_bytes(V)
    }
}
