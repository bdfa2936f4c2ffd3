//! Aborting a case: its tokens go, its waiting retries and offers are
//! withdrawn, and the compensations of its completed compensable firings
//! (kept with the case as they completed) are queued, newest first. A
//! firing's decision aborts its case ([`Core::abort`]); so does an
//! operator's cancel ([`Core::cancel`]).

use super::marking::Position;
use super::timers::Timer;
use super::{Core, EngineError, Launch};
use crate::store::{CaseRecord, CaseStatus, Change, Event, LogLine, Release, Saga, TokenRef};

/// What aborting a case did, before its log entry is written.
struct Aborted {
    /// The store change (without the entry).
    change: Change,
    /// The case tokens removed.
    consumed: Vec<TokenRef>,
    /// The firings to compensate, in the order their compensations run.
    compensations: Vec<u64>,
}

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
        let release = vec![self.release(&launch)];
        let held = launch.inputs.iter().map(|i| i.at).collect();
        let aborted = self.abort_case(&launch.case, release, held, &reason, now_ms)?;
        let event = Event::CaseAborted {
            firing: launch.firing,
            transition: launch.transition().name.clone(),
            reason,
            consumed: aborted.consumed,
            log,
            compensations: aborted.compensations,
        };
        self.commit_abort(&launch.case, aborted.change, event, now_ms);
        Ok(())
    }

    /// Cancels case `id` for an operator (`by`): aborted as by a firing's
    /// decision, its firings in flight discarded as they settle. `None`
    /// when the case is not loaded (unknown, or it ended); a conflict when
    /// it is aborted already.
    pub(crate) fn cancel(
        &mut self,
        id: &str,
        by: &str,
        reason: String,
        now_ms: u64,
    ) -> Result<Option<CaseRecord>, EngineError> {
        super::letters::check_by(by)?;
        let Some(case) = self.cases.get(id) else {
            return Ok(None);
        };
        let status = case.record.status;
        if status.is_terminal() || status.is_aborted() {
            return Err(EngineError::Conflict(format!(
                "case `{id}` is {} already",
                status.as_str()
            )));
        }
        let aborted = self.abort_case(id, Vec::new(), Vec::new(), &reason, now_ms)?;
        let record = aborted.change.case.clone();
        let event = Event::CaseCancelled {
            by: by.to_string(),
            reason,
            consumed: aborted.consumed,
            compensations: aborted.compensations,
        };
        self.commit_abort(id, aborted.change, event, now_ms);
        Ok(record)
    }

    /// Queues an abort's change with its log entry; wakes what waited for
    /// the shared tokens it gave back.
    fn commit_abort(&mut self, id: &str, mut change: Change, event: Event, now_ms: u64) {
        change.events.push(Core::event(now_ms, id, event));
        self.outbox.push(change);
        if let Some(version) = self.cases.get(id).map(|c| c.dep.version().to_string()) {
            self.wake_waiting(&version);
        }
        self.mark_dirty(id);
    }

    /// Aborts case `id`: releases `release` and drops the case tokens at
    /// `held` (a firing's inputs), withdraws its waiting retries and offers,
    /// drops its free tokens, and queues its compensations.
    fn abort_case(
        &mut self,
        id: &str,
        mut release: Vec<Release>,
        mut held: Vec<Position>,
        reason: &str,
        now_ms: u64,
    ) -> Result<Aborted, EngineError> {
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
                tokens: self.token_ids(id, &w.held),
            });
            held.extend(w.held.iter().map(|i| i.at));
        }
        // So are its external firings waiting for (or held by) workers.
        for offered in self.withdraw_offers(id) {
            release.push(self.release(&offered));
            held.extend(offered.inputs.iter().map(|i| i.at));
            self.case_mut(id)?.in_flight -= 1;
        }
        self.due.remove(id);
        let (mut consume, mut consumed) = self.drop_inputs(id, held);
        // Every other free token of the case goes too; tokens held by other
        // firings in flight go when those settle (their case is aborted then).
        let free = self.marking.free_case_tokens(id);
        let (more, more_refs) = self.drop_inputs(id, free);
        consume.extend(more);
        consumed.extend(more_refs);
        let case = self.case_mut(id)?;
        case.retrying = 0;
        let mut steps = std::mem::take(&mut case.record.compensable);
        steps.reverse();
        let compensations = steps.iter().map(|s| s.firing).collect();
        if steps.is_empty() {
            case.record.status = CaseStatus::Aborted;
        } else {
            case.record.status = CaseStatus::Compensating;
            case.record.saga = Some(Saga {
                reason: reason.to_string(),
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
        Ok(Aborted {
            change: Change {
                release,
                consume,
                case: Some(record),
                ..Change::default()
            },
            consumed,
            compensations,
        })
    }
}
