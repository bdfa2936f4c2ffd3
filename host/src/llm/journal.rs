//! The journal: language-model exchanges as the event log keeps them, and
//! what earlier, crash-cut attempts of a firing were answered.
//!
//! Every exchange is an [`Event::LlmExchange`] in the case's log, written as
//! it happens (a successful one is flushed before the guest sees it). It
//! carries the firing's [`JournalKey`] — a hash of case, transition and the
//! input tokens' seqs, the same on every re-run of the firing — and the
//! call's index within the firing. When the engine restarts after a crash,
//! the cut-off firing is logged `firing_abandoned` and runs again; its guest
//! asks the same questions in the same order, and each question whose index
//! and request hash match a successful exchange of an abandoned firing with
//! the same key is answered from the journal: no second call, no second
//! spending, the same decision.
//!
//! Only abandoned firings count: a firing that settled (failed, declined)
//! and runs again on the same inputs asks afresh.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{ChatRequest, ChatResponse, ProviderError, Usage};
use crate::store::{Event, Store, StoreError};

/// Identifies one firing across its re-runs: case, transition and input
/// token seqs, hashed (the firing's determinism seed), as 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JournalKey(pub String);

impl JournalKey {
    /// The key of a firing whose determinism seed is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> JournalKey {
        let hex: String = seed[..16].iter().map(|b| format!("{b:02x}")).collect();
        JournalKey(hex)
    }
}

/// One call a guest made to the language model, as the event log records it.
/// Never holds the API key or any request header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRecord {
    /// The firing that made the call.
    pub firing: u64,
    /// Its transition.
    pub transition: String,
    /// The firing's [`JournalKey`].
    pub key: String,
    /// 0-based index of the call within the firing.
    pub call: u32,
    /// Provider name (`openai`, `cassette`); empty when none is configured.
    pub provider: String,
    /// The configured model.
    pub model: String,
    /// [`ChatRequest::hash`] of the request.
    pub request_hash: String,
    /// What the guest asked.
    pub request: ChatRequest,
    /// The answer, if there was one.
    pub response: Option<ChatResponse>,
    /// Why there was none.
    pub error: Option<ProviderError>,
    /// Wall-clock time of the call, retries included.
    pub latency_ms: u64,
    /// HTTP attempts (0: answered without one: cassette, journal, refusal).
    pub attempts: u32,
    /// Tokens used (as the provider counted; 0 without an answer).
    pub usage: Usage,
    /// Set when the answer came from the journal: the firing that first got it.
    pub replayed_from: Option<u64>,
}

/// A journaled answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Journaled {
    pub(crate) firing: u64,
    pub(crate) request_hash: String,
    pub(crate) response: ChatResponse,
}

/// What a case's log says, for one firing about to call.
#[derive(Debug, Default)]
pub(crate) struct CaseLog {
    /// Journaled answers of abandoned attempts of this firing, by call index.
    pub(crate) answers: HashMap<u32, Journaled>,
    /// Tokens the case has spent (journal replays not counted twice).
    pub(crate) spent: u64,
}

impl CaseLog {
    /// Reads `case`'s log: its spending, and the journal of firing `key`.
    pub(crate) fn read(
        store: &dyn Store,
        case: &str,
        key: &JournalKey,
    ) -> Result<CaseLog, StoreError> {
        let mut abandoned = HashSet::new();
        let mut exchanges = Vec::new();
        let mut spent = 0u64;
        let mut after = 0;
        loop {
            let page = store.events(Some(case), after, 1024)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for rec in page {
                match rec.event {
                    Event::FiringAbandoned { firing, .. } => {
                        abandoned.insert(firing);
                    }
                    Event::LlmExchange(x) => {
                        if x.replayed_from.is_none() {
                            spent += x.usage.total();
                        }
                        if x.key == key.0 {
                            exchanges.push(x);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut answers = HashMap::new();
        for x in exchanges {
            if !abandoned.contains(&x.firing) {
                continue;
            }
            let Some(response) = x.response else { continue };
            answers.entry(x.call).or_insert(Journaled {
                firing: x.replayed_from.unwrap_or(x.firing),
                request_hash: x.request_hash,
                response,
            });
        }
        Ok(CaseLog { answers, spent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hex_of_the_seed() {
        let mut seed = [0u8; 32];
        seed[0] = 0xab;
        seed[15] = 0x01;
        let key = JournalKey::from_seed(&seed);
        assert_eq!(key.0, "ab000000000000000000000000000001");
    }

    fn exchange() -> ExchangeRecord {
        let mut request = ChatRequest::user("refund?");
        request.max_output_tokens = 5;
        ExchangeRecord {
            firing: 7,
            transition: "classify".into(),
            key: "ab01".into(),
            call: 0,
            provider: "openai".into(),
            model: "m".into(),
            request_hash: request.hash(),
            request,
            response: None,
            error: Some(ProviderError::Timeout { after_ms: 250 }),
            latency_ms: 251,
            attempts: 1,
            usage: Usage::default(),
            replayed_from: None,
        }
    }

    /// The event's format (as `petrel history --format json` shows it) is
    /// pinned: changing it is a storage-format change.
    #[test]
    fn the_exchange_event_format_is_pinned() {
        let record = crate::store::EventRecord {
            seq: 9,
            at_ms: 1,
            case: Some("c".into()),
            event: Event::LlmExchange(Box::new(exchange())),
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "seq": 9, "at_ms": 1, "case": "c", "type": "llm_exchange",
                "firing": 7, "transition": "classify", "key": "ab01", "call": 0,
                "provider": "openai", "model": "m",
                "request_hash": exchange().request.hash(),
                "request": { "messages": [{ "role": "user", "content": "refund?" }], "max_output_tokens": 5 },
                "response": null,
                "error": { "kind": "timeout", "after_ms": 250 },
                "latency_ms": 251, "attempts": 1,
                "usage": { "input_tokens": 0, "output_tokens": 0 },
                "replayed_from": null,
            })
        );
        // The store keeps events as MessagePack: they come back whole.
        let bytes = rmp_serde::to_vec_named(&record).unwrap();
        let back: crate::store::EventRecord = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, record);
    }
}
