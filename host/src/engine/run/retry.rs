//! Failed firings: retried on a durable timer under the transition's policy,
//! then dead-lettered (or the case aborted) when the policy is used up.

use super::super::EngineError;
use super::settle::refs;
use super::{Launch, Runner, Timer, Waiting, Work};
use crate::net::{FailureClass, OnExhausted, RetryPolicy};
use crate::sandbox::{GuestFailure, LogLine};
use crate::store::{
    AttemptFailure, Change, DeadLetter, DeadLetterKind, Event, FiringError, LastDecision,
    Reservation, StoreError, TokenRecord, now_ms,
};

/// The retry class of a failure.
pub(crate) fn classify(error: &FiringError) -> FailureClass {
    match error {
        FiringError::Guest(g) => match g {
            GuestFailure::Deadline { .. } => FailureClass::Deadline,
            GuestFailure::Trap { .. } | GuestFailure::Instantiate { .. } => FailureClass::Trap,
            GuestFailure::OutOfFuel { .. }
            | GuestFailure::MemoryCap { .. }
            | GuestFailure::OutputTooLarge { .. } => FailureClass::Resources,
            GuestFailure::Guest {
                retryable: true, ..
            } => FailureClass::GuestError,
            GuestFailure::Guest {
                retryable: false, ..
            } => FailureClass::Fatal,
        },
        FiringError::UndeclaredOutcome { .. }
        | FiringError::WrongPlace { .. }
        | FiringError::WrongCount { .. }
        | FiringError::NotMessagePack { .. } => FailureClass::InvalidDecision,
        FiringError::CapacityExceeded { .. } => FailureClass::Capacity,
    }
}

/// When attempt `attempt + 1` may start after `error` at `now_ms`, if
/// `policy` retries it (the wait spread by a random jitter).
pub(super) fn retry_at(
    policy: &RetryPolicy,
    error: &FiringError,
    attempt: u32,
    now_ms: u64,
) -> Option<u64> {
    policy.retries(classify(error), attempt).then(|| {
        now_ms
            + policy
                .delay(attempt, crate::random::random_unit())
                .as_millis() as u64
    })
}

impl Runner<'_> {
    /// Launches the due retries of case `id` whose shared inputs are free;
    /// returns whether one waits on shared tokens held elsewhere.
    pub(super) fn launch_due(
        &mut self,
        id: &str,
        launches: &mut Vec<Launch>,
    ) -> Result<bool, EngineError> {
        let due = std::mem::take(&mut self.cases.get_mut(id).expect("case is loaded").due);
        let mut still = Vec::new();
        let mut waits_on_shared = false;
        for firing in due {
            if !self.may_launch(launches.len()) {
                still.push(firing);
                continue;
            }
            let case = self.cases.get_mut(id).expect("case is loaded");
            let dep = case.dep.clone();
            let shared = self
                .shared
                .get_mut(&case.record.version)
                .expect("shared tokens exist");
            let w = &self.retries[&firing];
            let t = &dep.net.transitions()[w.transition];
            let places = dep.net.places();
            // Shared inputs went back while it waited; take them again.
            let missing: Vec<(usize, usize)> = t
                .inputs
                .iter()
                .map(|a| {
                    let held = w.held.iter().filter(|h| h.0 == a.place).count();
                    (a.place, (a.weight as usize).saturating_sub(held))
                })
                .filter(|&(_, n)| n > 0)
                .collect();
            if let Some(&(p, _)) = missing.iter().find(|&&(p, _)| !places[p].shared) {
                return Err(StoreError::Bug(format!(
                    "retry of firing {firing} lost its token in place `{}`",
                    places[p].name
                ))
                .into());
            }
            if missing.iter().any(|&(p, n)| shared.place(p).free() < n) {
                waits_on_shared = true;
                still.push(firing);
                continue;
            }
            let w = self.retries.remove(&firing).expect("looked up above");
            let mut inputs = Vec::with_capacity(w.held.len());
            for a in &t.inputs {
                inputs.extend(w.held.iter().filter(|h| h.0 == a.place).copied());
                if let Some(&(_, n)) = missing.iter().find(|&&(p, _)| p == a.place) {
                    let seqs = shared.place_mut(a.place).reserve(n).expect("checked free");
                    inputs.extend(seqs.into_iter().map(|seq| (a.place, true, seq)));
                }
            }
            case.retrying -= 1;
            case.in_flight += 1;
            self.launched += 1;
            launches.push(Launch {
                firing,
                case: id.to_string(),
                transition: w.transition,
                dep,
                inputs,
                started_at_ms: w.started_at_ms.unwrap_or_else(now_ms),
                attempt: w.attempt,
                failures: w.failures,
                work: Work::Transition,
            });
        }
        self.cases.get_mut(id).expect("case is loaded").due = still;
        Ok(waits_on_shared)
    }

    /// A firing failed: schedules its retry, or dead-letters it, or aborts
    /// its case, as its transition's policy says.
    pub(super) fn fail(
        &mut self,
        launch: Launch,
        keys: Vec<Vec<u8>>,
        error: FiringError,
        log: Vec<LogLine>,
        last_decision: Option<LastDecision>,
    ) -> Result<Change, EngineError> {
        let t = &launch.dep.net.transitions()[launch.transition];
        let policy = t.retry.clone();
        let transition = t.name.clone();
        let now = self.engine.clock().now_ms();
        self.summary.failed += 1;
        let mut failures = launch.failures.clone();
        failures.push(AttemptFailure {
            attempt: launch.attempt,
            at_ms: now,
            error: error.clone(),
        });
        let retry_at = retry_at(&policy, &error, launch.attempt, now);
        tracing::warn!(firing = launch.firing, case = %launch.case, transition = %transition, attempt = launch.attempt, cause = %error, retry_at_ms = ?retry_at, "firing failed");
        let failed = self.engine.event_at(
            now,
            Some(&launch.case),
            Event::FiringFailed {
                firing: launch.firing,
                transition: transition.clone(),
                attempt: launch.attempt,
                error: error.clone(),
                log: log.clone(),
                retry_at_ms: retry_at,
                compensating: None,
            },
        );
        let Some(due) = retry_at else {
            return match policy.on_exhausted {
                OnExhausted::DeadLetter => {
                    self.dead_letter(launch, keys, error, failures, last_decision, failed)
                }
                OnExhausted::Abort => {
                    let reason = format!(
                        "`{transition}` failed for good after {} attempt(s): {error}",
                        launch.attempt
                    );
                    let mut change = self.abort(launch, keys, reason, Vec::new())?;
                    change.events.insert(0, failed);
                    Ok(change)
                }
            };
        };
        // Case inputs stay held for the retry; shared ones go back meanwhile.
        let version = launch.dep.version().to_string();
        let case = self.cases.get_mut(&launch.case).expect("case is loaded");
        let shared = self.shared.get_mut(&version).expect("shared tokens exist");
        let mut held = Vec::new();
        let mut tokens = Vec::new();
        for &(p, s, seq) in &launch.inputs {
            if s {
                shared.place_mut(p).unreserve(seq);
            } else {
                held.push((p, s, seq));
                tokens.push(launch.key((p, s, seq)));
            }
        }
        case.retrying += 1;
        let reservation = Reservation {
            case: launch.case.clone(),
            transition,
            attempt: launch.attempt + 1,
            tokens,
            started_at_ms: now,
            not_before_ms: due,
            failures: failures.clone(),
            external: launch.is_external(),
            lease: None,
        };
        self.timers.insert((due, Timer::Retry(launch.firing)));
        self.retries.insert(
            launch.firing,
            Waiting {
                case: launch.case.clone(),
                transition: launch.transition,
                held,
                attempt: launch.attempt + 1,
                failures,
                started_at_ms: None,
            },
        );
        self.summary.retried += 1;
        if launch.inputs.iter().any(|&(_, s, _)| s) {
            self.wake_waiting(&version);
        }
        Ok(Change {
            reserve: vec![(launch.firing, reservation)],
            events: vec![failed],
            ..Change::default()
        })
    }

    /// Moves a firing that ran out of attempts to the dead-letter queue: its
    /// case tokens leave the marking, its shared tokens go back.
    fn dead_letter(
        &mut self,
        launch: Launch,
        keys: Vec<Vec<u8>>,
        error: FiringError,
        failures: Vec<AttemptFailure>,
        last_decision: Option<LastDecision>,
        failed: crate::store::EventRecord,
    ) -> Result<Change, EngineError> {
        let version = launch.dep.version().to_string();
        let places = launch.dep.net.places();
        let transition = launch.dep.net.transitions()[launch.transition].name.clone();
        let mut consume = Vec::new();
        let mut tokens = Vec::new();
        for (&(p, s, seq), key) in launch.inputs.iter().zip(keys) {
            if s {
                self.shared
                    .get_mut(&version)
                    .expect("shared tokens exist")
                    .place_mut(p)
                    .unreserve(seq);
                continue;
            }
            let payload = self.engine.store().payload(&key)?.ok_or_else(|| {
                StoreError::Bug(format!("held token {}#{seq} is missing", places[p].name))
            })?;
            self.cases
                .get_mut(&launch.case)
                .expect("case is loaded")
                .tokens
                .place_mut(p)
                .remove(seq);
            consume.push(key);
            tokens.push(TokenRecord {
                place: places[p].name.clone(),
                seq,
                shared: false,
                payload,
            });
        }
        self.cases
            .get_mut(&launch.case)
            .expect("case is loaded")
            .dead_letters += 1;
        self.summary.dead_lettered += 1;
        tracing::warn!(firing = launch.firing, case = %launch.case, transition = %transition, attempts = launch.attempt, "firing dead-lettered");
        let consumed = refs(&launch).into_iter().filter(|r| !r.shared).collect();
        let event = self.engine.event(
            Some(&launch.case),
            Event::FiringDeadLettered {
                firing: launch.firing,
                transition: transition.clone(),
                attempts: launch.attempt,
                error,
                consumed,
                compensating: None,
            },
        );
        let letter = DeadLetter {
            id: launch.firing,
            case: launch.case.clone(),
            version: version.clone(),
            transition,
            kind: DeadLetterKind::Firing,
            tokens,
            attempts: launch.attempt,
            failures,
            last_decision,
            dead_at_ms: self.engine.clock().now_ms(),
        };
        self.mark_dirty(&launch.case);
        self.wake_waiting(&version);
        Ok(Change {
            release: vec![launch.release()],
            consume,
            events: vec![failed, event],
            dead_letter: Some(letter),
            ..Change::default()
        })
    }
}
