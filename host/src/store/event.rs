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
    /// A dead letter was retried: its tokens are back in their places, held
    /// for its transition to fire again on them (or its compensation runs
    /// again), with a fresh attempt count.
    DeadLetterRetried {
        /// The dead letter (its firing id).
        dead_letter: u64,
        /// Its transition.
        transition: String,
        /// The tokens put back.
        restored: Vec<TokenRecord>,
        /// Who retried it (an operator's name; `api` or `cli` when none was
        /// given; empty in logs written before it was recorded).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        by: String,
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
        /// Who discarded it (as for [`Event::DeadLetterRetried`]).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        by: String,
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
    /// A firing of a region's transition aborted (a guest's `abort`, or
    /// `on_exhausted = "abort"`): the region's tokens and its firings' dead
    /// letters went, its completed compensable firings are compensated,
    /// newest first, and one token went to the region's `on_abort` place.
    /// The rest of the case runs on.
    RegionAborted {
        /// Firing id.
        firing: u64,
        /// Transition.
        transition: String,
        /// The region (`[regions.NAME]`).
        region: String,
        /// The guest's reason.
        reason: String,
        /// The region's tokens removed.
        consumed: Vec<TokenRef>,
        /// Dead letters of the region's firings, discarded.
        discarded: Vec<u64>,
        /// The firings to compensate, in the order their compensations run.
        compensations: Vec<u64>,
        /// The token put in `on_abort`.
        produced: Vec<TokenRecord>,
        /// What the guest logged.
        log: Vec<LogLine>,
    },
    /// An operator cancelled the case (`POST /v1/cases/{id}/cancel`,
    /// `petrel cancel`): as [`Event::CaseAborted`], its tokens are removed
    /// and its compensations run, newest first; firings in flight are
    /// discarded as they settle.
    CaseCancelled {
        /// Who cancelled it (the API's caller, or `cli`).
        by: String,
        /// Why, as they said.
        reason: String,
        /// The case tokens removed.
        consumed: Vec<TokenRef>,
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
    /// The net's `[net] retry` started the case again, as attempt
    /// `attempt`, from its start tokens: what the last attempt left (tokens,
    /// dead letters of its firings) went.
    CaseRestarted {
        /// The attempt starting (2 for the first restart).
        attempt: u32,
        /// The case tokens the last attempt left, removed.
        consumed: Vec<TokenRef>,
        /// Dead letters of the last attempt's firings, discarded.
        discarded: Vec<u64>,
        /// The start tokens, produced afresh.
        tokens: Vec<TokenRecord>,
    },
    /// The case ended aborted or stuck on the last attempt its net's
    /// `[net] retry` allows: it waits in the dead-letter queue (a letter of
    /// kind `case`) for an operator to start it once more or discard it.
    CaseDeadLettered {
        /// The letter's id.
        dead_letter: u64,
        /// Attempts made.
        attempts: u32,
        /// How the last one ended.
        ended: super::CaseStatus,
    },
    /// Finished cases' entries left the log for an archive (see
    /// `petrel::retention`); each case's record says where, and holds a
    /// digest of the tokens they left it. This entry keeps what those
    /// entries did to the shared tokens (net of each other), so replaying
    /// the live log still rebuilds the marking.
    LogCompacted {
        /// Cases compacted with this entry.
        cases: u64,
        /// Shared tokens the archived entries produced and did not consume,
        /// with their net version.
        produced: Vec<(String, TokenRecord)>,
        /// Shared tokens the archived entries consumed and did not produce,
        /// with their net version.
        consumed: Vec<(String, TokenRef)>,
    },
}

impl Event {
    /// The entry's type as it is written (`type` in JSON), e.g.
    /// `firing_completed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::NetDeployed { .. } => "net_deployed",
            Event::SharedTokensAdded { .. } => "shared_tokens_added",
            Event::CaseStarted { .. } => "case_started",
            Event::FiringCompleted { .. } => "firing_completed",
            Event::FiringDeclined { .. } => "firing_declined",
            Event::FiringFailed { .. } => "firing_failed",
            Event::FiringDeadLettered { .. } => "firing_dead_lettered",
            Event::DeadLetterRetried { .. } => "dead_letter_retried",
            Event::DeadLetterDiscarded { .. } => "dead_letter_discarded",
            Event::CompensationCompleted { .. } => "compensation_completed",
            Event::FiringClaimed { .. } => "firing_claimed",
            Event::FiringAbandoned { .. } => "firing_abandoned",
            Event::FiringDiscarded { .. } => "firing_discarded",
            Event::CaseAborted { .. } => "case_aborted",
            Event::RegionAborted { .. } => "region_aborted",
            Event::CaseCancelled { .. } => "case_cancelled",
            Event::LlmExchange(_) => "llm_exchange",
            Event::CaseCompleted => "case_completed",
            Event::CaseStuck { .. } => "case_stuck",
            Event::CaseRestarted { .. } => "case_restarted",
            Event::CaseDeadLettered { .. } => "case_dead_lettered",
            Event::LogCompacted { .. } => "log_compacted",
        }
    }

    /// Every [`Event::kind`], in declaration order.
    pub const KINDS: [&'static str; 22] = [
        "net_deployed",
        "shared_tokens_added",
        "case_started",
        "firing_completed",
        "firing_declined",
        "firing_failed",
        "firing_dead_lettered",
        "dead_letter_retried",
        "dead_letter_discarded",
        "compensation_completed",
        "firing_claimed",
        "firing_abandoned",
        "firing_discarded",
        "case_aborted",
        "region_aborted",
        "case_cancelled",
        "llm_exchange",
        "case_completed",
        "case_stuck",
        "case_restarted",
        "case_dead_lettered",
        "log_compacted",
    ];
}

/// Payload bytes as a MessagePack `bin`; in JSON, the decoded value.
mod serde_bytes_compat {
    use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
    use serde::de::{Error, MapAccess, SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    /// Bytes in the store; the decoded value in JSON (history, dead letters
    /// over the API and `--format json`).
    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            super::decode_payload(bytes).serialize(s)
        } else {
            s.serialize_bytes(bytes)
        }
    }

    /// Bytes (MessagePack `bin`); from a format that holds the payload
    /// decoded (an archive's JSON lines), the value encoded again as
    /// MessagePack.
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_any(V)
    }

    struct V;

    fn encoded<E: Error>(value: Value) -> Result<Vec<u8>, E> {
        rmp_serde::to_vec(&value).map_err(E::custom)
    }

    impl<'de> Visitor<'de> for V {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("bytes, or a decoded payload")
        }
        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_unit<E: Error>(self) -> Result<Vec<u8>, E> {
            encoded(Value::Null)
        }
        fn visit_none<E: Error>(self) -> Result<Vec<u8>, E> {
            encoded(Value::Null)
        }
        fn visit_bool<E: Error>(self, v: bool) -> Result<Vec<u8>, E> {
            encoded(Value::Bool(v))
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<Vec<u8>, E> {
            encoded(Value::from(v))
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<Vec<u8>, E> {
            encoded(Value::from(v))
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<Vec<u8>, E> {
            encoded(Value::from(v))
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Vec<u8>, E> {
            encoded(Value::from(v))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<u8>, A::Error> {
            encoded(Value::deserialize(SeqAccessDeserializer::new(seq))?)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<u8>, A::Error> {
            encoded(Value::deserialize(MapAccessDeserializer::new(map))?)
        }
    }
}
