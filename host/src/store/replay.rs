//! Rebuilding the marking and the dead-letter queue from the event log
//! alone: every token is in exactly one of a place, a dead letter, or
//! consumed by a logged event.

use std::collections::{BTreeMap, HashMap};

use super::{
    Event, EventRecord, Owner, Store, StoreError, TokenId, TokenRecord, TokenRef, tokens_digest,
};

/// What replaying the log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Log entries read.
    pub events: u64,
    /// Tokens in the rebuilt marking.
    pub tokens: usize,
    /// Tokens held by dead letters in the rebuilt state.
    pub dead_tokens: usize,
    /// Differences between the rebuilt and the stored marking; empty when they agree.
    pub mismatches: Vec<String>,
}

/// The marking and the dead letters as a run of log entries leaves them.
/// A token consumed before the run produced it is owed: a later entry may
/// produce it (a `log_compacted` entry stands for entries that came
/// before some that consume its tokens), else it is a problem.
#[derive(Debug, Default)]
pub(crate) struct Rebuild {
    /// Tokens present: key → payload.
    pub(crate) marking: BTreeMap<TokenId, Vec<u8>>,
    /// Dead letter id → the tokens it holds (key → payload).
    pub(crate) dead: BTreeMap<u64, BTreeMap<TokenId, Vec<u8>>>,
    /// Tokens consumed and not (yet) produced → the seq that consumed them.
    pub(crate) owed: BTreeMap<TokenId, u64>,
    /// Case id → its net version.
    pub(crate) versions: HashMap<String, String>,
    /// What cannot be: a token produced twice, an unknown dead letter.
    pub(crate) problems: Vec<String>,
}

impl Rebuild {
    fn owner(&self, case: &str, shared: bool) -> Owner {
        match (shared, self.versions.get(case)) {
            (true, Some(v)) => Owner::Shared(v.clone()),
            _ => Owner::Case(case.to_string()),
        }
    }

    fn add(&mut self, seq: u64, owner: Owner, tokens: &[TokenRecord]) {
        for t in tokens {
            let key = TokenId::new(owner.clone(), t.place.clone(), t.seq);
            if self.owed.remove(&key).is_some() {
                continue;
            }
            if self.marking.insert(key, t.payload.clone()).is_some() {
                self.problems.push(format!(
                    "event {seq} produces token {}#{} twice",
                    t.place, t.seq
                ));
            }
        }
    }

    /// Dead letter `letter` is closed by entry `seq` (which `does` it).
    fn close_letter(&mut self, seq: u64, letter: u64, does: &str) {
        if self.dead.remove(&letter).is_none() {
            self.problems.push(format!(
                "event {seq} {does} dead letter {letter}, which the log never created"
            ));
        }
    }

    fn remove(&mut self, seq: u64, case: &str, refs: &[TokenRef]) -> BTreeMap<TokenId, Vec<u8>> {
        let mut removed = BTreeMap::new();
        for r in refs {
            let key = TokenId::new(self.owner(case, r.shared), r.place.clone(), r.seq);
            match self.marking.remove(&key) {
                Some(payload) => {
                    removed.insert(key, payload);
                }
                None => {
                    self.owed.insert(key, seq);
                }
            }
        }
        removed
    }

    fn produce(&mut self, seq: u64, case: &str, produced: &[TokenRecord]) {
        let (shared, own): (Vec<_>, Vec<_>) = produced.iter().cloned().partition(|t| t.shared);
        let shared_owner = self.owner(case, true);
        self.add(seq, shared_owner, &shared);
        self.add(seq, Owner::Case(case.to_string()), &own);
    }

    /// Applies one log entry.
    pub(crate) fn apply(&mut self, rec: &EventRecord) {
        let case = rec.case.as_deref().unwrap_or("");
        match &rec.event {
            Event::SharedTokensAdded { version, tokens } => {
                self.add(rec.seq, Owner::Shared(version.clone()), tokens);
            }
            Event::CaseStarted {
                version, tokens, ..
            } => {
                self.versions.insert(case.to_string(), version.clone());
                self.add(rec.seq, Owner::Case(case.to_string()), tokens);
            }
            Event::LogCompacted {
                produced, consumed, ..
            } => {
                for (version, r) in consumed {
                    let key = TokenId::new(Owner::Shared(version.clone()), r.place.clone(), r.seq);
                    if self.marking.remove(&key).is_none() {
                        self.owed.insert(key, rec.seq);
                    }
                }
                for (version, t) in produced {
                    self.add(
                        rec.seq,
                        Owner::Shared(version.clone()),
                        std::slice::from_ref(t),
                    );
                }
            }
            Event::FiringCompleted {
                consumed, produced, ..
            } => {
                self.remove(rec.seq, case, consumed);
                self.produce(rec.seq, case, produced);
            }
            Event::CompensationCompleted { produced, .. } => self.produce(rec.seq, case, produced),
            Event::CaseAborted { consumed, .. }
            | Event::CaseCancelled { consumed, .. }
            | Event::FiringDiscarded { consumed, .. } => {
                self.remove(rec.seq, case, consumed);
            }
            Event::RegionAborted {
                consumed,
                discarded,
                produced,
                ..
            } => {
                self.remove(rec.seq, case, consumed);
                for letter in discarded {
                    self.close_letter(rec.seq, *letter, "discards");
                }
                self.produce(rec.seq, case, produced);
            }
            Event::CaseRestarted {
                consumed,
                discarded,
                tokens,
                ..
            } => {
                self.remove(rec.seq, case, consumed);
                for letter in discarded {
                    self.close_letter(rec.seq, *letter, "discards");
                }
                self.add(rec.seq, Owner::Case(case.to_string()), tokens);
            }
            Event::CaseDeadLettered { dead_letter, .. } => {
                self.dead.insert(*dead_letter, BTreeMap::new());
            }
            Event::FiringDeadLettered {
                firing, consumed, ..
            } => {
                let held = self.remove(rec.seq, case, consumed);
                self.dead.insert(*firing, held);
            }
            Event::DeadLetterRetried {
                dead_letter,
                restored,
                ..
            } => {
                self.close_letter(rec.seq, *dead_letter, "retries");
                self.add(rec.seq, Owner::Case(case.to_string()), restored);
            }
            Event::DeadLetterDiscarded { dead_letter, .. } => {
                self.close_letter(rec.seq, *dead_letter, "discards");
            }
            _ => {}
        }
    }

    /// The problems, owed tokens included (at the end of the log nothing
    /// can pay them any more).
    pub(crate) fn into_problems(mut self) -> Vec<String> {
        for (key, seq) in std::mem::take(&mut self.owed) {
            self.problems.push(format!(
                "event {seq} consumes token {key} that the log never produced"
            ));
        }
        self.problems
    }
}

/// Rebuilds the marking from the log and compares it with the stored one.
pub fn replay(store: &dyn Store) -> Result<ReplayReport, StoreError> {
    let mut rb = Rebuild::default();
    let mut after = 0;
    let mut events = 0u64;
    loop {
        let page = store.events(None, after, 4096)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for rec in &page {
            events += 1;
            rb.apply(rec);
        }
    }
    // Compacted cases: their tokens as their archived entries left them,
    // checked against the digest their record keeps.
    for case in store.cases()? {
        let Some(archived) = &case.archived else {
            continue;
        };
        let tokens = store.tokens(&Owner::Case(case.id.clone()))?;
        let digest = tokens_digest(
            tokens
                .iter()
                .map(|t| (t.place.as_str(), t.seq, t.payload.as_slice())),
        );
        if digest != archived.tokens {
            rb.problems.push(format!(
                "case `{}`: its stored tokens differ from those its archived entries left",
                case.id
            ));
            continue;
        }
        for t in tokens {
            rb.marking.insert(t.id(), t.payload);
        }
    }
    let marking = std::mem::take(&mut rb.marking);
    let dead = std::mem::take(&mut rb.dead);
    let problems = rb.into_problems();
    let rb = Rebuilt { marking, dead };
    let stored: BTreeMap<TokenId, Vec<u8>> = store
        .all_tokens()?
        .into_iter()
        .map(|t| (t.id(), t.payload))
        .collect();
    let mut mismatches = problems;
    for (key, payload) in &rb.marking {
        match stored.get(key) {
            None => mismatches.push(format!("log has token {} that the store lacks", key)),
            Some(p) if p != payload => {
                mismatches.push(format!("token {} has another payload in the store", key))
            }
            Some(_) => {}
        }
    }
    for key in stored.keys() {
        if !rb.marking.contains_key(key) {
            mismatches.push(format!(
                "store has token {} that the log never produced",
                key
            ));
        }
    }
    // Dead letters: the same letters, holding the same tokens.
    let stored_dead: BTreeMap<u64, BTreeMap<TokenId, Vec<u8>>> = store
        .dead_letters()?
        .into_iter()
        .map(|d| {
            let owner = Owner::Case(d.case.clone());
            let tokens = d
                .tokens
                .into_iter()
                .map(|t| (TokenId::new(owner.clone(), t.place, t.seq), t.payload))
                .collect();
            (d.id, tokens)
        })
        .collect();
    for (id, tokens) in &rb.dead {
        match stored_dead.get(id) {
            None => mismatches.push(format!("log has dead letter {id} that the store lacks")),
            Some(s) if s != tokens => mismatches.push(format!(
                "dead letter {id} holds other tokens in the store than the log says"
            )),
            Some(_) => {}
        }
    }
    for id in stored_dead.keys() {
        if !rb.dead.contains_key(id) {
            mismatches.push(format!(
                "store has dead letter {id} that the log never created"
            ));
        }
    }
    Ok(ReplayReport {
        events,
        tokens: rb.marking.len(),
        dead_tokens: rb.dead.values().map(BTreeMap::len).sum(),
        mismatches,
    })
}

/// The rebuilt state `replay` compares with the store.
struct Rebuilt {
    marking: BTreeMap<TokenId, Vec<u8>>,
    dead: BTreeMap<u64, BTreeMap<TokenId, Vec<u8>>>,
}
