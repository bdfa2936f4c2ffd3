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

use crate::store::{ChatResponse, Event, Store, StoreError};

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
}
