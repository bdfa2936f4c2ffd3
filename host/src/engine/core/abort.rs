//! Aborting a case: its tokens go, its waiting retries and offers are
//! withdrawn, and the compensations of its completed compensable firings
//! (kept with the case as they completed) are queued, newest first. A
//! firing's decision aborts its case ([`Core::abort`]); so does an
//! operator's cancel ([`Core::cancel`]).

use super::marking::Position;
use super::restart::Ended;
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
    /// The case dead-lettered on its last attempt, after the abort's entry.
    ended: Option<Ended>,
}

impl Core {
    /// Aborts the launch's case (a guest said so, or a policy with
    /// `on_exhausted = "abort"` ran out): its tokens go, shared ones the
    /// firing held go back, and its compensations are queued. A firing of a
    /// region's transition aborts that region only (see `branch`).
    pub(super) fn abort(
        &mut self,
        launch: Launch,
        reason: String,
        log: Vec<LogLine>,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        if let Some(region) = launch.transition().region {
            return self.abort_region(launch, region, reason, log, now_ms);
        }
        let release = vec![self.release(&launch)];
        let held = launch.inputs.iter().map(|i| i.at).collect();
        let aborted = self.abort_case(&launch.case, release, held, &reason, true, now_ms)?;
        let event = Event::CaseAborted {
            firing: launch.firing,
            transition: launch.transition().name.clone(),
            reason,
            consumed: aborted.consumed,
            log,
            compensations: aborted.compensations,
        };
        self.commit_abort(&launch.case, aborted.change, event, aborted.ended, now_ms);
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
        let aborted = self.abort_case(id, Vec::new(), Vec::new(), &reason, false, now_ms)?;
        let record = aborted.change.case.clone();
        let event = Event::CaseCancelled {
            by: by.to_string(),
            reason,
            consumed: aborted.consumed,
            compensations: aborted.compensations,
        };
        self.commit_abort(id, aborted.change, event, aborted.ended, now_ms);
        Ok(record)
    }

    /// Queues an abort's change with its log entry (and the case's dead
    /// letter after it); wakes what waited for the shared tokens it gave
    /// back.
    fn commit_abort(
        &mut self,
        id: &str,
        mut change: Change,
        event: Event,
        ended: Option<Ended>,
        now_ms: u64,
    ) {
        change.events.push(Core::event(now_ms, id, event));
        if let Some(ended) = ended {
            ended.add_to(&mut change);
        }
        self.outbox.push(change);
        if let Some(version) = self.cases.get(id).map(|c| c.dep.version().to_string()) {
            self.wake_waiting(&version);
        }
        self.mark_dirty(id);
    }

    /// Aborts case `id`: releases `release` and drops the case tokens at
    /// `held` (a firing's inputs), withdraws its waiting retries and offers,
    /// drops its free tokens, and queues its compensations. `restart`: the
    /// net's `[net] retry` may start the case again (a firing aborted it,
    /// not an operator).
    fn abort_case(
        &mut self,
        id: &str,
        mut release: Vec<Release>,
        mut held: Vec<Position>,
        reason: &str,
        restart: bool,
        now_ms: u64,
    ) -> Result<Aborted, EngineError> {
        let (more_release, more_held) = self.withdraw(id, None)?;
        release.extend(more_release);
        held.extend(more_held);
        let (mut consume, mut consumed) = self.drop_inputs(id, held);
        // Every other free token of the case goes too; tokens held by other
        // firings in flight go when those settle (their case is aborted then).
        let free = self.marking.free_case_tokens(id);
        let (more, more_refs) = self.drop_inputs(id, free);
        consume.extend(more);
        consumed.extend(more_refs);
        let case = self.case_mut(id)?;
        let mut steps = std::mem::take(&mut case.record.compensable);
        steps.reverse();
        // A region's compensations still to run come first (the first may
        // be running, or waiting in the dead-letter queue).
        let branch = case.record.saga.take();
        if let Some(b) = &branch {
            steps.splice(0..0, b.steps.iter().cloned());
        }
        let compensations = steps.iter().map(|s| s.firing).collect();
        let restart = restart && case.dep.net.workflow_retry().is_some();
        // A cancelled `restarting` case does not start again.
        case.record.restart_at_ms = 0;
        case.record.updated_at_ms = now_ms;
        let mut ended = None;
        if steps.is_empty() {
            case.record.status = CaseStatus::Aborted;
            if restart {
                ended = self.attempt_ended(id, now_ms)?;
            }
        } else {
            let mut saga = Saga::new(reason, steps);
            saga.then_restart = restart;
            if let Some(b) = branch {
                saga.attempt = b.attempt;
                saga.not_before_ms = b.not_before_ms;
                saga.failures = b.failures;
                saga.waiting_letter = b.waiting_letter;
            }
            case.record.status = if saga.waiting_letter.is_some() {
                CaseStatus::CompensationFailed
            } else {
                CaseStatus::Compensating
            };
            case.record.saga = Some(saga);
        }
        let record = self.cases[id].record.clone();
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
            ended,
        })
    }

    /// Withdraws the waiting retries and the offers of case `id` (of the
    /// transitions of `region` only, when given): returns the reservations
    /// to release and the case tokens they held.
    pub(super) fn withdraw(
        &mut self,
        id: &str,
        region: Option<usize>,
    ) -> Result<(Vec<Release>, Vec<Position>), EngineError> {
        let dep = self.case_mut(id)?.dep.clone();
        let within = |t: usize| region.is_none() || dep.net.transitions()[t].region == region;
        let mut release = Vec::new();
        let mut held = Vec::new();
        // Retries waiting on their timers are cancelled.
        let cancelled: Vec<u64> = self
            .retries
            .iter()
            .filter(|(_, w)| w.case == id && within(w.transition))
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
            let case = self.case_mut(id)?;
            case.retrying = case.retrying.saturating_sub(1);
        }
        // So are external firings waiting for (or held by) workers.
        for offered in self.withdraw_offers(id, &within) {
            release.push(self.release(&offered));
            held.extend(offered.inputs.iter().map(|i| i.at));
            self.case_mut(id)?.in_flight -= 1;
        }
        if region.is_none() {
            self.due.remove(id);
        }
        Ok((release, held))
    }
}
