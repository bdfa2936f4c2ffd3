//! Failed firings: retried on a durable timer under the transition's policy,
//! then dead-lettered (or the case aborted) when the policy is used up.

use super::timers::Timer;
use super::{Core, EngineError, Launch, PendingRetry};
use crate::net::{FailureClass, OnExhausted, RetryPolicy};
use crate::store::{
    AttemptFailure, Change, DeadLetter, DeadLetterKind, Event, EventRecord, FiringError,
    GuestFailure, LastDecision, LogLine, Reservation, TokenRecord,
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
        now_ms.saturating_add(
            policy
                .delay(attempt, crate::random::random_unit())
                .as_millis() as u64,
        )
    })
}

/// The log entry of `launch`'s failed attempt; `compensating` names the
/// firing a compensation undoes.
pub(super) fn failed_event(
    launch: &Launch,
    error: &FiringError,
    log: Vec<LogLine>,
    retry_at_ms: Option<u64>,
    compensating: Option<u64>,
    now_ms: u64,
) -> EventRecord {
    Core::event(
        now_ms,
        &launch.case,
        Event::FiringFailed {
            firing: launch.firing,
            transition: launch.transition().name.clone(),
            attempt: launch.attempt,
            error: error.clone(),
            log,
            retry_at_ms,
            compensating,
        },
    )
}

impl Core {
    /// A firing failed: schedules its retry, or dead-letters it, or aborts
    /// its case, as its transition's policy says.
    pub(super) fn fail(
        &mut self,
        launch: Launch,
        error: FiringError,
        log: Vec<LogLine>,
        last_decision: Option<LastDecision>,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let dep = launch.dep.clone();
        let t = &dep.net.transitions()[launch.transition];
        self.summary.failed += 1;
        let mut failures = launch.failures.clone();
        failures.push(AttemptFailure {
            attempt: launch.attempt,
            at_ms: now_ms,
            error: error.clone(),
        });
        let retry_at = retry_at(&t.retry, &error, launch.attempt, now_ms);
        tracing::warn!(firing = launch.firing, case = %launch.case, transition = %t.name, attempt = launch.attempt, cause = %error, retry_at_ms = ?retry_at, "firing failed");
        let failed = failed_event(&launch, &error, log, retry_at, None, now_ms);
        let Some(due) = retry_at else {
            return match t.retry.on_exhausted {
                OnExhausted::DeadLetter => {
                    self.dead_letter(launch, error, failures, last_decision, failed, now_ms)
                }
                OnExhausted::Abort => {
                    let reason = format!(
                        "`{}` failed for good after {} attempt(s): {error}",
                        t.name, launch.attempt
                    );
                    let before = self.outbox.len();
                    self.abort(launch, reason, Vec::new(), now_ms)?;
                    if let Some(change) = self.outbox.get_mut(before) {
                        change.events.insert(0, failed);
                    }
                    Ok(())
                }
            };
        };
        // Case inputs stay held for the retry; shared ones go back meanwhile.
        let id = launch.case.clone();
        let shared = self.holds_shared(&launch);
        let (lent, held): (Vec<_>, Vec<_>) = launch
            .inputs
            .iter()
            .cloned()
            .partition(|i| self.marking.is_shared(&id, i.at.place));
        self.marking.unreserve(&id, lent.iter().map(|i| i.at));
        let reservation = Reservation {
            case: id.clone(),
            transition: t.name.clone(),
            attempt: launch.attempt + 1,
            tokens: self.token_ids(&id, &held),
            started_at_ms: now_ms,
            not_before_ms: due,
            failures: failures.clone(),
            external: launch.is_external(),
            lease: None,
            compensates: None,
        };
        self.case_mut(&id)?.retrying += 1;
        self.timers.set(due, Timer::Retry(launch.firing));
        self.retries.insert(
            launch.firing,
            PendingRetry {
                case: id,
                transition: launch.transition,
                held,
                attempt: launch.attempt + 1,
                failures,
                started_at_ms: None,
            },
        );
        self.summary.retried += 1;
        if shared {
            self.wake_waiting(dep.version());
        }
        self.outbox.push(Change {
            reserve: vec![(launch.firing, reservation)],
            events: vec![failed],
            ..Change::default()
        });
        Ok(())
    }

    /// Moves a firing that ran out of attempts to the dead-letter queue: its
    /// case tokens leave the marking, its shared tokens go back.
    fn dead_letter(
        &mut self,
        launch: Launch,
        error: FiringError,
        failures: Vec<AttemptFailure>,
        last_decision: Option<LastDecision>,
        failed: EventRecord,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let id = launch.case.clone();
        let t = launch.transition().name.clone();
        let release = self.release(&launch);
        let tokens: Vec<TokenRecord> = launch
            .input_records()
            .into_iter()
            .filter(|r| !r.shared)
            .collect();
        let (consume, consumed) = self.drop_inputs(&id, launch.inputs.iter().map(|i| i.at));
        self.case_mut(&id)?
            .dead_letters
            .push((launch.firing, t.clone()));
        self.summary.dead_lettered += 1;
        tracing::warn!(firing = launch.firing, case = %id, transition = %t, attempts = launch.attempt, "firing dead-lettered");
        let event = Event::FiringDeadLettered {
            firing: launch.firing,
            transition: t.clone(),
            attempts: launch.attempt,
            error,
            consumed,
            compensating: None,
        };
        let letter = DeadLetter {
            id: launch.firing,
            case: id.clone(),
            version: launch.dep.version().to_string(),
            transition: t,
            kind: DeadLetterKind::Firing,
            tokens,
            attempts: launch.attempt,
            failures,
            last_decision,
            dead_at_ms: now_ms,
        };
        self.outbox.push(Change {
            release: vec![release],
            consume,
            events: vec![failed, Core::event(now_ms, &id, event)],
            dead_letter: Some(letter),
            ..Change::default()
        });
        self.mark_dirty(&id);
        self.wake_waiting(launch.dep.version());
        Ok(())
    }
}
