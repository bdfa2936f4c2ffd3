//! Running cases until nothing is enabled: scheduling, firing, settling,
//! and waiting on durable retry timers.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

mod abort;
mod execute;
mod load;
mod retry;
mod saga;
mod settle;

use super::marking::Tokens;
use super::{Deployment, Engine, EngineError};
use crate::sandbox::CallResult;
use crate::store::{
    AttemptFailure, CaseRecord, CaseStatus, Change, Event, Owner, Reservation, SagaStep,
    StoreError, now_ms, token_key,
};

/// Limits of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop starting firings after this many.
    pub max_firings: Option<u64>,
    /// Return when nothing can fire now, leaving retries waiting on their
    /// timers (a later run resumes them); by default a run waits for them.
    pub no_wait: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    /// Firings that committed an outcome.
    pub completed: u64,
    /// Firings whose guest declined.
    pub declined: u64,
    /// Failed attempts (each retried or exhausted).
    pub failed: u64,
    /// Failed attempts scheduled for a retry.
    pub retried: u64,
    /// Firings moved to the dead-letter queue.
    pub dead_lettered: u64,
    /// Cases aborted (by a guest, or by `on_exhausted = "abort"`).
    pub aborted: u64,
    /// Compensations that committed.
    pub compensated: u64,
    /// Retries still waiting on their timers when the run returned.
    pub waiting: u64,
    /// Cases by status at the end of the run (the cases the run looked at).
    pub cases: BTreeMap<String, u64>,
    /// Wall-clock time, flush included.
    pub elapsed_ms: u64,
}

/// What a launched firing does.
enum Work {
    /// Fire a transition on its reserved inputs.
    Transition,
    /// Compensate a completed firing of an aborted case.
    Compensation(SagaStep),
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
    attempt: u32,
    failures: Vec<AttemptFailure>,
    work: Work,
}

/// A firing waiting to be retried: on its timer, or once due, on shared tokens.
struct Waiting {
    case: String,
    transition: usize,
    /// Tokens it holds (reserved in the index), as (place, shared, seq).
    held: Vec<(usize, bool, u64)>,
    attempt: u32,
    failures: Vec<AttemptFailure>,
    /// The guest clock of a firing a crash cut off (re-run as it was).
    started_at_ms: Option<u64>,
}

/// What a durable timer wakes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// A firing's retry (by firing id).
    Retry(u64),
    /// A case's next compensation.
    Saga(String),
}

struct CaseState {
    record: CaseRecord,
    dep: Arc<Deployment>,
    tokens: Tokens,
    in_flight: usize,
    /// Transitions that declined since the marking last changed.
    blocked: HashSet<usize>,
    /// Retries whose timer passed, to launch.
    due: Vec<u64>,
    /// Retries waiting or due, not launched yet.
    retrying: usize,
    /// Dead letters of ordinary firings of this case.
    dead_letters: usize,
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
    /// Changes of the firings settled in this round, applied together.
    batch: Vec<Change>,
    tasks: JoinSet<(Launch, Result<CallResult, StoreError>)>,
    retries: HashMap<u64, Waiting>,
    timers: BTreeSet<(u64, Timer)>,
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

    /// Hands every timer that has passed to its case.
    fn fire_due_timers(&mut self) {
        let now = self.engine.clock().now_ms();
        while let Some((at, _)) = self.timers.first()
            && *at <= now
        {
            let (_, timer) = self.timers.pop_first().expect("first exists");
            match timer {
                Timer::Retry(firing) => {
                    let Some(w) = self.retries.get(&firing) else {
                        continue;
                    };
                    let case = w.case.clone();
                    if let Some(c) = self.cases.get_mut(&case) {
                        c.due.push(firing);
                    }
                    self.mark_dirty(&case);
                }
                Timer::Saga(case) => self.mark_dirty(&case),
            }
        }
    }

    pub(crate) async fn run(mut self) -> Result<RunSummary, EngineError> {
        let started = Instant::now();
        let clock = self.engine.clock().clone();
        loop {
            self.fire_due_timers();
            let launches = self.schedule()?;
            if !launches.is_empty() {
                self.start(launches)?;
            }
            let next_timer = self.timers.first().map(|(at, _)| *at);
            if self.tasks.is_empty() {
                match next_timer {
                    Some(at) if !self.options.no_wait => {
                        // Idle until a durable timer: make the timers durable
                        // first, so a host killed while it waits resumes them.
                        let changes = std::mem::take(&mut self.pending);
                        self.engine.store().apply(&changes)?;
                        self.engine.flush().await?;
                        tracing::info!(
                            wait_ms = at.saturating_sub(clock.now_ms()),
                            timers = self.timers.len(),
                            "waiting for a durable retry timer"
                        );
                        clock.sleep_until(at).await;
                        continue;
                    }
                    _ => break,
                }
            }
            let first = match next_timer {
                Some(at) if !clock.moves_only_when_idle() => tokio::select! {
                    done = self.tasks.join_next() => done,
                    () = clock.sleep_until(at) => continue,
                },
                _ => self.tasks.join_next().await,
            };
            self.batch = std::mem::take(&mut self.pending);
            let first = first.expect("tasks is not empty");
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
                let change = self.settle(launch, result?)?;
                self.batch.push(change);
            }
            let mut changes = std::mem::take(&mut self.batch);
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
        self.summary.waiting = self.retries.len() as u64;
        self.summary.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(self.summary)
    }

    fn may_launch(&self, more: usize) -> bool {
        let max_in_flight = self.engine.config().max_in_flight.max(1);
        self.tasks.len() + more < max_in_flight
            && self
                .options
                .max_firings
                .is_none_or(|max| self.launched < max)
    }

    /// Reserves inputs for every enabled firing of the dirty cases.
    fn schedule(&mut self) -> Result<Vec<Launch>, EngineError> {
        let mut launches = Vec::new();
        while let Some(id) = self.dirty.pop_front() {
            if !self.may_launch(launches.len()) {
                self.dirty.push_front(id);
                break;
            }
            self.dirty_set.remove(&id);
            let Some(case) = self.cases.get(&id) else {
                continue;
            };
            match case.record.status {
                CaseStatus::Compensating => {
                    if let Some(launch) = self.next_compensation(&id)? {
                        launches.push(launch);
                    }
                    continue;
                }
                s if s.is_terminal() || s.is_aborted() => continue,
                _ => {}
            }
            let mut waits_on_shared = self.launch_due(&id, &mut launches)?;
            waits_on_shared |= self.launch_enabled(&id, &mut launches)?;
            let case = &self.cases[&id];
            if waits_on_shared {
                let version = case.record.version.clone();
                self.waiting.entry(version).or_default().insert(id.clone());
            } else if case.in_flight == 0 && case.retrying == 0 {
                self.settle_status(&id)?;
            }
        }
        Ok(launches)
    }

    /// Launches the ordinary transitions enabled in case `id`; returns
    /// whether one waits only on shared tokens held elsewhere.
    fn launch_enabled(
        &mut self,
        id: &str,
        launches: &mut Vec<Launch>,
    ) -> Result<bool, EngineError> {
        let case = &self.cases[id];
        let dep = case.dep.clone();
        let version = case.record.version.clone();
        let mut waits_on_shared = false;
        for (ti, t) in dep.net.transitions().iter().enumerate() {
            if self.cases[id].blocked.contains(&ti) || dep.guests[ti].is_none() || t.compensation {
                continue;
            }
            loop {
                if !self.may_launch(launches.len()) {
                    break;
                }
                let case = self.cases.get_mut(id).expect("case is loaded");
                let shared = self.shared.get_mut(&version).expect("shared tokens exist");
                let places = dep.net.places();
                let count = |a: &crate::net::Arc, free: bool| {
                    let p = if places[a.place].shared {
                        shared.place(a.place)
                    } else {
                        case.tokens.place(a.place)
                    };
                    (if free { p.free() } else { p.len() }) >= a.weight as usize
                };
                if !t.inputs.iter().all(|a| count(a, true)) {
                    waits_on_shared |= t.inputs.iter().all(|a| count(a, false));
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
                    case: id.to_string(),
                    transition: ti,
                    dep: dep.clone(),
                    inputs,
                    started_at_ms: now_ms(),
                    attempt: 1,
                    failures: Vec::new(),
                    work: Work::Transition,
                });
            }
        }
        Ok(waits_on_shared)
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
        let (status, event) = if outside.is_empty() && case.dead_letters == 0 {
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
            .filter(|l| matches!(l.work, Work::Transition))
            .map(|l| {
                let places = l.dep.net.places();
                let version = l.dep.version();
                (
                    l.firing,
                    Reservation {
                        case: l.case.clone(),
                        transition: l.dep.net.transitions()[l.transition].name.clone(),
                        attempt: l.attempt,
                        tokens: l
                            .inputs
                            .iter()
                            .map(|&(p, s, seq)| {
                                token_key(&owner(&l.case, version, s), &places[p].name, seq)
                            })
                            .collect(),
                        started_at_ms: l.started_at_ms,
                        not_before_ms: 0,
                        failures: l.failures.clone(),
                    },
                )
            })
            .collect();
        self.engine.store().reserve(&reservations)?;
        for launch in launches {
            let sandbox = self.engine.sandbox().clone();
            let store = self.engine.store().clone();
            let llm = self.engine.llm().clone();
            self.tasks
                .spawn(execute::execute(sandbox, store, llm, launch));
        }
        Ok(())
    }
}
