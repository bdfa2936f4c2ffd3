//! Planning a turn: which firings of the cases to plan are due or enabled,
//! reserving their inputs; external firings become offers; a case with
//! nothing left to do gets its final status.

use super::launch::reservation;
use super::marking::Enabled;
use super::{Core, EngineError, Launch, Work, bug};
use crate::store::{CaseStatus, Change, Event};

impl Core {
    /// Plans the cases marked since the last turn (as many as launch slots
    /// allow): returns the guest firings to launch, whose reservations wait
    /// in the changes to commit first.
    pub(crate) fn plan(&mut self, now_ms: u64) -> Result<Vec<Launch>, EngineError> {
        let mut launches = Vec::new();
        while let Some(id) = self.dirty.pop_front() {
            if !self.may_launch(launches.len()) {
                self.dirty.push_front(id);
                break;
            }
            self.dirty_set.remove(&id);
            let Some(case) = self.cases.get(&id) else {
                continue;
            };
            match case.record.status {
                CaseStatus::Compensating => {
                    launches.extend(self.next_compensation(&id, now_ms)?);
                    continue;
                }
                CaseStatus::Restarting => {
                    self.restart_when_due(&id, now_ms)?;
                    continue;
                }
                s if s.is_terminal() || s.is_aborted() => continue,
                _ => {}
            }
            let mut waits_on_shared = self.launch_due(&id, now_ms, &mut launches)?;
            waits_on_shared |= self.launch_enabled(&id, now_ms, &mut launches)?;
            // An aborted region's compensations run beside the case.
            if self.cases[&id].record.saga.is_some() && self.may_launch(launches.len()) {
                launches.extend(self.next_compensation(&id, now_ms)?);
            }
            let case = &self.cases[&id];
            if waits_on_shared {
                let version = case.record.version.clone();
                self.awaiting_shared.entry(version).or_default().insert(id);
            } else if case.is_quiet() {
                self.settle_status(&id, now_ms)?;
            }
        }
        let mut reserve = Vec::new();
        let mut run = Vec::with_capacity(launches.len());
        for launch in launches {
            if matches!(launch.work, Work::Transition) {
                let tokens = self.token_ids(&launch.case, &launch.inputs);
                reserve.push((launch.firing, reservation(&launch, tokens, None)));
            }
            if launch.is_external() {
                self.offer(launch);
            } else {
                self.running += 1;
                run.push(launch);
            }
        }
        if !reserve.is_empty() {
            self.outbox.push(Change {
                reserve,
                ..Change::default()
            });
        }
        Ok(run)
    }

    /// Reserves inputs for the ordinary transitions enabled in case `id`;
    /// returns whether one waits only on tokens others hold.
    fn launch_enabled(
        &mut self,
        id: &str,
        now_ms: u64,
        launches: &mut Vec<Launch>,
    ) -> Result<bool, EngineError> {
        let dep = self.cases[id].dep.clone();
        let mut waits = false;
        for (ti, t) in dep.net.transitions().iter().enumerate() {
            if t.compensation || self.cases[id].blocked.contains(&ti) {
                continue;
            }
            while self.may_launch(launches.len()) {
                match self.marking.enabled(id, &t.inputs) {
                    Enabled::Yes => {}
                    Enabled::Held => {
                        waits = true;
                        break;
                    }
                    Enabled::No => break,
                }
                let Some(inputs) = self.marking.reserve(id, &t.inputs) else {
                    break;
                };
                let firing = self.next_id()?;
                self.case_mut(id)?.in_flight += 1;
                self.launched += 1;
                launches.push(Launch {
                    firing,
                    case: id.to_string(),
                    transition: ti,
                    dep: dep.clone(),
                    inputs,
                    started_at_ms: now_ms,
                    attempt: 1,
                    failures: Vec::new(),
                    work: Work::Transition,
                });
            }
        }
        Ok(waits)
    }

    /// Launches the due retries of case `id` whose shared inputs are free;
    /// returns whether one waits on shared tokens held elsewhere.
    fn launch_due(
        &mut self,
        id: &str,
        now_ms: u64,
        launches: &mut Vec<Launch>,
    ) -> Result<bool, EngineError> {
        let due = self.due.remove(id).unwrap_or_default();
        let mut still = Vec::new();
        let mut waits = false;
        for firing in due {
            let Some(w) = self.retries.get(&firing) else {
                continue;
            };
            if !self.may_launch(launches.len()) {
                still.push(firing);
                continue;
            }
            let dep = self.cases[id].dep.clone();
            let t = &dep.net.transitions()[w.transition];
            // Its case tokens stayed held; only shared ones went back.
            if let Some(a) = t.inputs.iter().find(|a| {
                !self.marking.is_shared(id, a.place)
                    && w.held.iter().filter(|h| h.at.place == a.place).count() < a.weight as usize
            }) {
                return Err(bug(format!(
                    "retry of firing {firing} lost its token in place `{}`",
                    dep.net.places()[a.place].name
                )));
            }
            let Some(inputs) = self.marking.reserve_rest(id, &t.inputs, &w.held) else {
                waits = true;
                still.push(firing);
                continue;
            };
            let Some(w) = self.retries.remove(&firing) else {
                continue;
            };
            let case = self.case_mut(id)?;
            case.retrying -= 1;
            case.in_flight += 1;
            self.launched += 1;
            launches.push(Launch {
                firing,
                case: id.to_string(),
                transition: w.transition,
                dep,
                inputs,
                started_at_ms: w.started_at_ms.unwrap_or(now_ms),
                attempt: w.attempt,
                failures: w.failures,
                work: Work::Transition,
            });
        }
        if !still.is_empty() {
            self.due.insert(id.to_string(), still);
        }
        Ok(waits)
    }

    /// Writes the case's status once nothing of it is enabled, in flight or
    /// waiting: completed when every token lies in a final place (and no
    /// dead letter holds any), stuck otherwise.
    fn settle_status(&mut self, id: &str, now_ms: u64) -> Result<(), EngineError> {
        let marked = self.marking.marked(id);
        let case = self.case_mut(id)?;
        let places = case.dep.net.places();
        let outside: Vec<String> = marked
            .into_iter()
            .filter(|&p| !places[p].is_final)
            .map(|p| places[p].name.clone())
            .collect();
        let (status, event) =
            if outside.is_empty() && case.dead_letters.is_empty() && case.record.saga.is_none() {
                (CaseStatus::Completed, Event::CaseCompleted)
            } else {
                (CaseStatus::Stuck, Event::CaseStuck { places: outside })
            };
        if case.record.status == status {
            return Ok(());
        }
        case.record.status = status;
        case.record.updated_at_ms = now_ms;
        let ended = match status {
            CaseStatus::Stuck => self.attempt_ended(id, now_ms)?,
            _ => None,
        };
        let mut change = Change {
            case: Some(self.cases[id].record.clone()),
            events: vec![Core::event(now_ms, id, event)],
            ..Change::default()
        };
        if let Some(ended) = ended {
            ended.add_to(&mut change);
        }
        self.outbox.push(change);
        Ok(())
    }
}
