//! Operating on the dead-letter queue: list, retry, discard.
//!
//! Each operation is one store transaction that re-checks the dead letter is
//! still there, so a letter is retried or discarded once, never both.

use super::{Engine, EngineError};
use crate::store::{
    CaseRecord, CaseStatus, Change, DeadLetter, DeadLetterKind, Event, EventRecord, Owner,
    StoredToken, TokenRef, now_ms,
};

impl Engine {
    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, EngineError> {
        Ok(self.store.dead_letters()?)
    }

    /// One dead letter.
    pub fn dead_letter(&self, id: u64) -> Result<DeadLetter, EngineError> {
        self.store
            .dead_letter(id)?
            .ok_or_else(|| EngineError::NotFound(format!("no dead letter {id}")))
    }

    fn letter_and_case(&self, id: u64) -> Result<(DeadLetter, CaseRecord), EngineError> {
        let letter = self.dead_letter(id)?;
        let case = self.store.case(&letter.case)?.ok_or_else(|| {
            EngineError::NotFound(format!(
                "dead letter {id} belongs to case `{}`, which is gone",
                letter.case
            ))
        })?;
        Ok((letter, case))
    }

    /// Puts a dead letter's tokens back in their places (under their old
    /// seqs) so the next run fires them again with a fresh attempt count;
    /// for a compensation, runs the saga again from that step. Durable when
    /// it returns.
    pub async fn retry_dead_letter(&self, id: u64) -> Result<DeadLetter, EngineError> {
        let (letter, mut case) = self.letter_and_case(id)?;
        let produce = letter
            .tokens
            .iter()
            .map(|t| StoredToken {
                owner: Owner::Case(letter.case.clone()),
                place: t.place.clone(),
                seq: t.seq,
                payload: t.payload.clone(),
            })
            .collect();
        match letter.kind {
            DeadLetterKind::Firing if case.status.is_aborted() => {
                return Err(EngineError::Invalid(format!(
                    "dead letter {id} belongs to case `{}`, which is {}: its tokens cannot fire again (discard it instead)",
                    case.id,
                    case.status.as_str()
                )));
            }
            DeadLetterKind::Firing => case.status = CaseStatus::Running,
            DeadLetterKind::Compensation { .. } => {
                let saga = case.saga.as_mut().ok_or_else(|| {
                    EngineError::Invalid(format!(
                        "case `{}` has no compensation left to retry",
                        case.id
                    ))
                })?;
                saga.restart_step();
                case.status = CaseStatus::Compensating;
            }
        }
        case.updated_at_ms = now_ms();
        let event = self.event(
            Some(&letter.case),
            Event::DeadLetterRetried {
                dead_letter: id,
                transition: letter.transition.clone(),
                restored: letter.tokens.clone(),
            },
        );
        self.close_letter(letter, case, event, produce).await
    }

    /// Drops a dead letter for good, recording `reason`. A discarded
    /// compensation is skipped: the case's remaining compensations run.
    /// Durable when it returns.
    pub async fn discard_dead_letter(
        &self,
        id: u64,
        reason: &str,
    ) -> Result<DeadLetter, EngineError> {
        if reason.trim().is_empty() {
            return Err(EngineError::Invalid(
                "discarding a dead letter needs a reason (it is recorded in the case history)"
                    .into(),
            ));
        }
        let (letter, mut case) = self.letter_and_case(id)?;
        match letter.kind {
            // Re-evaluated by the next run: completed or stuck without it.
            DeadLetterKind::Firing if !case.status.is_aborted() => {
                case.status = CaseStatus::Running
            }
            DeadLetterKind::Firing => {}
            DeadLetterKind::Compensation { .. } => {
                let saga = case.saga.as_mut().filter(|s| !s.steps.is_empty());
                match saga {
                    Some(saga) => {
                        saga.step_done();
                        if saga.steps.is_empty() {
                            case.saga = None;
                            case.status = CaseStatus::Aborted;
                        } else {
                            case.status = CaseStatus::Compensating;
                        }
                    }
                    None => case.status = CaseStatus::Aborted,
                }
            }
        }
        case.updated_at_ms = now_ms();
        let dropped = letter
            .tokens
            .iter()
            .map(|t| TokenRef {
                place: t.place.clone(),
                seq: t.seq,
                shared: false,
            })
            .collect();
        let event = self.event(
            Some(&letter.case),
            Event::DeadLetterDiscarded {
                dead_letter: id,
                transition: letter.transition.clone(),
                reason: reason.to_string(),
                dropped,
            },
        );
        self.close_letter(letter, case, event, Vec::new()).await
    }

    /// Removes `letter` from the queue with the case's new record, the
    /// event saying why and the tokens it puts back: one transaction,
    /// flushed.
    async fn close_letter(
        &self,
        letter: DeadLetter,
        case: CaseRecord,
        event: EventRecord,
        produce: Vec<StoredToken>,
    ) -> Result<DeadLetter, EngineError> {
        self.apply(&mut [Change {
            produce,
            case: Some(case),
            events: vec![event],
            remove_dead_letter: Some(letter.id),
            ..Change::default()
        }])?;
        self.flush().await?;
        Ok(letter)
    }
}
