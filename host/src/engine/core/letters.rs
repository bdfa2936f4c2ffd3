//! Dead letters closed by an operator: retried (the same transition fires
//! again on the same tokens, back under their old seqs, or a compensation
//! runs again) or discarded. Each is one change that also removes the
//! letter, so a letter is retried or discarded once, never both.

use super::marking::Position;
use super::{Core, EngineError};
use crate::store::{
    CaseRecord, CaseStatus, Change, DeadLetter, DeadLetterKind, Event, EventRecord, Owner,
    Reservation, StoredToken, TokenId, TokenRef,
};

/// The change that retries `letter` of case `case` for `by` at `now_ms`.
pub(crate) fn retry(
    letter: &DeadLetter,
    mut case: CaseRecord,
    by: &str,
    now_ms: u64,
) -> Result<Change, EngineError> {
    check_by(by)?;
    match letter.kind {
        DeadLetterKind::Firing if case.status.is_aborted() => {
            return Err(EngineError::Invalid(format!(
                "dead letter {} belongs to case `{}`, which is {}: its tokens cannot fire again (discard it instead)",
                letter.id,
                case.id,
                case.status.as_str()
            )));
        }
        DeadLetterKind::Firing => {
            // An operator's retry comes before a pending workflow restart.
            case.status = CaseStatus::Running;
            case.restart_at_ms = 0;
        }
        DeadLetterKind::Compensation { .. } => {
            let saga = case.saga.as_mut().ok_or_else(|| {
                EngineError::Invalid(format!(
                    "case `{}` has no compensation left to retry",
                    case.id
                ))
            })?;
            saga.restart_step();
            saga.waiting_letter = None;
            // A region's steps run beside the case, which is re-planned.
            case.status = if saga.is_branch() {
                CaseStatus::Running
            } else {
                CaseStatus::Compensating
            };
        }
        DeadLetterKind::Case { .. } => {
            if !matches!(case.status, CaseStatus::Aborted | CaseStatus::Stuck) {
                return Err(EngineError::Invalid(format!(
                    "case `{}` is {}: only an aborted or stuck case starts again",
                    case.id,
                    case.status.as_str()
                )));
            }
            // Planned at once: the next attempt starts from the start tokens.
            case.status = CaseStatus::Restarting;
            case.restart_at_ms = now_ms.max(1);
        }
    }
    case.updated_at_ms = now_ms;
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
    let event = Event::DeadLetterRetried {
        dead_letter: letter.id,
        transition: letter.transition.clone(),
        restored: letter.tokens.clone(),
        by: by.to_string(),
    };
    let mut change = close(letter, case, event, produce, now_ms);
    if letter.kind == DeadLetterKind::Firing {
        change.reserve = vec![(letter.id, refire(letter, now_ms))];
    }
    Ok(change)
}

/// The hold that makes a retried firing's transition fire again on its
/// tokens (not whatever else they enable): a retry under the letter's
/// firing id, due at `now_ms`, with a fresh attempt count. Shared inputs
/// are taken again when it launches, as for any retry.
fn refire(letter: &DeadLetter, now_ms: u64) -> Reservation {
    Reservation {
        case: letter.case.clone(),
        transition: letter.transition.clone(),
        attempt: 1,
        tokens: letter
            .tokens
            .iter()
            .map(|t| TokenId::new(Owner::Case(letter.case.clone()), &t.place, t.seq))
            .collect(),
        started_at_ms: now_ms,
        // Not 0: that marks a firing a crash cut off.
        not_before_ms: now_ms.max(1),
        failures: Vec::new(),
        // Set again when it launches (an external one is offered then).
        external: false,
        lease: None,
        compensates: None,
    }
}

/// Most bytes of the `by` recorded for an operator.
pub const MAX_BY_BYTES: usize = 128;

/// Checks who an operator says they are.
pub(crate) fn check_by(by: &str) -> Result<(), EngineError> {
    if by.is_empty() || by.len() > MAX_BY_BYTES {
        return Err(EngineError::Invalid(format!(
            "`by`: expected who does it, 1 to {MAX_BY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The change that discards `letter` of case `case` for `by`, because of
/// `reason`, at `now_ms`. A discarded compensation is skipped: the case's
/// remaining compensations run.
pub(crate) fn discard(
    letter: &DeadLetter,
    mut case: CaseRecord,
    by: &str,
    reason: &str,
    now_ms: u64,
) -> Result<Change, EngineError> {
    check_by(by)?;
    if reason.trim().is_empty() {
        return Err(EngineError::Invalid(
            "discarding a dead letter needs a reason (it is recorded in the case history)".into(),
        ));
    }
    match letter.kind {
        // Re-evaluated when next planned: completed or stuck without it.
        DeadLetterKind::Firing if !case.status.is_aborted() => case.status = CaseStatus::Running,
        DeadLetterKind::Firing => {}
        DeadLetterKind::Compensation { .. } => {
            match case.saga.as_mut().filter(|s| !s.steps.is_empty()) {
                Some(saga) => {
                    saga.step_done();
                    saga.waiting_letter = None;
                    let branch = saga.is_branch();
                    if saga.steps.is_empty() {
                        case.saga = None;
                    }
                    case.status = match (branch, case.saga.is_some()) {
                        // A region's: the case runs on, re-planned.
                        (true, _) => CaseStatus::Running,
                        (false, true) => CaseStatus::Compensating,
                        (false, false) => CaseStatus::Aborted,
                    };
                }
                None => case.status = CaseStatus::Aborted,
            }
        }
        // The case stays as its last attempt left it.
        DeadLetterKind::Case { .. } => {}
    }
    case.updated_at_ms = now_ms;
    let dropped = letter
        .tokens
        .iter()
        .map(|t| TokenRef {
            place: t.place.clone(),
            seq: t.seq,
            shared: false,
        })
        .collect();
    let event = Event::DeadLetterDiscarded {
        dead_letter: letter.id,
        transition: letter.transition.clone(),
        reason: reason.to_string(),
        dropped,
        by: by.to_string(),
    };
    Ok(close(letter, case, event, Vec::new(), now_ms))
}

/// Removes `letter` with the case's new record, the event saying why and
/// the tokens it puts back.
fn close(
    letter: &DeadLetter,
    case: CaseRecord,
    event: Event,
    produce: Vec<StoredToken>,
    now_ms: u64,
) -> Change {
    Change {
        produce,
        case: Some(case),
        events: vec![EventRecord {
            seq: 0,
            at_ms: now_ms,
            case: Some(letter.case.clone()),
            event,
        }],
        remove_dead_letter: Some(letter.id),
        ..Change::default()
    }
}

impl Core {
    /// Takes in `change`, made by [`retry`] or [`discard`] for `letter`, to
    /// commit with the next group, and brings the loaded case in line.
    /// Returns whether the case is not loaded and must be (after the commit).
    pub(crate) fn close_letter(
        &mut self,
        letter: &DeadLetter,
        change: Change,
    ) -> Result<bool, EngineError> {
        let record = change
            .case
            .clone()
            .ok_or_else(|| super::bug("a closed dead letter changes no case".into()))?;
        let retried = !change.produce.is_empty();
        let reload = match self.cases.get_mut(&letter.case) {
            Some(case) => {
                if letter.kind == DeadLetterKind::Firing {
                    case.dead_letters.retain(|(d, _)| *d != letter.id);
                    case.blocked.clear();
                }
                case.record = record;
                if retried {
                    let dep = case.dep.clone();
                    for t in &letter.tokens {
                        if let Some(place) = dep.net.place_index(&t.place) {
                            let at = Position { place, seq: t.seq };
                            self.marking.put(&letter.case, at, t.payload.clone());
                        }
                    }
                }
                self.mark_dirty(&letter.case);
                false
            }
            None => true,
        };
        let refire = change.reserve.first().cloned();
        self.outbox.push(change);
        if let (false, Some((firing, r))) = (reload, refire) {
            self.adopt(firing, r)?;
        }
        Ok(reload)
    }
}
