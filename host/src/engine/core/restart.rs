//! Workflow-level retry (the net's `[net] retry`): a case whose attempt
//! ends aborted (by a firing, once its compensations completed) or stuck
//! waits as `restarting` on a durable timer, then starts again from its
//! start tokens as the next attempt of the same case id: what the last
//! attempt left (tokens, dead letters of its firings) goes, its history
//! stays. The last attempt allowed ends in the dead-letter queue instead.

use super::timers::Timer;
use super::{Core, EngineError, bug};
use crate::store::{CaseStatus, Change, DeadLetter, DeadLetterKind, Event, EventRecord};

/// What ending an attempt adds to the change that ended it: on the last
/// attempt, the case's dead letter and its log entry.
pub(super) struct Ended {
    letter: DeadLetter,
    event: EventRecord,
}

impl Ended {
    /// Adds the letter and its entry (after the change's own) to `change`.
    pub(super) fn add_to(self, change: &mut Change) {
        change.events.push(self.event);
        change.dead_letter = Some(self.letter);
    }
}

impl Core {
    /// Case `id`'s attempt just ended with its record's status (`aborted`
    /// or `stuck`): under a `[net] retry` with attempts left, the case is
    /// `restarting` (its record, not yet cloned into a change, says when);
    /// on the last attempt it is dead-lettered (returned, for the caller's
    /// change). Nothing without a policy.
    pub(super) fn attempt_ended(
        &mut self,
        id: &str,
        now_ms: u64,
    ) -> Result<Option<Ended>, EngineError> {
        let case = self.case_mut(id)?;
        let Some(policy) = case.dep.net.workflow_retry().cloned() else {
            return Ok(None);
        };
        let record = &mut case.record;
        if record.start.is_empty() {
            return Err(bug(format!(
                "case `{id}` runs a net that retries whole cases but kept no start tokens"
            )));
        }
        let ended = record.status;
        let attempt = record.attempt;
        if attempt < policy.max_attempts {
            let wait = policy.delay(attempt, crate::random::random_unit());
            let at = now_ms.saturating_add(wait.as_millis() as u64).max(1);
            record.status = CaseStatus::Restarting;
            record.restart_at_ms = at;
            self.timers.set(at, Timer::Restart(id.to_string()));
            tracing::info!(case = %id, attempt, ended = ended.as_str(), restart_at_ms = at, "case attempt ended; it starts again");
            return Ok(None);
        }
        let version = case.dep.version().to_string();
        let letter_id = self.next_id()?;
        self.summary.dead_lettered += 1;
        tracing::error!(case = %id, attempts = attempt, ended = ended.as_str(), "case used up its attempts; dead-lettered");
        Ok(Some(Ended {
            letter: DeadLetter {
                id: letter_id,
                case: id.to_string(),
                version,
                transition: String::new(),
                kind: DeadLetterKind::Case { ended },
                tokens: Vec::new(),
                attempts: attempt,
                failures: Vec::new(),
                last_decision: None,
                dead_at_ms: now_ms,
            },
            event: Core::event(
                now_ms,
                id,
                Event::CaseDeadLettered {
                    dead_letter: letter_id,
                    attempts: attempt,
                    ended,
                },
            ),
        }))
    }

    /// Starts `restarting` case `id` again when its timer is due (else sets
    /// the timer): the last attempt's tokens and firing dead letters go,
    /// the start tokens come back under fresh seqs, the attempt counts up.
    pub(super) fn restart_when_due(&mut self, id: &str, now_ms: u64) -> Result<(), EngineError> {
        let case = &self.cases[id];
        let at = case.record.restart_at_ms;
        if at > now_ms {
            self.timers.set(at, Timer::Restart(id.to_string()));
            return Ok(());
        }
        if case.in_flight > 0 {
            return Ok(()); // planned again when they settle
        }
        let free = self.marking.free_case_tokens(id);
        let (consume, consumed) = self.drop_inputs(id, free);
        let case = self.case_mut(id)?;
        let dep = case.dep.clone();
        let discarded: Vec<u64> = std::mem::take(&mut case.dead_letters)
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        case.blocked.clear();
        let start = case
            .record
            .start
            .iter()
            .map(|t| {
                let place = dep.net.place_index(&t.place).ok_or_else(|| {
                    bug(format!(
                        "case `{id}` keeps a start token of unknown place `{}`",
                        t.place
                    ))
                })?;
                Ok((place, t.payload.clone()))
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        let (produce, tokens) = self.produce(id, &dep.net, start)?;
        let case = self.case_mut(id)?;
        let record = &mut case.record;
        record.attempt += 1;
        record.status = CaseStatus::Running;
        record.restart_at_ms = 0;
        record.compensable.clear();
        record.saga = None;
        record.updated_at_ms = now_ms;
        let attempt = record.attempt;
        let record = record.clone();
        tracing::info!(case = %id, attempt, "case started again");
        let event = Event::CaseRestarted {
            attempt,
            consumed,
            discarded: discarded.clone(),
            tokens,
        };
        self.outbox.push(Change {
            consume,
            produce,
            case: Some(record),
            events: vec![Core::event(now_ms, id, event)],
            ..Change::default()
        });
        self.remove_dead_letters(discarded);
        self.mark_dirty(id);
        Ok(())
    }
}
