//! Rebuilding the marking from the event log alone.

use std::collections::{BTreeMap, HashMap};

use super::keys::{self, Owner};
use super::{Event, Store, StoreError, TokenRecord, TokenRef};

/// What replaying the log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Log entries read.
    pub events: u64,
    /// Tokens in the rebuilt marking.
    pub tokens: usize,
    /// Differences between the rebuilt and the stored marking; empty when they agree.
    pub mismatches: Vec<String>,
}

struct Rebuild {
    marking: BTreeMap<Vec<u8>, Vec<u8>>,
    versions: HashMap<String, String>,
    problems: Vec<String>,
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
            let key = keys::token(&owner, &t.place, t.seq);
            if self.marking.insert(key, t.payload.clone()).is_some() {
                self.problems.push(format!(
                    "event {seq} produces token {}#{} twice",
                    t.place, t.seq
                ));
            }
        }
    }

    fn remove(&mut self, seq: u64, case: &str, refs: &[TokenRef]) {
        for r in refs {
            let key = keys::token(&self.owner(case, r.shared), &r.place, r.seq);
            if self.marking.remove(&key).is_none() {
                self.problems.push(format!(
                    "event {seq} consumes token {}#{} of case `{case}` that the log never produced",
                    r.place, r.seq
                ));
            }
        }
    }
}

/// Rebuilds the marking from the log and compares it with the stored one.
pub fn replay(store: &dyn Store) -> Result<ReplayReport, StoreError> {
    let mut rb = Rebuild {
        marking: BTreeMap::new(),
        versions: HashMap::new(),
        problems: Vec::new(),
    };
    let mut after = 0;
    let mut events = 0u64;
    loop {
        let page = store.events(None, after, 4096)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for rec in page {
            events += 1;
            let case = rec.case.as_deref().unwrap_or("");
            match &rec.event {
                Event::SharedTokensAdded { version, tokens } => {
                    rb.add(rec.seq, Owner::Shared(version.clone()), tokens);
                }
                Event::CaseStarted {
                    version, tokens, ..
                } => {
                    rb.versions.insert(case.to_string(), version.clone());
                    rb.add(rec.seq, Owner::Case(case.to_string()), tokens);
                }
                Event::FiringCompleted {
                    consumed, produced, ..
                } => {
                    rb.remove(rec.seq, case, consumed);
                    let (shared, own): (Vec<_>, Vec<_>) =
                        produced.iter().cloned().partition(|t| t.shared);
                    let shared_owner = rb.owner(case, true);
                    rb.add(rec.seq, shared_owner, &shared);
                    rb.add(rec.seq, Owner::Case(case.to_string()), &own);
                }
                Event::CaseAborted { consumed, .. } | Event::FiringDiscarded { consumed, .. } => {
                    rb.remove(rec.seq, case, consumed)
                }
                _ => {}
            }
        }
    }
    let stored: BTreeMap<Vec<u8>, Vec<u8>> = store
        .all_tokens()?
        .into_iter()
        .map(|t| (t.key(), t.payload))
        .collect();
    let mut mismatches = rb.problems;
    for (key, payload) in &rb.marking {
        match stored.get(key) {
            None => mismatches.push(format!(
                "log has token {} that the store lacks",
                describe(key)
            )),
            Some(p) if p != payload => mismatches.push(format!(
                "token {} has another payload in the store",
                describe(key)
            )),
            Some(_) => {}
        }
    }
    for key in stored.keys() {
        if !rb.marking.contains_key(key) {
            mismatches.push(format!(
                "store has token {} that the log never produced",
                describe(key)
            ));
        }
    }
    Ok(ReplayReport {
        events,
        tokens: rb.marking.len(),
        mismatches,
    })
}

fn describe(key: &[u8]) -> String {
    match keys::parse_token(key) {
        Some((Owner::Case(c), place, seq)) => format!("{place}#{seq} of case `{c}`"),
        Some((Owner::Shared(v), place, seq)) => format!("{place}#{seq} shared by version {v}"),
        None => format!("{key:?}"),
    }
}
