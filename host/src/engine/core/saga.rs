//! Compensations of an aborted case, or of an aborted region while the
//! case runs on: one at a time, newest firing first, each step's commit
//! advancing the saga cursor in the case record.

use super::failure::{failed_event, retry_at};
use super::timers::Timer;
use super::{Core, EngineError, Launch, Work, bug};
use crate::engine::decision;
use crate::sandbox::{CallResult, Decision};
use crate::store::{
    AttemptFailure, CaseStatus, Change, DeadLetter, DeadLetterKind, Event, FiringError,
    GuestFailure, LastDecision, LogLine, Release, Reservation,
};

impl Core {
    /// The next compensation of case `id`, if one may start now.
    pub(super) fn next_compensation(
        &mut self,
        id: &str,
        now_ms: u64,
    ) -> Result<Option<Launch>, EngineError> {
        let case = &self.cases[id];
        let Some(saga) = &case.record.saga else {
            return Ok(None);
        };
        // A whole case's saga waits for its firings in flight (discarded as
        // they settle); a region's runs beside the rest of the case.
        if case.compensating
            || saga.waiting_letter.is_some()
            || (!saga.is_branch() && case.in_flight > 0)
        {
            return Ok(None); // it is planned again when they settle
        }
        if saga.not_before_ms > now_ms {
            self.timers
                .set(saga.not_before_ms, Timer::Saga(id.to_string()));
            return Ok(None);
        }
        let Some(step) = saga.steps.first().cloned() else {
            return Ok(None);
        };
        let dep = case.dep.clone();
        let transition = dep
            .net
            .transition_index(&step.compensation)
            .ok_or_else(|| {
                bug(format!(
                    "case `{id}` compensates with unknown transition `{}`",
                    step.compensation
                ))
            })?;
        let (attempt, failures) = (saga.attempt, saga.failures.clone());
        let firing = self.next_id()?;
        let case = self.case_mut(id)?;
        case.in_flight += 1;
        case.compensating = true;
        self.launched += 1;
        Ok(Some(Launch {
            firing,
            case: id.to_string(),
            transition,
            dep,
            inputs: Vec::new(),
            started_at_ms: now_ms,
            attempt,
            failures,
            work: Work::Compensation(step),
        }))
    }

    /// Commits a compensation's decision, or retries it, or dead-letters it
    /// with the case in `compensation_failed`.
    pub(super) fn settle_compensation(
        &mut self,
        launch: Launch,
        call: CallResult,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let Work::Compensation(step) = &launch.work else {
            return Err(bug("settle_compensation got a firing".into()));
        };
        let id = launch.case.clone();
        let dep = launch.dep.clone();
        let t = &dep.net.transitions()[launch.transition];
        let case = self.case_mut(&id)?;
        case.in_flight -= 1;
        case.compensating = false;
        self.mark_dirty(&id);
        let mut last_decision = None;
        let decided = match call.decision {
            Ok(Decision::Fire(fire)) => {
                last_decision = Some(LastDecision {
                    outcome: fire.outcome.clone(),
                    places: fire.outputs.iter().map(|t| t.place.clone()).collect(),
                });
                decision::check(&dep.net, t, &fire).map(Some)
            }
            Ok(Decision::Decline) => Ok(None),
            Ok(Decision::Abort(reason)) => Err(FiringError::Guest(GuestFailure::Guest {
                message: format!(
                    "a compensation cannot abort its case (it is aborted already): {reason}"
                ),
                retryable: false,
            })),
            Err(failure) => Err(FiringError::Guest(failure)),
        };
        let checked = match decided {
            Ok(checked) => checked,
            Err(error) => {
                return self.fail_compensation(launch, error, call.log, last_decision, now_ms);
            }
        };
        let outcome = checked.as_ref().map(|c| t.outcomes[c.outcome].name.clone());
        let outputs = checked.map(|c| c.outputs).unwrap_or_default();
        let (produce, produced) = self.produce(&id, &dep.net, outputs)?;
        let case = self.case_mut(&id)?;
        let saga = case
            .record
            .saga
            .as_mut()
            .ok_or_else(|| bug(format!("compensating case `{id}` has no saga")))?;
        saga.step_done();
        let remaining = saga.steps.len() as u32;
        let then_restart = saga.then_restart;
        let branch = saga.is_branch();
        case.record.updated_at_ms = now_ms;
        let mut ended = None;
        if remaining == 0 {
            case.record.saga = None;
        }
        // A region's last step leaves the case running.
        if remaining == 0 && !branch {
            case.record.status = CaseStatus::Aborted;
            if then_restart {
                ended = self.attempt_ended(&id, now_ms)?;
            }
        }
        let record = self.cases[&id].record.clone();
        self.summary.compensated += 1;
        if produced.iter().any(|t| t.shared) {
            self.wake_waiting(dep.version());
        }
        let event = Event::CompensationCompleted {
            firing: launch.firing,
            transition: t.name.clone(),
            compensated: step.firing,
            attempt: launch.attempt,
            outcome,
            produced,
            log: call.log,
            remaining,
        };
        let mut change = Change {
            release: self.claim_released(&launch),
            produce,
            case: Some(record),
            events: vec![Core::event(now_ms, &id, event)],
            ..Change::default()
        };
        if let Some(ended) = ended {
            ended.add_to(&mut change);
        }
        self.outbox.push(change);
        Ok(())
    }

    fn fail_compensation(
        &mut self,
        launch: Launch,
        error: FiringError,
        log: Vec<LogLine>,
        last_decision: Option<LastDecision>,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let Work::Compensation(step) = &launch.work else {
            return Err(bug("fail_compensation got a firing".into()));
        };
        let id = launch.case.clone();
        let t = launch.transition();
        self.summary.failed += 1;
        let retry_at = retry_at(&t.retry, &error, launch.attempt, now_ms);
        tracing::warn!(case = %id, compensation = %t.name, attempt = launch.attempt, cause = %error, retry_at_ms = ?retry_at, "compensation failed");
        let failed = failed_event(&launch, &error, log, retry_at, Some(step.firing), now_ms);
        let case = self
            .cases
            .get_mut(&id)
            .ok_or_else(|| bug(format!("case `{id}` is not loaded")))?;
        case.compensating = false;
        let saga = case
            .record
            .saga
            .as_mut()
            .ok_or_else(|| bug(format!("compensating case `{id}` has no saga")))?;
        saga.failures.push(AttemptFailure {
            attempt: launch.attempt,
            at_ms: now_ms,
            error: error.clone(),
        });
        let mut events = vec![failed];
        let mut letter = None;
        match retry_at {
            Some(due) => {
                saga.attempt = launch.attempt + 1;
                saga.not_before_ms = due;
                self.timers.set(due, Timer::Saga(id.clone()));
                self.summary.retried += 1;
            }
            None => {
                letter = Some(DeadLetter {
                    id: launch.firing,
                    case: id.clone(),
                    version: launch.dep.version().to_string(),
                    transition: t.name.clone(),
                    kind: DeadLetterKind::Compensation {
                        compensated: step.firing,
                    },
                    tokens: Vec::new(),
                    attempts: launch.attempt,
                    failures: saga.failures.clone(),
                    last_decision,
                    dead_at_ms: now_ms,
                });
                if saga.is_branch() {
                    // The case runs on; the region's steps wait on the letter.
                    saga.waiting_letter = Some(launch.firing);
                    tracing::error!(case = %id, compensation = %t.name, "compensation of an aborted region dead-lettered");
                } else {
                    case.record.status = CaseStatus::CompensationFailed;
                    tracing::error!(case = %id, compensation = %t.name, "compensation dead-lettered; case is compensation_failed");
                }
                self.summary.dead_lettered += 1;
                events.push(Core::event(
                    now_ms,
                    &id,
                    Event::FiringDeadLettered {
                        firing: launch.firing,
                        transition: t.name.clone(),
                        attempts: launch.attempt,
                        error,
                        consumed: Vec::new(),
                        compensating: Some(step.firing),
                    },
                ));
            }
        }
        case.record.updated_at_ms = now_ms;
        let record = case.record.clone();
        self.outbox.push(Change {
            release: self.claim_released(&launch),
            case: Some(record),
            events,
            dead_letter: letter,
            ..Change::default()
        });
        Ok(())
    }

    /// The claim an external compensation's worker held (its reservation,
    /// written at the claim), which settling it removes; none for a guest's.
    fn claim_released(&self, launch: &Launch) -> Vec<Release> {
        if launch.is_external() {
            vec![self.release(launch)]
        } else {
            Vec::new()
        }
    }

    /// Takes over a claimed external compensation at start-up: its worker's
    /// lease holds, as a claimed firing's does. A claim that is not the
    /// case's next step (its commit would have removed it) is released.
    pub(super) fn adopt_compensation(
        &mut self,
        firing: u64,
        compensated: u64,
        r: Reservation,
    ) -> Result<(), EngineError> {
        let step = self
            .cases
            .get(&r.case)
            .filter(|c| {
                c.record.status == CaseStatus::Compensating
                    || c.record.saga.as_ref().is_some_and(|s| s.is_branch())
            })
            .and_then(|c| c.record.saga.as_ref())
            .and_then(|saga| saga.steps.first())
            .filter(|step| step.firing == compensated && step.compensation == r.transition)
            .cloned();
        let (Some(step), Some(lease)) = (step, r.lease) else {
            self.drop_reservation(firing, r.tokens);
            return Ok(());
        };
        let case = self.case_mut(&r.case)?;
        case.in_flight += 1;
        case.compensating = true;
        let dep = case.dep.clone();
        let transition = dep.net.transition_index(&r.transition).ok_or_else(|| {
            bug(format!(
                "reservation {firing} names unknown compensation `{}`",
                r.transition
            ))
        })?;
        let launch = Launch {
            firing,
            case: r.case,
            transition,
            dep,
            inputs: Vec::new(),
            started_at_ms: r.started_at_ms,
            attempt: r.attempt,
            failures: r.failures,
            work: Work::Compensation(step),
        };
        self.hold_leased(launch, lease);
        Ok(())
    }
}
