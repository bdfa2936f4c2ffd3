//! Loading a run's state from the store: cases, the marking index, dead
//! letters, and the reservations left by retries and crashes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::super::marking::Tokens;
use super::super::{Engine, EngineError};
use super::{CaseState, Launch, Offer, RunOptions, RunSummary, Runner, Timer, Waiting, Work};
use crate::store::{CaseStatus, Change, DeadLetterKind, Owner, Release, Reservation, StoreError};

impl<'e> Runner<'e> {
    pub(crate) fn load(engine: &'e Engine, options: RunOptions) -> Result<Runner<'e>, EngineError> {
        let store = engine.store();
        let mut cases = HashMap::new();
        for record in store.cases()? {
            if record.status.is_terminal() {
                continue;
            }
            let dep = engine.deployment(&record.version)?;
            cases.insert(record.id.clone(), CaseState::new(record, dep));
        }
        let mut shared: HashMap<String, Tokens> = HashMap::new();
        for t in store.all_tokens()? {
            match &t.owner {
                Owner::Case(id) => {
                    if let Some(c) = cases.get_mut(id)
                        && let Some(p) = c.dep.net.place_index(&t.place)
                    {
                        c.tokens.place_mut(p).push(t.seq);
                    }
                }
                Owner::Shared(version) => {
                    let Ok(dep) = engine.deployment(version) else {
                        continue;
                    };
                    if let Some(p) = dep.net.place_index(&t.place) {
                        let places = dep.net.places().len();
                        shared
                            .entry(version.clone())
                            .or_insert_with(|| Tokens::new(places))
                            .place_mut(p)
                            .push(t.seq);
                    }
                }
            }
        }
        for c in cases.values() {
            let places = c.dep.net.places().len();
            shared
                .entry(c.record.version.clone())
                .or_insert_with(|| Tokens::new(places));
        }
        for d in store.dead_letters()? {
            if let (DeadLetterKind::Firing, Some(c)) = (&d.kind, cases.get_mut(&d.case)) {
                c.dead_letters += 1;
            }
        }
        let mut ids: Vec<String> = cases.keys().cloned().collect();
        ids.sort();
        let mut runner = Runner {
            engine,
            options,
            cases,
            shared,
            waiting: HashMap::new(),
            dirty_set: ids.iter().cloned().collect(),
            dirty: ids.into(),
            pending: Vec::new(),
            tasks: JoinSet::new(),
            retries: HashMap::new(),
            offers: BTreeMap::new(),
            claimable: Arc::new(tokio::sync::Notify::new()),
            evict_finished: false,
            timers: BTreeSet::new(),
            launched: 0,
            summary: RunSummary::default(),
        };
        for (firing, r) in store.reservations()? {
            runner.adopt(firing, r)?;
        }
        for c in runner.cases.values() {
            if let (CaseStatus::Compensating, Some(saga)) = (c.record.status, &c.record.saga) {
                runner
                    .timers
                    .insert((saga.not_before_ms, Timer::Saga(c.record.id.clone())));
            }
        }
        Ok(runner)
    }

    /// Adds case `id` from the store (started, or changed by a dead-letter
    /// operation, after the runner loaded) and schedules it. A case just
    /// started has no dead letters: `started` skips scanning the queue,
    /// which would cost every start the queue's length.
    pub(super) fn load_case(&mut self, id: &str, started: bool) -> Result<(), EngineError> {
        let store = self.engine.store();
        let Some(record) = store.case(id)? else {
            return Err(EngineError::NotFound(format!("no case `{id}`")));
        };
        if record.status.is_terminal() {
            return Ok(());
        }
        let dep = self.engine.deployment(&record.version)?;
        let version = record.version.clone();
        if let (CaseStatus::Compensating, Some(saga)) = (record.status, &record.saga) {
            self.timers
                .insert((saga.not_before_ms, Timer::Saga(id.to_string())));
        }
        let mut case = CaseState::new(record, dep.clone());
        for t in store.tokens(&Owner::Case(id.to_string()))? {
            if let Some(p) = dep.net.place_index(&t.place) {
                case.tokens.place_mut(p).push(t.seq);
            }
        }
        if !started {
            case.dead_letters = store
                .dead_letters()?
                .iter()
                .filter(|d| d.case == id && d.kind == DeadLetterKind::Firing)
                .count();
        }
        if let std::collections::hash_map::Entry::Vacant(entry) = self.shared.entry(version) {
            let mut tokens = Tokens::new(dep.net.places().len());
            for t in store.tokens(&Owner::Shared(entry.key().clone()))? {
                if let Some(p) = dep.net.place_index(&t.place) {
                    tokens.place_mut(p).push(t.seq);
                }
            }
            entry.insert(tokens);
        }
        self.cases.insert(id.to_string(), case);
        self.mark_dirty(id);
        Ok(())
    }

    /// Takes over a stored reservation: a retry on its timer, or a firing a
    /// crash cut off (due at once). Its tokens stay reserved in the index.
    fn adopt(&mut self, firing: u64, r: Reservation) -> Result<(), EngineError> {
        let Some(case) = self
            .cases
            .get_mut(&r.case)
            .filter(|c| !c.record.status.is_aborted())
        else {
            // Its case ended while it waited: nothing to run.
            self.pending.push(Change {
                release: vec![Release::new(firing, &r.tokens)],
                ..Change::default()
            });
            return Ok(());
        };
        let net = &case.dep.net;
        let transition = net
            .transitions()
            .iter()
            .position(|t| t.name == r.transition)
            .ok_or_else(|| {
                EngineError::Store(StoreError::Bug(format!(
                    "reservation {firing} names unknown transition `{}`",
                    r.transition
                )))
            })?;
        let shared = self
            .shared
            .get_mut(&case.record.version)
            .expect("shared tokens exist for every loaded version");
        let mut held = Vec::with_capacity(r.tokens.len());
        for key in &r.tokens {
            let parsed = crate::store::parse_token_key(key);
            let Some((o, place, seq)) = parsed else {
                return Err(StoreError::Bug(format!("malformed token key {key:?}")).into());
            };
            let p = net.place_index(&place).ok_or_else(|| {
                StoreError::Bug(format!(
                    "reservation {firing} holds a token of unknown place `{place}`"
                ))
            })?;
            let is_shared = matches!(o, Owner::Shared(_));
            let tokens = if is_shared {
                shared.place_mut(p)
            } else {
                case.tokens.place_mut(p)
            };
            if !tokens.reserve_seq(seq) {
                return Err(StoreError::Bug(format!(
                    "reservation {firing} holds token {place}#{seq}, which is not free"
                ))
                .into());
            }
            held.push((p, is_shared, seq));
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
            self.timers.insert((lease.until_ms, Timer::Lease(firing)));
            self.offers.insert(
                firing,
                Offer {
                    launch,
                    lease: Some(lease),
                },
            );
            return Ok(());
        }
        case.retrying += 1;
        self.timers.insert((r.not_before_ms, Timer::Retry(firing)));
        self.retries.insert(
            firing,
            Waiting {
                case: r.case,
                transition,
                held,
                attempt: r.attempt,
                failures: r.failures,
                started_at_ms: (r.not_before_ms == 0).then_some(r.started_at_ms),
            },
        );
        Ok(())
    }
}

impl CaseState {
    fn new(record: crate::store::CaseRecord, dep: Arc<super::super::Deployment>) -> CaseState {
        let tokens = Tokens::new(dep.net.places().len());
        CaseState {
            record,
            dep,
            tokens,
            in_flight: 0,
            blocked: HashSet::new(),
            due: Vec::new(),
            retrying: 0,
            dead_letters: 0,
        }
    }
}
