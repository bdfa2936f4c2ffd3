//! Running cases on a store other hosts share (PostgreSQL): this host runs
//! the cases it started and those it adopts (no host ran them: started
//! by a CLI, freed by a host that left, or by one that died and was
//! reaped), re-running the firings their old host left cut off, as after a
//! crash. Shared tokens are lent: this host borrows those its cases wait
//! for, and gives back those other hosts wait for once it had them a
//! little while ([`QUANTUM_MS`]). See the store's `Cluster`.

use std::collections::HashMap;
use std::time::Duration;

use super::core::Core;
use super::{Engine, EngineError};
use crate::store::{
    Adopted, Change, Cluster, DeadLetterKind, Elsewhere, Event, EventRecord, Owner, StoreError,
    StoredToken,
};

/// Most cases adopted in one turn (more follow on the next turns).
const ADOPT_BATCH: usize = 1000;

/// How often a host looks for work of other hosts without being told
/// (cases freed by a reaped host, tokens wanted after a quantum).
pub(super) const TICK: Duration = Duration::from_millis(200);

/// Shortest time a host keeps shared tokens it borrowed before giving them
/// to a host waiting for them (so each uses them for a few firings, not
/// one).
const QUANTUM_MS: u64 = 50;

impl Engine {
    /// The store's side of sharing it, if other hosts may share it.
    pub(super) fn cluster(&self) -> Option<&dyn Cluster> {
        self.store().cluster()
    }

    /// Takes the cases of `adopted` into `core` (as [`Engine::load`]
    /// does): their firings cut off are logged and re-run; returns how
    /// many cases.
    pub(super) async fn take_in(
        &self,
        core: &mut Core,
        adopted: Adopted,
    ) -> Result<usize, EngineError> {
        let n = adopted.cases.len();
        let mut case_tokens: HashMap<String, Vec<StoredToken>> = HashMap::new();
        let mut shared = Vec::new();
        for t in adopted.tokens {
            match &t.owner {
                Owner::Case(id) => case_tokens.entry(id.clone()).or_default().push(t),
                Owner::Shared(_) => shared.push(t),
            }
        }
        let mut letters: HashMap<String, Vec<(u64, String)>> = HashMap::new();
        for d in adopted.dead_letters {
            if d.kind == DeadLetterKind::Firing {
                letters
                    .entry(d.case)
                    .or_default()
                    .push((d.id, d.transition));
            }
        }
        for record in adopted.cases {
            let dep = self.deployment(&record.version)?;
            core.add_version(&dep, Vec::new());
            core.remove_case(&record.id);
            let tokens = case_tokens.remove(&record.id).unwrap_or_default();
            let dead_letters = letters.remove(&record.id).unwrap_or_default();
            core.add_case(record, dep, tokens, dead_letters);
        }
        core.lend(shared);
        let now = self.clock().now_ms();
        let events: Vec<EventRecord> = adopted
            .reservations
            .iter()
            .filter(|(_, r)| r.not_before_ms == 0 && !r.external)
            .map(|(firing, r)| {
                tracing::info!(firing, case = %r.case, transition = %r.transition, "re-running a firing its host left cut off");
                EventRecord {
                    seq: 0,
                    at_ms: now,
                    case: Some(r.case.clone()),
                    event: Event::FiringAbandoned {
                        firing: *firing,
                        transition: r.transition.clone(),
                    },
                }
            })
            .collect();
        if !events.is_empty() {
            let change = Change {
                events,
                ..Change::default()
            };
            self.committer().commit(vec![change]).await?;
        }
        for (firing, reservation) in adopted.reservations {
            core.adopt(firing, reservation)?;
        }
        if n > 0 {
            tracing::info!(cases = n, "adopted cases no host was running");
        }
        Ok(n)
    }

    /// Makes case `id` this host's to act on (an operator's command on a
    /// shared store), taking it into `core` if it was not: refused when
    /// another live host runs it.
    pub(super) async fn claim(&self, core: &mut Core, id: &str) -> Result<(), EngineError> {
        let Some(cluster) = self.cluster() else {
            return Ok(());
        };
        match cluster.claim(id)? {
            Ok(None) => Ok(()),
            Ok(Some(adopted)) => self.take_in(core, adopted).await.map(|_| ()),
            Err(elsewhere) => Err(elsewhere_error(id, &elsewhere)),
        }
    }

    /// `result` of a worker's request on firing `firing`, naming the host
    /// to ask instead when it failed because another host runs its case.
    pub(super) fn routed<T>(
        &self,
        firing: u64,
        result: Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let (Err(EngineError::Conflict(_)), Some(cluster)) = (&result, self.cluster()) else {
            return result;
        };
        match cluster.firing_elsewhere(firing) {
            Ok(Some((case, elsewhere))) => Err(elsewhere_error(&case, &elsewhere)),
            _ => result,
        }
    }
}

/// The refusal of a command on case `id` that another host runs.
fn elsewhere_error(id: &str, e: &Elsewhere) -> EngineError {
    let at = e
        .url
        .as_deref()
        .map_or_else(String::new, |u| format!(" (its API: {u})"));
    EngineError::Elsewhere {
        message: format!(
            "case `{id}` is run by host `{}`{at}: send the request to that host",
            e.host
        ),
        url: e.url.clone(),
    }
}

/// A host's lending state between turns.
#[derive(Debug, Default)]
pub(crate) struct Lending {
    /// When this host last borrowed tokens of each version.
    borrowed_at: HashMap<String, u64>,
    /// When it last gave tokens of each version back (it does not borrow
    /// them again within a quantum: the host waiting gets them first).
    given_at: HashMap<String, u64>,
    /// The versions it said it waits for.
    wants: Vec<String>,
}

impl Lending {
    /// One turn with the other hosts: adopts the cases no host runs, gives
    /// back the shared tokens others wait for (held a quantum), borrows
    /// for the versions this host's cases wait on, and says which it still
    /// waits for. Returns whether it adopted or borrowed anything.
    pub(crate) async fn turn(
        &mut self,
        engine: &Engine,
        core: &mut Core,
        now_ms: u64,
    ) -> Result<bool, EngineError> {
        let Some(cluster) = engine.cluster() else {
            return Ok(false);
        };
        if cluster.fenced() {
            return Err(EngineError::Store(StoreError::Fenced(
                "another host took this host's cases over (its lease lapsed); restart it".into(),
            )));
        }
        let mut changed = false;
        loop {
            let n = engine.take_in(core, cluster.adopt(ADOPT_BATCH)?).await?;
            changed |= n > 0;
            if n < ADOPT_BATCH {
                break;
            }
        }
        for version in cluster.wanted()? {
            let since = self.borrowed_at.get(&version).copied().unwrap_or(0);
            if now_ms.saturating_sub(since) < QUANTUM_MS {
                continue;
            }
            let mut tokens = core.take_free_shared(&version);
            if tokens.is_empty() {
                continue;
            }
            let keys: Vec<(String, u64)> =
                tokens.iter().map(|t| (t.place.clone(), t.seq)).collect();
            let given = cluster.give_back(&version, &keys)?;
            // Tokens produced by changes not committed yet stay here.
            tokens.retain(|t| !given.contains(&(t.place.clone(), t.seq)));
            core.lend(tokens);
            self.borrowed_at.remove(&version);
            self.given_at.insert(version, now_ms);
        }
        changed |= self.borrow(cluster, core, now_ms)?;
        Ok(changed)
    }

    /// Whether a version some case waits on was not asked for yet.
    pub(crate) fn newly_awaiting(&self, core: &Core) -> bool {
        core.awaits_any(|v| !self.wants.iter().any(|w| w == v))
    }

    /// Borrows for the versions this host's cases wait on; says which it
    /// still waits for. Returns whether it borrowed anything.
    pub(crate) fn borrow(
        &mut self,
        cluster: &dyn Cluster,
        core: &mut Core,
        now_ms: u64,
    ) -> Result<bool, EngineError> {
        let mut borrowed = false;
        let mut wants = Vec::new();
        for version in core.awaiting_versions() {
            let given = self.given_at.get(&version).copied();
            if given.is_some_and(|at| now_ms.saturating_sub(at) < QUANTUM_MS) {
                wants.push(version);
                continue;
            }
            let tokens = cluster.borrow(&version)?;
            if tokens.is_empty() {
                wants.push(version);
            } else {
                borrowed = true;
                self.borrowed_at.insert(version, now_ms);
                core.lend(tokens);
            }
        }
        if wants != self.wants {
            cluster.want(&wants)?;
            self.wants = wants;
        }
        Ok(borrowed)
    }
}
