//! Compensations of an aborted case: one at a time, newest firing first,
//! each step's commit advancing the saga cursor in the case record.

use super::super::EngineError;
use super::super::decision;
use super::{Launch, Runner, Timer, Work};
use crate::sandbox::{CallResult, Decision, GuestFailure};
use crate::store::{
    AttemptFailure, CaseStatus, Change, DeadLetter, DeadLetterKind, Event, FiringError,
    LastDecision, now_ms,
};

impl Runner<'_> {
    /// The next compensation of case `id`, if one may start now.
    pub(super) fn next_compensation(&mut self, id: &str) -> Result<Option<Launch>, EngineError> {
        let now = self.engine.clock().now_ms();
        let case = &self.cases[id];
        if case.in_flight > 0 {
            return Ok(None); // it is marked dirty again when they settle
        }
        let Some(saga) = &case.record.saga else {
            return Ok(None);
        };
        if saga.not_before_ms > now {
            self.timers
                .insert((saga.not_before_ms, Timer::Saga(id.to_string())));
            return Ok(None);
        }
        let Some(step) = saga.steps.first().cloned() else {
            return Ok(None);
        };
        let dep = case.dep.clone();
        let Some(ti) = dep
            .net
            .transitions()
            .iter()
            .position(|t| t.name == step.compensation)
        else {
            return Err(crate::store::StoreError::Bug(format!(
                "case `{id}` compensates with unknown transition `{}`",
                step.compensation
            ))
            .into());
        };
        let (attempt, failures) = (saga.attempt, saga.failures.clone());
        self.cases.get_mut(id).expect("case is loaded").in_flight += 1;
        self.launched += 1;
        Ok(Some(Launch {
            firing: self.engine.store().next_id()?,
            case: id.to_string(),
            transition: ti,
            dep,
            inputs: Vec::new(),
            started_at_ms: now_ms(),
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
    ) -> Result<Change, EngineError> {
        let Work::Compensation(step) = &launch.work else {
            unreachable!("settle_compensation gets compensations only");
        };
        let id = launch.case.clone();
        let version = launch.dep.version().to_string();
        let net = &launch.dep.net;
        let t = &net.transitions()[launch.transition];
        self.cases.get_mut(&id).expect("case is loaded").in_flight -= 1;
        self.mark_dirty(&id);
        let mut last_decision = None;
        let decided = match call.decision {
            Ok(Decision::Fire(fire)) => {
                last_decision = Some(LastDecision {
                    outcome: fire.outcome.clone(),
                    places: fire.outputs.iter().map(|t| t.place.clone()).collect(),
                });
                decision::check(net, t, &fire).map(Some)
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
            Err(error) => return self.fail_compensation(launch, error, call.log, last_decision),
        };
        let outcome = checked.as_ref().map(|c| t.outcomes[c.outcome].name.clone());
        let outputs = checked.map(|c| c.outputs).unwrap_or_default();
        let (produce, produced) = self.produce(&id, &launch.dep, outputs)?;
        let case = self.cases.get_mut(&id).expect("case is loaded");
        let saga = case
            .record
            .saga
            .as_mut()
            .expect("a compensating case has a saga");
        saga.step_done();
        let remaining = saga.steps.len() as u32;
        if remaining == 0 {
            case.record.saga = None;
            case.record.status = CaseStatus::Aborted;
        }
        case.record.updated_at_ms = now_ms();
        let record = case.record.clone();
        self.summary.compensated += 1;
        if produced.iter().any(|t| t.shared) {
            self.wake_waiting(&version);
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
        Ok(Change {
            produce,
            case: Some(record),
            events: vec![self.engine.event(Some(&id), event)],
            ..Change::default()
        })
    }

    fn fail_compensation(
        &mut self,
        launch: Launch,
        error: FiringError,
        log: Vec<crate::sandbox::LogLine>,
        last_decision: Option<LastDecision>,
    ) -> Result<Change, EngineError> {
        let Work::Compensation(step) = &launch.work else {
            unreachable!("fail_compensation gets compensations only");
        };
        let id = launch.case.clone();
        let t = &launch.dep.net.transitions()[launch.transition];
        let now = self.engine.clock().now_ms();
        self.summary.failed += 1;
        let retry_at = super::retry::retry_at(&t.retry, &error, launch.attempt, now);
        tracing::warn!(case = %id, compensation = %t.name, attempt = launch.attempt, cause = %error, retry_at_ms = ?retry_at, "compensation failed");
        let failed = self.engine.event_at(
            now,
            Some(&id),
            Event::FiringFailed {
                firing: launch.firing,
                transition: t.name.clone(),
                attempt: launch.attempt,
                error: error.clone(),
                log,
                retry_at_ms: retry_at,
                compensating: Some(step.firing),
            },
        );
        let case = self.cases.get_mut(&id).expect("case is loaded");
        let saga = case
            .record
            .saga
            .as_mut()
            .expect("a compensating case has a saga");
        saga.failures.push(AttemptFailure {
            attempt: launch.attempt,
            at_ms: now,
            error: error.clone(),
        });
        let mut events = vec![failed];
        let mut letter = None;
        match retry_at {
            Some(due) => {
                saga.attempt = launch.attempt + 1;
                saga.not_before_ms = due;
                self.timers.insert((due, Timer::Saga(id.clone())));
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
                    dead_at_ms: now,
                });
                case.record.status = CaseStatus::CompensationFailed;
                self.summary.dead_lettered += 1;
                tracing::error!(case = %id, compensation = %t.name, "compensation dead-lettered; case is compensation_failed");
                events.push(self.engine.event(
                    Some(&id),
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
        let case = self.cases.get_mut(&id).expect("case is loaded");
        case.record.updated_at_ms = now_ms();
        Ok(Change {
            case: Some(case.record.clone()),
            events,
            dead_letter: letter,
            ..Change::default()
        })
    }
}
