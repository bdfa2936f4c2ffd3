//! Scheduling: which firings of the dirty cases are enabled, reserving
//! their inputs, and launching them (guests as tasks, external firings as
//! offers to workers).

use super::super::EngineError;
use super::{Launch, Runner, Work, reservation};
use crate::store::{CaseStatus, Change, Event, Reservation, now_ms};

impl Runner<'_> {
    pub(super) fn may_launch(&self, more: usize) -> bool {
        let max_in_flight = self.engine.config().max_in_flight.max(1);
        self.tasks.len() + more < max_in_flight
            && self
                .options
                .max_firings
                .is_none_or(|max| self.launched < max)
    }

    /// Reserves inputs for every enabled firing of the dirty cases.
    pub(super) fn schedule(&mut self) -> Result<Vec<Launch>, EngineError> {
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
                    if let Some(launch) = self.next_compensation(&id)? {
                        launches.push(launch);
                    }
                    continue;
                }
                s if s.is_terminal() || s.is_aborted() => continue,
                _ => {}
            }
            let mut waits_on_shared = self.launch_due(&id, &mut launches)?;
            waits_on_shared |= self.launch_enabled(&id, &mut launches)?;
            let case = &self.cases[&id];
            if waits_on_shared {
                let version = case.record.version.clone();
                self.waiting.entry(version).or_default().insert(id.clone());
            } else if case.in_flight == 0 && case.retrying == 0 {
                self.settle_status(&id)?;
            }
        }
        Ok(launches)
    }

    /// Launches the ordinary transitions enabled in case `id`; returns
    /// whether one waits only on shared tokens held elsewhere.
    pub(super) fn launch_enabled(
        &mut self,
        id: &str,
        launches: &mut Vec<Launch>,
    ) -> Result<bool, EngineError> {
        let case = &self.cases[id];
        let dep = case.dep.clone();
        let version = case.record.version.clone();
        let mut waits_on_shared = false;
        for (ti, t) in dep.net.transitions().iter().enumerate() {
            if self.cases[id].blocked.contains(&ti) || t.compensation {
                continue;
            }
            loop {
                if !self.may_launch(launches.len()) {
                    break;
                }
                let case = self.cases.get_mut(id).expect("case is loaded");
                let shared = self.shared.get_mut(&version).expect("shared tokens exist");
                let places = dep.net.places();
                let count = |a: &crate::net::Arc, free: bool| {
                    let p = if places[a.place].shared {
                        shared.place(a.place)
                    } else {
                        case.tokens.place(a.place)
                    };
                    (if free { p.free() } else { p.len() }) >= a.weight as usize
                };
                if !t.inputs.iter().all(|a| count(a, true)) {
                    waits_on_shared |= t.inputs.iter().all(|a| count(a, false));
                    break;
                }
                let mut inputs = Vec::new();
                for a in &t.inputs {
                    let is_shared = places[a.place].shared;
                    let p = if is_shared {
                        shared.place_mut(a.place)
                    } else {
                        case.tokens.place_mut(a.place)
                    };
                    for seq in p.reserve(a.weight as usize).expect("checked free count") {
                        inputs.push((a.place, is_shared, seq));
                    }
                }
                case.in_flight += 1;
                self.launched += 1;
                launches.push(Launch {
                    firing: self.engine.store().next_id()?,
                    case: id.to_string(),
                    transition: ti,
                    dep: dep.clone(),
                    inputs,
                    started_at_ms: now_ms(),
                    attempt: 1,
                    failures: Vec::new(),
                    work: Work::Transition,
                });
            }
        }
        Ok(waits_on_shared)
    }

    /// Writes the case's status once nothing of it is enabled or in flight.
    pub(super) fn settle_status(&mut self, id: &str) -> Result<(), EngineError> {
        let case = self.cases.get_mut(id).expect("case is loaded");
        let places = case.dep.net.places();
        let outside: Vec<String> = case
            .tokens
            .marked()
            .filter(|&p| !places[p].is_final)
            .map(|p| places[p].name.clone())
            .collect();
        let (status, event) = if outside.is_empty() && case.dead_letters == 0 {
            (CaseStatus::Completed, Event::CaseCompleted)
        } else {
            (CaseStatus::Stuck, Event::CaseStuck { places: outside })
        };
        if case.record.status == status {
            return Ok(());
        }
        case.record.status = status;
        case.record.updated_at_ms = now_ms();
        let record = case.record.clone();
        let event = self.engine.event(Some(id), event);
        self.pending.push(Change {
            case: Some(record),
            events: vec![event],
            ..Change::default()
        });
        Ok(())
    }

    /// Ends a round: applies what it settled together with the reservations
    /// of `launches` (one transaction), then launches them: a guest reads
    /// its inputs only once they are stored.
    pub(super) async fn start(&mut self, launches: Vec<Launch>) -> Result<(), EngineError> {
        let reserve: Vec<(u64, Reservation)> = launches
            .iter()
            .filter(|l| matches!(l.work, Work::Transition))
            .map(|l| (l.firing, reservation(l, None)))
            .collect();
        if !reserve.is_empty() {
            self.pending.push(Change {
                reserve,
                ..Change::default()
            });
        }
        self.commit_settling().await?;
        for launch in launches {
            if launch.is_external() {
                self.offer(launch);
                continue;
            }
            let sandbox = self.engine.sandbox().clone();
            let store = self.engine.store().clone();
            let llm = self.engine.llm().clone();
            // The guest call's state (wasmtime's async call) is large: it is
            // boxed by the worker's first poll, so spawning on the runner's
            // thread allocates only a small task.
            self.tasks.spawn(async move {
                Box::pin(super::execute::execute(sandbox, store, llm, launch)).await
            });
        }
        Ok(())
    }
}
