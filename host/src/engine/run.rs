//! Running cases until nothing is enabled: scheduling, firing, settling,
//! and waiting on durable retry timers.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

mod abort;
pub(crate) mod driver;
mod execute;
mod load;
mod offer;
mod retry;
mod saga;
mod schedule;
mod settle;

use super::marking::Tokens;
use super::{Deployment, Engine, EngineError};
use crate::sandbox::CallResult;
use crate::store::{
    AttemptFailure, CaseRecord, Change, Lease, Owner, Release, Reservation, SagaStep, StoreError,
    token_key,
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
    /// External firings offered to workers (claimed or not) when the run
    /// returned; `petrel serve` hands them out.
    pub awaiting_workers: u64,
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

impl Launch {
    /// The key of one of its inputs (or of a token it holds) in the store.
    fn key(&self, (place, shared, seq): (usize, bool, u64)) -> Vec<u8> {
        token_key(
            &owner(&self.case, self.dep.version(), shared),
            &self.dep.net.places()[place].name,
            seq,
        )
    }

    /// Token keys of its inputs, in input order.
    fn input_keys(&self) -> Vec<Vec<u8>> {
        self.inputs.iter().map(|&i| self.key(i)).collect()
    }

    /// Its reservation, for a change that removes it.
    fn release(&self) -> Release {
        Release {
            firing: self.firing,
            token: self.inputs.first().map(|&i| self.key(i)),
        }
    }

    /// A firing of an `external = true` transition: offered to workers.
    fn is_external(&self) -> bool {
        matches!(self.work, Work::Transition) && self.dep.guests[self.transition].is_none()
    }
}

/// An external firing offered to workers, its inputs reserved.
struct Offer {
    launch: Launch,
    /// Set while a worker holds it.
    lease: Option<Lease>,
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
    /// A claimed external firing's lease (by firing id).
    Lease(u64),
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

/// A firing's launch and what its guest did.
type Done = (Launch, Result<CallResult, StoreError>);

/// A firing task's result.
type Finished = Result<Done, tokio::task::JoinError>;

pub(crate) struct Runner<'e> {
    engine: &'e Engine,
    options: RunOptions,
    cases: HashMap<String, CaseState>,
    shared: HashMap<String, Tokens>,
    /// Cases waiting for shared tokens of a version held by firings in flight.
    waiting: HashMap<String, HashSet<String>>,
    dirty: VecDeque<String>,
    dirty_set: HashSet<String>,
    /// Changes not applied yet: the firings settled since the last round,
    /// the statuses they settled and the next launches' reservations, all
    /// applied together in one store transaction per round.
    pending: Vec<Change>,
    tasks: JoinSet<Done>,
    retries: HashMap<u64, Waiting>,
    /// External firings offered to workers, by firing id (oldest first).
    offers: BTreeMap<u64, Offer>,
    /// Told whenever an offer becomes claimable (long-polling claims wait on it).
    claimable: Arc<tokio::sync::Notify>,
    /// Forget cases once they end (the driver runs for days; a batch run
    /// reports them in its summary).
    evict_finished: bool,
    timers: BTreeSet<(u64, Timer)>,
    launched: u64,
    summary: RunSummary,
}

/// The store's record of a launched firing's reservation.
fn reservation(l: &Launch, lease: Option<Lease>) -> Reservation {
    Reservation {
        case: l.case.clone(),
        transition: l.dep.net.transitions()[l.transition].name.clone(),
        attempt: l.attempt,
        tokens: l.input_keys(),
        started_at_ms: l.started_at_ms,
        not_before_ms: 0,
        failures: l.failures.clone(),
        external: l.is_external(),
        lease,
    }
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
    fn fire_due_timers(&mut self) -> Result<(), EngineError> {
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
                Timer::Lease(firing) => self.expire_lease(firing, now)?,
            }
        }
        Ok(())
    }

    pub(crate) async fn run(mut self) -> Result<RunSummary, EngineError> {
        let started = Instant::now();
        let clock = self.engine.clock().clone();
        loop {
            self.fire_due_timers()?;
            let launches = self.schedule()?;
            self.start(launches).await?;
            if !self.dirty.is_empty() && self.may_launch(0) {
                continue; // firings settled during the commit enabled more
            }
            // A batch run hands out no work: lease timers are the driver's.
            let next_timer = self
                .timers
                .iter()
                .find(|(_, t)| !matches!(t, Timer::Lease(_)))
                .map(|(at, _)| *at);
            if self.tasks.is_empty() {
                match next_timer {
                    Some(at) if !self.options.no_wait => {
                        // Idle until a durable timer: make the timers durable
                        // first, so a host killed while it waits resumes them.
                        self.commit()?;
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
            self.settle_finished(first.expect("tasks is not empty"))?;
        }
        self.commit()?;
        self.engine.flush().await?;
        Ok(self.finish(started))
    }

    /// The summary at the end of a run.
    fn finish(mut self, started: Instant) -> RunSummary {
        for c in self.cases.values() {
            *self
                .summary
                .cases
                .entry(c.record.status.as_str().to_string())
                .or_default() += 1;
        }
        self.summary.waiting = self.retries.len() as u64;
        self.summary.awaiting_workers = self.offers.len() as u64;
        self.summary.elapsed_ms = started.elapsed().as_millis() as u64;
        self.summary
    }

    /// Settles `first` and every other firing task that has finished. Their
    /// changes wait in `pending` for the round's one transaction (see
    /// [`Runner::start`]).
    fn settle_finished(&mut self, first: Finished) -> Result<(), EngineError> {
        let done = self.finished(first)?;
        self.settle_all(done)
    }

    /// `first` and every other firing task that has finished.
    fn finished(&mut self, first: Finished) -> Result<Vec<Done>, EngineError> {
        let task_failed = |e: tokio::task::JoinError| {
            EngineError::Store(StoreError::Bug(format!("firing task: {e}")))
        };
        let mut done = vec![first.map_err(task_failed)?];
        while let Some(more) = self.tasks.try_join_next() {
            done.push(more.map_err(task_failed)?);
        }
        Ok(done)
    }

    fn settle_all(&mut self, done: Vec<Done>) -> Result<(), EngineError> {
        for (launch, result) in done {
            let change = self.settle(launch, result?)?;
            self.pending.push(change);
        }
        Ok(())
    }

    /// After `changes` are applied: forgets the cases they ended, when
    /// evicting (nothing of theirs is in flight or waiting).
    fn applied(&mut self, changes: &[Change]) {
        if !self.evict_finished {
            return;
        }
        for record in changes.iter().filter_map(|c| c.case.as_ref()) {
            if record.status.is_terminal()
                && self
                    .cases
                    .get(&record.id)
                    .is_some_and(|c| c.in_flight == 0 && c.retrying == 0)
            {
                self.cases.remove(&record.id);
            }
        }
    }

    /// Applies the changes waiting in `pending` in one transaction (as
    /// [`Runner::commit`]) on a blocking thread, settling the firings that
    /// finish meanwhile (those of cases the transaction concerns once it has
    /// committed): their changes wait in `pending` for the next round. The
    /// store's work and the runner's overlap.
    async fn commit_settling(&mut self) -> Result<(), EngineError> {
        let mut changes = std::mem::take(&mut self.pending);
        if changes.is_empty() {
            return Ok(());
        }
        // Settling a firing may read its case's log from the store (an
        // abort gathers the saga to compensate), which must then hold this
        // transaction's entries: firings of the cases it concerns wait for it.
        let busy: HashSet<String> = changes
            .iter()
            .flat_map(|c| {
                let logged = c.events.iter().filter_map(|e| e.case.clone());
                logged.chain(c.case.as_ref().map(|r| r.id.clone()))
            })
            .collect();
        let store = self.engine.store().clone();
        let mut commit =
            tokio::task::spawn_blocking(move || store.apply(&mut changes).map(|()| changes));
        let mut later = Vec::new();
        let changes = loop {
            tokio::select! {
                biased;
                applied = &mut commit => break applied.map_err(|e| {
                    EngineError::Store(StoreError::Bug(format!("commit task: {e}")))
                })??,
                Some(first) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    let (wait, now): (Vec<Done>, Vec<Done>) = self
                        .finished(first)?
                        .into_iter()
                        .partition(|(launch, _)| busy.contains(&launch.case));
                    later.extend(wait);
                    self.settle_all(now)?;
                }
            }
        };
        self.engine.observe(changes.iter().flat_map(|c| &c.events));
        self.applied(&changes);
        self.settle_all(later)
    }

    /// Applies the changes waiting in `pending` in one transaction, not
    /// flushed: a run acknowledges with one flush at its end (sled also
    /// flushes in the background every 500 ms); a crash before that re-runs
    /// uncommitted firings, never repeats one.
    fn commit(&mut self) -> Result<(), EngineError> {
        let mut changes = std::mem::take(&mut self.pending);
        if !changes.is_empty() {
            self.engine.apply(&mut changes)?;
            self.applied(&changes);
        }
        Ok(())
    }
}
