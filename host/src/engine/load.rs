//! Reading what the core needs from the store: at start-up every running
//! case with its tokens, its versions' shared tokens and the reservations
//! left; later, one case (started, or changed by an operator).

use std::collections::HashMap;

use super::core::Core;
use super::{Engine, EngineError};
use crate::store::{DeadLetterKind, Owner, StoredToken};

impl Engine {
    /// Loads every case that is not finished, and takes over the stored
    /// reservations (retries, firings a crash cut off, offers and leases).
    pub(super) fn load(&self, core: &mut Core) -> Result<(), EngineError> {
        let store = self.store();
        let mut case_tokens: HashMap<String, Vec<StoredToken>> = HashMap::new();
        let mut shared: HashMap<String, Vec<StoredToken>> = HashMap::new();
        for t in store.all_tokens()? {
            match &t.owner {
                Owner::Case(id) => case_tokens.entry(id.clone()).or_default().push(t),
                Owner::Shared(version) => shared.entry(version.clone()).or_default().push(t),
            }
        }
        let mut letters: HashMap<String, usize> = HashMap::new();
        for d in store.dead_letters()? {
            if d.kind == DeadLetterKind::Firing {
                *letters.entry(d.case).or_default() += 1;
            }
        }
        let mut records = store.cases()?;
        records.retain(|r| !r.status.is_terminal());
        records.sort_by(|a, b| a.id.cmp(&b.id));
        for record in records {
            let dep = self.deployment(&record.version)?;
            core.add_version(&dep, shared.remove(&record.version).unwrap_or_default());
            let tokens = case_tokens.remove(&record.id).unwrap_or_default();
            let dead_letters = letters.get(&record.id).copied().unwrap_or(0);
            core.add_case(record, dep, tokens, dead_letters);
        }
        for (firing, reservation) in store.reservations()? {
            core.adopt(firing, reservation)?;
        }
        Ok(())
    }

    /// Loads case `id` (started, or changed by an operator, after the core
    /// loaded). A case just `started` has no dead letters: the queue is not
    /// read.
    pub(super) fn load_case(
        &self,
        core: &mut Core,
        id: &str,
        started: bool,
    ) -> Result<(), EngineError> {
        let store = self.store();
        let Some(record) = store.case(id)? else {
            return Err(EngineError::NotFound(format!("no case `{id}`")));
        };
        if record.status.is_terminal() {
            return Ok(());
        }
        let dep = self.deployment(&record.version)?;
        if !core.has_version(dep.version()) {
            core.add_version(
                &dep,
                store.tokens(&Owner::Shared(dep.version().to_string()))?,
            );
        }
        let tokens = store.tokens(&Owner::Case(id.to_string()))?;
        let dead_letters = if started {
            0
        } else {
            store
                .case_dead_letters(id)?
                .iter()
                .filter(|d| d.kind == DeadLetterKind::Firing)
                .count()
        };
        core.add_case(record, dep, tokens, dead_letters);
        Ok(())
    }
}
