//! Running cases until nothing is enabled: scheduling, firing, settling.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

mod execute;
mod settle;

use super::marking::Tokens;
use super::{Deployment, Engine, EngineError};
use crate::sandbox::CallResult;
use crate::store::{
    CaseRecord, CaseStatus, Change, Event, Owner, Reservation, StoreError, now_ms, token_key,
};

/// Limits of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop starting firings after this many.
    pub max_firings: Option<u64>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    /// Firings that committed an outcome.
    pub completed: u64,
    /// Firings whose guest declined.
    pub declined: u64,
    /// Firings that failed (inputs kept).
    pub failed: u64,
    /// Cases aborted by a guest.
    pub aborted: u64,
    /// Cases by status at the end of the run (the cases the run looked at).
    pub cases: BTreeMap<String, u64>,
    /// Wall-clock time, flush included.
    pub elapsed_ms: u64,
}

/// One firing handed to a task.
struct Launch {
    firing: u64,
    case: String,
    transition: usize,
    dep: Arc<Deployment>,
    /// (place index, shared, seq), in input-arc order.
    inputs: Vec<(usize, bool, u64)>,
    started_at_ms: u64,
}

struct CaseState {
    record: CaseRecord,
    dep: Arc<Deployment>,
    tokens: Tokens,
    in_flight: usize,
    /// Transitions that declined or failed since the marking last changed.
    blocked: HashSet<usize>,
}

pub(crate) struct Runner<'e> {
    engine: &'e Engine,
    options: RunOptions,
    cases: HashMap<String, CaseState>,
    shared: HashMap<String, Tokens>,
    /// Cases waiting for shared tokens of a version held by firings in flight.
    waiting: HashMap<String, HashSet<String>>,
    dirty: VecDeque<String>,
    dirty_set: HashSet<String>,
    pending: Vec<Change>,
    tasks: JoinSet<(Launch, Result<CallResult, StoreError>)>,
    launched: u64,
    summary: RunSummary,
}

fn owner(case: &str, version: &str, shared: bool) -> Owner {
    if shared {
        Owner::Shared(version.to_string())
    } else {
        Owner::Case(case.to_string())
    }
}

impl<'e> Runner<'e> {
    pub(crate) fn load(engine: &'e Engine, options: RunOptions) -> Result<Runner<'e>, EngineError> {
        let store = engine.store();
        let mut cases = HashMap::new();
        for record in store.cases()? {
            if record.status.is_terminal() {
                continue;
            }
            let dep = engine.deployment(&record.version)?;
            let tokens = Tokens::new(dep.net.places().len());
            cases.insert(
                record.id.clone(),
                CaseState {
                    record,
                    dep,
                    tokens,
                    in_flight: 0,
                    blocked: HashSet::new(),
                },
            );
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
        let mut ids: Vec<String> = cases.keys().cloned().collect();
        ids.sort();
        Ok(Runner {
            engine,
            options,
            cases,
            shared,
            waiting: HashMap::new(),
            dirty_set: ids.iter().cloned().collect(),
            dirty: ids.into(),
            pending: Vec::new(),
            tasks: JoinSet::new(),
            launched: 0,
            summary: RunSummary::default(),
        })
    }

    fn mark_dirty(&mut self, case: &str) {
        if self.dirty_set.insert(case.to_string()) {
            self.dirty.push_back(case.to_string());
        }
    }

    fn wake_waiting(&mut self, version: &str) {
        if let Some(waiters) = self.waiting.remove(version) {
            let mut waiters: Vec<_> = waiters.into_iter().collect();
            waiters.sort();
            for case in waiters {
                self.mark_dirty(&case);
            }
        }
    }

    pub(crate) async fn run(mut self) -> Result<RunSummary, EngineError> {
        let started = Instant::now();
        loop {
            let launches = self.schedule()?;
            if !launches.is_empty() {
                self.start(launches)?;
            }
            if self.tasks.is_empty() {
                break;
            }
            let mut changes = std::mem::take(&mut self.pending);
            let first = self.tasks.join_next().await.expect("tasks is not empty");
            let mut done =
                vec![first.map_err(|e| {
                    EngineError::Store(StoreError::Bug(format!("firing task: {e}")))
                })?];
            while let Some(more) = self.tasks.try_join_next() {
                done.push(more.map_err(|e| {
                    EngineError::Store(StoreError::Bug(format!("firing task: {e}")))
                })?);
            }
            for (launch, result) in done {
                changes.push(self.settle(launch, result?)?);
            }
            changes.append(&mut self.pending);
            // Not flushed here: a run acknowledges with one flush at its end
            // (sled also flushes in the background every 500 ms); a crash
            // before that re-runs uncommitted firings, never repeats one.
            self.engine.store().apply(&changes)?;
        }
        let changes = std::mem::take(&mut self.pending);
        self.engine.store().apply(&changes)?;
        self.engine.flush().await?;
        for c in self.cases.values() {
            *self
                .summary
                .cases
                .entry(c.record.status.as_str().to_string())
                .or_default() += 1;
        }
        self.summary.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(self.summary)
    }

    /// Reserves inputs for every enabled firing of the dirty cases.
    fn schedule(&mut self) -> Result<Vec<Launch>, EngineError> {
        let max_in_flight = self.engine.config().max_in_flight.max(1);
        let mut launches = Vec::new();
        while let Some(id) = self.dirty.pop_front() {
            if self.tasks.len() + launches.len() >= max_in_flight {
                self.dirty.push_front(id);
                break;
            }
            self.dirty_set.remove(&id);
            let Some(case) = self.cases.get_mut(&id) else {
                continue;
            };
            if case.record.status.is_terminal() {
                continue;
            }
            let dep = case.dep.clone();
            let version = case.record.version.clone();
            let shared = self
                .shared
                .get_mut(&version)
                .expect("shared tokens exist for every loaded version");
            let mut waits_on_shared = false;
            for (ti, t) in dep.net.transitions().iter().enumerate() {
                if case.blocked.contains(&ti) || dep.guests[ti].is_none() {
                    continue;
                }
                loop {
                    if self
                        .options
                        .max_firings
                        .is_some_and(|max| self.launched >= max)
                        || self.tasks.len() + launches.len() >= max_in_flight
                    {
                        break;
                    }
                    let places = dep.net.places();
                    let fits = t.inputs.iter().all(|a| {
                        let p = if places[a.place].shared {
                            shared.place(a.place)
                        } else {
                            case.tokens.place(a.place)
                        };
                        p.free() >= a.weight as usize
                    });
                    if !fits {
                        waits_on_shared |= t.inputs.iter().all(|a| {
                            let p = if places[a.place].shared {
                                shared.place(a.place)
                            } else {
                                case.tokens.place(a.place)
                            };
                            p.len() >= a.weight as usize
                        });
                        break;
                    }
                    let mut inputs = Vec::new();
                    for a in &t.inputs {
                        let is_shared = places[a.place].shared;
                        let p = if is_shared {
                            shared.place_mut(a.place)
                        } else {
                            case.tokens.place_mut(a.place)
                        };
                        for seq in p.reserve(a.weight as usize).expect("checked free count") {
                            inputs.push((a.place, is_shared, seq));
                        }
                    }
                    case.in_flight += 1;
                    self.launched += 1;
                    launches.push(Launch {
                        firing: self.engine.store().next_id()?,
                        case: id.clone(),
                        transition: ti,
                        dep: dep.clone(),
                        inputs,
                        started_at_ms: now_ms(),
                    });
                }
            }
            if waits_on_shared {
                self.waiting.entry(version).or_default().insert(id.clone());
            } else if case.in_flight == 0 {
                self.settle_status(&id)?;
            }
        }
        Ok(launches)
    }

    /// Writes the case's status once nothing of it is enabled or in flight.
    fn settle_status(&mut self, id: &str) -> Result<(), EngineError> {
        let case = self.cases.get_mut(id).expect("case is loaded");
        let places = case.dep.net.places();
        let outside: Vec<String> = case
            .tokens
            .marked()
            .filter(|&p| !places[p].is_final)
            .map(|p| places[p].name.clone())
            .collect();
        let (status, event) = if outside.is_empty() {
            (CaseStatus::Completed, Event::CaseCompleted)
        } else {
            (CaseStatus::Stuck, Event::CaseStuck { places: outside })
        };
        if case.record.status == status {
            return Ok(());
        }
        case.record.status = status;
        case.record.updated_at_ms = now_ms();
        let record = case.record.clone();
        let event = self.engine.event(Some(id), event)?;
        self.pending.push(Change {
            case: Some(record),
            events: vec![event],
            ..Change::default()
        });
        Ok(())
    }

    fn start(&mut self, launches: Vec<Launch>) -> Result<(), EngineError> {
        let reservations: Vec<(u64, Reservation)> = launches
            .iter()
            .map(|l| {
                let places = l.dep.net.places();
                let version = l.dep.version();
                (
                    l.firing,
                    Reservation {
                        case: l.case.clone(),
                        transition: l.dep.net.transitions()[l.transition].name.clone(),
                        attempt: 1,
                        tokens: l
                            .inputs
                            .iter()
                            .map(|&(p, s, seq)| {
                                token_key(&owner(&l.case, version, s), &places[p].name, seq)
                            })
                            .collect(),
                        started_at_ms: l.started_at_ms,
                    },
                )
            })
            .collect();
        self.engine.store().reserve(&reservations)?;
        for (launch, (_, reservation)) in launches.into_iter().zip(reservations) {
            let sandbox = self.engine.sandbox().clone();
            let store = self.engine.store().clone();
            let llm = self.engine.llm().clone();
            self.tasks.spawn(execute::execute(
                sandbox,
                store,
                llm,
                launch,
                reservation.tokens,
            ));
        }
        Ok(())
    }
}
