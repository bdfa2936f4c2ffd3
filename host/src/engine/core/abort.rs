//! Aborting a case: its tokens go, its waiting retries and offers are
//! withdrawn, and the compensations of its completed compensable firings
//! (kept with the case as they completed) are queued, newest first.

use super::timers::Timer;
use super::{Core, EngineError, Launch};
use crate::store::{CaseStatus, Change, Event, LogLine, Release, Saga};

impl Core {
    /// Aborts the launch's case (a guest said so, or a policy with
    /// `on_exhausted = "abort"` ran out): its tokens go, shared ones the
    /// firing held go back, and its compensations are queued.
    pub(super) fn abort(
        &mut self,
        launch: Launch,
        reason: String,
        log: Vec<LogLine>,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let id = launch.case.clone();
        let mut release = vec![self.release(&launch)];
        let mut held: Vec<_> = launch.inputs.iter().map(|i| i.at).collect();
        // Retries of the case waiting on their timers are cancelled.
        let cancelled: Vec<u64> = self
            .retries
            .iter()
            .filter(|(_, w)| w.case == id)
            .map(|(&f, _)| f)
            .collect();
        for firing in cancelled {
            let Some(w) = self.retries.remove(&firing) else {
                continue;
            };
            self.timers.cancel_all(&Timer::Retry(firing));
            release.push(Release {
                firing,
                tokens: self.token_ids(&id, &w.held),
            });
            held.extend(w.held.iter().map(|i| i.at));
        }
        // So are its external firings waiting for (or held by) workers.
        for offered in self.withdraw_offers(&id) {
            release.push(self.release(&offered));
            held.extend(offered.inputs.iter().map(|i| i.at));
            self.case_mut(&id)?.in_flight -= 1;
        }
        self.due.remove(&id);
        let (mut consume, mut consumed) = self.drop_inputs(&id, held);
        // Every other free token of the case goes too; tokens held by other
        // firings in flight go when those settle (their case is aborted then).
        let free = self.marking.free_case_tokens(&id);
        let (more, more_refs) = self.drop_inputs(&id, free);
        consume.extend(more);
        consumed.extend(more_refs);
        let case = self.case_mut(&id)?;
        case.retrying = 0;
        let mut steps = std::mem::take(&mut case.record.compensable);
        steps.reverse();
        let compensations = steps.iter().map(|s| s.firing).collect();
        if steps.is_empty() {
            case.record.status = CaseStatus::Aborted;
        } else {
            case.record.status = CaseStatus::Compensating;
            case.record.saga = Some(Saga {
                reason: reason.clone(),
                steps,
                attempt: 1,
                not_before_ms: 0,
                failures: Vec::new(),
            });
        }
        case.record.updated_at_ms = now_ms;
        let record = case.record.clone();
        self.summary.aborted += 1;
        tracing::warn!(case = %id, reason = %reason, "case aborted");
        let event = Event::CaseAborted {
            firing: launch.firing,
            transition: launch.transition().name.clone(),
            reason,
            consumed,
            log,
            compensations,
        };
        self.outbox.push(Change {
            release,
            consume,
            case: Some(record),
            events: vec![Core::event(now_ms, &id, event)],
            ..Change::default()
        });
        self.wake_waiting(launch.dep.version());
        self.mark_dirty(&id);
        Ok(())
    }
}
