//! Reading what the core needs from the store: at start-up every running
//! case with its tokens, its versions' shared tokens and the reservations
//! left; later, a case started (as it was stored) or changed by an
//! operator.

use std::collections::HashMap;

use super::core::Core;
use super::{Engine, EngineError};
use crate::store::{CaseRecord, DeadLetterKind, Owner, StoredToken};

impl Engine {
    /// Loads every case that is not finished, and takes over the stored
    /// reservations (retries, firings a crash cut off, offers and leases).
    /// On a store other hosts share: adopts the cases no host runs.
    pub(super) async fn load(&self, core: &mut Core) -> Result<(), EngineError> {
        if let Some(cluster) = self.cluster() {
            self.take_in(core, cluster.own()?).await?;
            return super::sharing::Lending::default()
                .turn(self, core, self.clock().now_ms())
                .await
                .map(|_| ());
        }
        let store = self.store();
        let mut case_tokens: HashMap<String, Vec<StoredToken>> = HashMap::new();
        let mut shared: HashMap<String, Vec<StoredToken>> = HashMap::new();
        for t in store.all_tokens()? {
            match &t.owner {
                Owner::Case(id) => case_tokens.entry(id.clone()).or_default().push(t),
                Owner::Shared(version) => shared.entry(version.clone()).or_default().push(t),
            }
        }
        let mut letters: HashMap<String, Vec<(u64, String)>> = HashMap::new();
        for d in store.dead_letters()? {
            if d.kind == DeadLetterKind::Firing {
                letters
                    .entry(d.case)
                    .or_default()
                    .push((d.id, d.transition));
            }
        }
        let mut records = store.cases()?;
        records.retain(|r| !r.status.is_terminal());
        records.sort_by(|a, b| a.id.cmp(&b.id));
        for record in records {
            let dep = self.deployment(&record.version)?;
            core.add_version(&dep, shared.remove(&record.version).unwrap_or_default());
            let tokens = case_tokens.remove(&record.id).unwrap_or_default();
            let dead_letters = letters.remove(&record.id).unwrap_or_default();
            core.add_case(record, dep, tokens, dead_letters);
        }
        for (firing, reservation) in store.reservations()? {
            core.adopt(firing, reservation)?;
        }
        Ok(())
    }

    /// Loads case `id` again (changed by an operator after the core
    /// loaded).
    pub(super) fn load_case(&self, core: &mut Core, id: &str) -> Result<(), EngineError> {
        let store = self.store();
        let Some(record) = store.case(id)? else {
            return Err(EngineError::NotFound(format!("no case `{id}`")));
        };
        if record.status.is_terminal() {
            return Ok(());
        }
        let tokens = store.tokens(&Owner::Case(id.to_string()))?;
        let dead_letters = store
            .case_dead_letters(id)?
            .iter()
            .filter(|d| d.kind == DeadLetterKind::Firing)
            .map(|d| (d.id, d.transition.clone()))
            .collect();
        self.add_case(core, record, tokens, dead_letters)
    }

    /// Hands the core a case it does not hold, as stored (with its
    /// version's shared tokens, read once per version).
    pub(super) fn add_case(
        &self,
        core: &mut Core,
        record: CaseRecord,
        tokens: Vec<StoredToken>,
        dead_letters: Vec<(u64, String)>,
    ) -> Result<(), EngineError> {
        let dep = self.deployment(&record.version)?;
        if !core.has_version(dep.version()) {
            // Sharing the store, this host holds only the shared tokens
            // lent to it.
            let shared = match self.cluster() {
                Some(_) => Vec::new(),
                None => self
                    .store()
                    .tokens(&Owner::Shared(dep.version().to_string()))?,
            };
            core.add_version(&dep, shared);
        }
        core.add_case(record, dep, tokens, dead_letters);
        Ok(())
    }
}
