//! The engine's core: a state machine over the marking, with no I/O.
//!
//! It takes inputs — cases loaded or started, a launched firing's result, a
//! timer passing, a worker's claim or completion — and answers with effects:
//! [`Launch`]es for the shell to run, and [`Change`]s for it to commit. Every
//! turn of the shell ([`super::driver`]) goes the same way: settle the
//! firings that finished ([`Core::settle`]), plan what is now due and
//! enabled ([`Core::plan`], reserving inputs), commit the changes of both in
//! one store transaction ([`Core::take_changes`]), then launch. Time comes in
//! as an argument, ids from an [`Ids`]; nothing here reads or writes the
//! store, so it is tested with plain values (`tests`).
//!
//! Layout: `marking` (tokens, reservations), `case` (a case's counters),
//! `launch` (a firing to run), `timers`, `plan` (enabling, reserving, case
//! status), `settle` (a decision into a change), `failure` (retries, dead
//! letters), `abort`, `branch` and `saga` (aborting a case or one of its
//! regions, and compensating it),
//! `offers` (external work: claims, leases), `letters` (dead letters put
//! back or discarded), `restart` (a case's next attempt: `[net] retry`).

mod abort;
mod branch;
mod case;
mod failure;
mod launch;
mod lending;
pub(crate) mod letters;
mod marking;
mod offers;
mod plan;
mod restart;
mod saga;
mod settle;
mod timers;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::{Deployment, EngineError, RunSummary};
use crate::store::{
    AttemptFailure, CaseRecord, CaseStatus, Change, Event, EventRecord, Lease, Release,
    Reservation, Store, StoreError, StoredToken, TokenId,
};
use case::CaseState;
pub(crate) use launch::{Launch, Work};
use marking::{Input, Marking, Position};
use timers::{Timer, Timers};

/// Where fresh ids (firings, token seqs) come from: the store's counter,
/// or a plain one in tests.
pub(crate) trait Ids: Send + Sync {
    /// A fresh id, unique and increasing.
    fn next_id(&self) -> Result<u64, StoreError>;
}

impl Ids for Arc<dyn Store> {
    fn next_id(&self) -> Result<u64, StoreError> {
        Store::next_id(self.as_ref())
    }
}

/// How the core runs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Guest calls in flight at once.
    pub(crate) max_in_flight: usize,
    /// Stop launching after this many firings.
    pub(crate) max_firings: Option<u64>,
    /// Forget cases once they end (a daemon runs for days; a batch run keeps
    /// them for its summary).
    pub(crate) evict_finished: bool,
}

/// A firing waiting to be retried: on its timer, or once due, on shared tokens.
#[derive(Debug)]
struct PendingRetry {
    case: String,
    transition: usize,
    /// Case tokens it holds (reserved), with their payloads.
    held: Vec<Input>,
    attempt: u32,
    failures: Vec<AttemptFailure>,
    /// The guest clock of a firing a crash cut off (re-run as it was).
    started_at_ms: Option<u64>,
}

/// An external firing offered to workers, its inputs reserved.
#[derive(Debug)]
struct Offer {
    launch: Launch,
    /// Set while a worker holds it.
    lease: Option<Lease>,
    /// When it takes the `on_timeout` outcome unless claimed (see
    /// [`crate::net::Transition::offer_timeout_ms`]).
    deadline_ms: Option<u64>,
}

/// The engine's state between turns. See the module docs.
pub(crate) struct Core {
    settings: Settings,
    ids: Arc<dyn Ids>,
    cases: HashMap<String, CaseState>,
    marking: Marking,
    /// Retries waiting on their timers (or due), by firing id; their case is loaded.
    retries: BTreeMap<u64, PendingRetry>,
    /// External firings offered to workers, by firing id (oldest first).
    offers: BTreeMap<u64, Offer>,
    timers: Timers,
    /// Cases to plan, in the order they became so.
    dirty: VecDeque<String>,
    dirty_set: HashSet<String>,
    /// Cases waiting for shared tokens of a version held by others.
    awaiting_shared: HashMap<String, BTreeSet<String>>,
    /// Due retries of each case, to launch when planned.
    due: HashMap<String, Vec<u64>>,
    /// Changes for the next commit, in the order made.
    outbox: Vec<Change>,
    /// Launches handed out and not settled.
    running: usize,
    launched: u64,
    /// Whether an offer became claimable since [`Core::take_offered`].
    offered: bool,
    summary: RunSummary,
}

impl Core {
    pub(crate) fn new(settings: Settings, ids: Arc<dyn Ids>) -> Core {
        Core {
            settings,
            ids,
            cases: HashMap::new(),
            marking: Marking::default(),
            retries: BTreeMap::new(),
            offers: BTreeMap::new(),
            timers: Timers::default(),
            dirty: VecDeque::new(),
            dirty_set: HashSet::new(),
            awaiting_shared: HashMap::new(),
            due: HashMap::new(),
            outbox: Vec::new(),
            running: 0,
            launched: 0,
            offered: false,
            summary: RunSummary::default(),
        }
    }

    /// Knows net version `dep`, with its shared tokens as stored (once per
    /// version; later calls change nothing).
    pub(crate) fn add_version(&mut self, dep: &Deployment, shared: Vec<StoredToken>) {
        if self.marking.has_version(dep.version()) {
            return;
        }
        let places = dep.net.places();
        self.marking.add_version(
            dep.version(),
            places.iter().map(|p| (p.name.as_str(), p.shared)),
        );
        for t in shared {
            if let Some(p) = dep.net.place_index(&t.place) {
                self.marking.put_shared(dep.version(), p, t.seq, t.payload);
            }
        }
    }

    /// Whether net version `version` is known (see [`Core::add_version`]).
    pub(crate) fn has_version(&self, version: &str) -> bool {
        self.marking.has_version(version)
    }

    /// Tokens per place of net version `version`: of its loaded (live)
    /// cases, and its shared tokens.
    pub(crate) fn place_counts(&self, version: &str) -> BTreeMap<String, usize> {
        self.marking.counts(version)
    }

    /// Whether case `id` is loaded.
    pub(crate) fn has_case(&self, id: &str) -> bool {
        self.cases.contains_key(id)
    }

    /// Takes in a case as stored (its version known): its tokens, its
    /// number of dead letters. A terminal case is not kept. It is planned
    /// on the next turn.
    pub(crate) fn add_case(
        &mut self,
        record: CaseRecord,
        dep: Arc<Deployment>,
        tokens: Vec<StoredToken>,
        dead_letters: Vec<(u64, String)>,
    ) {
        if record.status.is_terminal() {
            return;
        }
        let id = record.id.clone();
        self.marking.add_case(&id, dep.version());
        for t in tokens {
            if let Some(place) = dep.net.place_index(&t.place) {
                let at = Position { place, seq: t.seq };
                self.marking.put(&id, at, t.payload);
            }
        }
        if let (CaseStatus::Compensating, Some(saga)) = (record.status, &record.saga) {
            self.timers.set(saga.not_before_ms, Timer::Saga(id.clone()));
        }
        let mut case = CaseState::new(record, dep);
        case.dead_letters = dead_letters;
        self.cases.insert(id.clone(), case);
        self.mark_dirty(&id);
    }

    /// Forgets case `id` with everything of it (to load it again).
    pub(crate) fn remove_case(&mut self, id: &str) {
        self.cases.remove(id);
        self.marking.remove_case(id);
        self.due.remove(id);
    }

    /// Takes over a stored reservation (at start-up, after the cases are
    /// added): a retry on its timer, a firing a crash cut off (due at once),
    /// an external firing offered or leased.
    pub(crate) fn adopt(&mut self, firing: u64, r: Reservation) -> Result<(), EngineError> {
        if let Some(compensated) = r.compensates {
            return self.adopt_compensation(firing, compensated, r);
        }
        let Some(case) = self
            .cases
            .get_mut(&r.case)
            .filter(|c| !c.record.status.is_aborted())
            .filter(|c| {
                !c.dep
                    .net
                    .transition_index(&r.transition)
                    .is_some_and(|t| branch::voided(&c.record, &c.dep.net, t, firing))
            })
        else {
            // Its case ended while it waited: nothing to run.
            self.drop_reservation(firing, r.tokens);
            return Ok(());
        };
        let net = &case.dep.net;
        let transition = net.transition_index(&r.transition).ok_or_else(|| {
            bug(format!(
                "reservation {firing} names unknown transition `{}`",
                r.transition
            ))
        })?;
        let mut held = Vec::with_capacity(r.tokens.len());
        for token in &r.tokens {
            let place = net.place_index(&token.place).ok_or_else(|| {
                bug(format!(
                    "reservation {firing} holds a token of unknown place `{}`",
                    token.place
                ))
            })?;
            let at = Position {
                place,
                seq: token.seq,
            };
            let payload = self.marking.reserve_at(&r.case, at).ok_or_else(|| {
                bug(format!(
                    "reservation {firing} holds {token}, which is not free"
                ))
            })?;
            held.push(Input { at, payload });
        }
        if let Some(lease) = r.lease {
            // Claimed by a worker: the lease holds across restarts.
            case.in_flight += 1;
            let launch = Launch {
                firing,
                case: r.case,
                transition,
                dep: case.dep.clone(),
                inputs: held,
                started_at_ms: r.started_at_ms,
                attempt: r.attempt,
                failures: r.failures,
                work: Work::Transition,
            };
            self.hold_leased(launch, lease);
            return Ok(());
        }
        case.retrying += 1;
        self.timers.set(r.not_before_ms, Timer::Retry(firing));
        let cut_off = r.not_before_ms == 0;
        self.retries.insert(
            firing,
            PendingRetry {
                case: r.case,
                transition,
                held,
                attempt: r.attempt,
                failures: r.failures,
                started_at_ms: cut_off.then_some(r.started_at_ms),
            },
        );
        Ok(())
    }

    /// Hands every timer due at `now_ms` to what it wakes.
    pub(crate) fn timers_due(&mut self, now_ms: u64) -> Result<(), EngineError> {
        for timer in self.timers.take_due(now_ms) {
            match timer {
                Timer::Retry(firing) => {
                    let Some(w) = self.retries.get(&firing) else {
                        continue;
                    };
                    let case = w.case.clone();
                    self.due.entry(case.clone()).or_default().push(firing);
                    self.mark_dirty(&case);
                }
                Timer::Saga(case) | Timer::Restart(case) => self.mark_dirty(&case),
                Timer::Lease(firing) => self.expire_lease(firing, now_ms)?,
                Timer::Offer(firing) => self.expire_offer(firing, now_ms)?,
            }
        }
        Ok(())
    }

    /// When the next timer is due: of all, or (`leases` false) leaving out
    /// leases and offer deadlines (a batch run hands out no work).
    pub(crate) fn next_timer(&self, leases: bool) -> Option<u64> {
        self.timers.next(leases)
    }

    /// The changes made since the last call, for one store transaction.
    pub(crate) fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.outbox)
    }

    /// After `changes` committed: forgets the cases they ended, when
    /// evicting (nothing of theirs is in flight or waiting).
    pub(crate) fn committed(&mut self, changes: &[Change]) {
        if !self.settings.evict_finished {
            return;
        }
        for record in changes.iter().filter_map(|c| c.case.as_ref()) {
            if record.status.is_terminal()
                && self
                    .cases
                    .get(&record.id)
                    .is_some_and(|c| c.is_quiet() && c.record.status.is_terminal())
            {
                self.remove_case(&record.id);
            }
        }
    }

    /// Launches handed out and not settled.
    #[cfg(test)]
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// Whether planning now could launch something (cases wait to be
    /// planned and a launch slot is free).
    pub(crate) fn ready(&self) -> bool {
        !self.dirty.is_empty() && self.may_launch(0)
    }

    /// Whether an offer became claimable since the last call.
    pub(crate) fn take_offered(&mut self) -> bool {
        std::mem::take(&mut self.offered)
    }

    /// The summary so far: counters, and the loaded cases by status.
    pub(crate) fn summary(&self) -> RunSummary {
        let mut summary = self.summary.clone();
        for c in self.cases.values() {
            *summary
                .cases
                .entry(c.record.status.as_str().to_string())
                .or_default() += 1;
        }
        summary.waiting = self.retries.len() as u64;
        summary.awaiting_workers = self.offers.len() as u64;
        summary
    }

    fn may_launch(&self, more: usize) -> bool {
        self.running + more < self.settings.max_in_flight.max(1)
            && self
                .settings
                .max_firings
                .is_none_or(|max| self.launched < max)
    }

    fn mark_dirty(&mut self, case: &str) {
        if self.dirty_set.insert(case.to_string()) {
            self.dirty.push_back(case.to_string());
        }
    }

    /// Marks the cases waiting on shared tokens of `version` to be planned.
    fn wake_waiting(&mut self, version: &str) {
        if let Some(waiters) = self.awaiting_shared.remove(version) {
            for case in waiters {
                self.mark_dirty(&case);
            }
        }
    }

    /// A log entry of `case` stamped `at_ms`; the store numbers it.
    fn event(at_ms: u64, case: &str, event: Event) -> EventRecord {
        EventRecord {
            seq: 0,
            at_ms,
            case: Some(case.to_string()),
            event,
        }
    }

    fn case_mut(&mut self, id: &str) -> Result<&mut CaseState, EngineError> {
        self.cases
            .get_mut(id)
            .ok_or_else(|| bug(format!("case `{id}` has a firing but is not loaded")))
    }

    /// Where the inputs `inputs` of case `case` lie, as the store names them.
    fn token_ids(&self, case: &str, inputs: &[Input]) -> Vec<TokenId> {
        inputs
            .iter()
            .map(|i| self.marking.token_id(case, i.at))
            .collect()
    }

    /// Removes the stored reservation of `firing`, which holds `tokens`,
    /// with nothing to run for it.
    fn drop_reservation(&mut self, firing: u64, tokens: Vec<TokenId>) {
        self.outbox.push(Change {
            release: vec![Release { firing, tokens }],
            ..Change::default()
        });
    }

    /// Removes the dead letters `ids` an abort or a restart discards (their
    /// log entry names them), a change each.
    fn remove_dead_letters(&mut self, ids: Vec<u64>) {
        for id in ids {
            self.outbox.push(Change {
                remove_dead_letter: Some(id),
                ..Change::default()
            });
        }
    }

    /// The release of `launch`'s reservation.
    fn release(&self, launch: &Launch) -> Release {
        Release {
            firing: launch.firing,
            tokens: self.token_ids(&launch.case, &launch.inputs),
        }
    }

    fn next_id(&self) -> Result<u64, EngineError> {
        Ok(self.ids.next_id()?)
    }
}

/// A broken invariant of the engine: a bug.
fn bug(message: String) -> EngineError {
    EngineError::Store(StoreError::Bug(message))
}
