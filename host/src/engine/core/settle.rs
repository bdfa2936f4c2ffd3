//! Settling a finished firing: what its guest decided becomes a change to
//! commit and an update of the marking, from the launch alone (its inputs
//! carry their payloads): no store is read.

use super::marking::Position;
use super::{Core, EngineError, Launch, Work};
use crate::engine::decision::{self, Checked};
use crate::sandbox::{CallResult, Decision};
use crate::store::{
    Change, Event, FiringError, GuestFailure, LastDecision, SagaStep, StoredToken, TokenRecord,
    TokenRef,
};

impl Core {
    /// Settles a launch the shell ran (see [`Core::plan`]) with what its
    /// guest did.
    pub(crate) fn settle(
        &mut self,
        launch: Launch,
        call: CallResult,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        self.running = self.running.saturating_sub(1);
        self.settle_call(launch, call, now_ms)
    }

    /// Settles a firing (run by a guest, or by a worker: see `offers`).
    pub(super) fn settle_call(
        &mut self,
        launch: Launch,
        call: CallResult,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        if matches!(launch.work, Work::Compensation(_)) {
            return self.settle_compensation(launch, call, now_ms);
        }
        let case = self.case_mut(&launch.case)?;
        case.in_flight -= 1;
        let void = super::branch::voided(
            &case.record,
            &launch.dep.net,
            launch.transition,
            launch.firing,
        );
        if case.record.status.is_aborted() || void {
            return self.discard(launch, call, now_ms);
        }
        let dep = launch.dep.clone();
        let net = &dep.net;
        let t = &net.transitions()[launch.transition];
        let mut last_decision = None;
        let decided: Result<Option<(Checked, bool)>, FiringError> = match call.decision {
            Ok(Decision::Fire(fire)) => {
                last_decision = Some(LastDecision {
                    outcome: fire.outcome.clone(),
                    places: fire.outputs.iter().map(|t| t.place.clone()).collect(),
                });
                decision::check(net, t, &fire).map(|c| Some((c, false)))
            }
            Ok(Decision::Decline) => Ok(None),
            Ok(Decision::Abort(reason)) => return self.abort(launch, reason, call.log, now_ms),
            Err(GuestFailure::Deadline { timeout_ms }) if t.on_timeout.is_some() => {
                tracing::info!(firing = launch.firing, case = %launch.case, transition = %t.name, timeout_ms, "deadline passed; firing on_timeout outcome");
                let payloads: Vec<_> = launch
                    .inputs
                    .iter()
                    .map(|i| (i.at.place, i.payload.clone()))
                    .collect();
                Ok(decision::timeout_route(net, t, &payloads).map(|c| (c, true)))
            }
            Err(failure) => Err(FiringError::Guest(failure)),
        };
        let decided = decided.and_then(|d| {
            if let Some((checked, _)) = &d {
                self.check_capacity(&launch, checked)?;
            }
            Ok(d)
        });
        match decided {
            Ok(Some((checked, timed_out))) => {
                let elapsed_us = call.elapsed.as_micros() as u64;
                self.complete_firing(launch, checked, timed_out, call.log, elapsed_us, now_ms)
            }
            Ok(None) => self.decline(launch, call.log, now_ms),
            Err(error) => self.fail(launch, error, call.log, last_decision, now_ms),
        }
    }

    /// Capacities, counted with the firing's own inputs gone.
    pub(super) fn check_capacity(
        &self,
        launch: &Launch,
        checked: &Checked,
    ) -> Result<(), FiringError> {
        for (p, place) in launch.dep.net.places().iter().enumerate() {
            let Some(cap) = place.capacity else { continue };
            let produced = checked.outputs.iter().filter(|(q, _)| *q == p).count() as u64;
            if produced == 0 {
                continue;
            }
            let consumed = launch.inputs.iter().filter(|i| i.at.place == p).count() as u64;
            let held = self.marking.place(&launch.case, p).len() as u64;
            let would_hold = held - consumed + produced;
            if would_hold > u64::from(cap) {
                return Err(FiringError::CapacityExceeded {
                    place: place.name.clone(),
                    capacity: cap,
                    would_hold,
                });
            }
        }
        Ok(())
    }

    /// Commits a checked decision: inputs consumed, outputs produced; a
    /// compensable firing is remembered with its case for the saga.
    fn complete_firing(
        &mut self,
        launch: Launch,
        checked: Checked,
        timed_out: bool,
        log: Vec<crate::store::LogLine>,
        elapsed_us: u64,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let id = launch.case.clone();
        let dep = launch.dep.clone();
        let t = &dep.net.transitions()[launch.transition];
        let outcome = t.outcomes[checked.outcome].name.clone();
        let consume = self.token_ids(&id, &launch.inputs);
        let release = self.release(&launch);
        let holds_shared = self.holds_shared(&launch);
        self.marking.remove(&id, launch.inputs.iter().map(|i| i.at));
        let (produce, produced) = self.produce(&id, &dep.net, checked.outputs)?;
        let touches_shared = holds_shared || produced.iter().any(|p| p.shared);
        let compensate = t.compensate.map(|c| SagaStep {
            firing: launch.firing,
            transition: t.name.clone(),
            outcome: outcome.clone(),
            compensation: dep.net.transitions()[c].name.clone(),
            inputs: launch.input_records(),
            outputs: produced.clone(),
        });
        let event = Event::FiringCompleted {
            firing: launch.firing,
            transition: t.name.clone(),
            attempt: launch.attempt,
            outcome,
            timed_out,
            consumed: self.refs(&launch),
            produced,
            log,
            elapsed_us,
        };
        let case = self.case_mut(&id)?;
        case.blocked.clear();
        let record = compensate.map(|step| {
            case.record.compensable.push(step);
            case.record.clone()
        });
        self.summary.completed += 1;
        self.outbox.push(Change {
            release: vec![release],
            consume,
            produce,
            case: record,
            events: vec![Core::event(now_ms, &id, event)],
            ..Change::default()
        });
        self.mark_dirty(&id);
        if touches_shared {
            self.wake_waiting(dep.version());
        }
        Ok(())
    }

    /// The guest declined: its inputs stay; the transition waits until the
    /// case's marking changes.
    fn decline(
        &mut self,
        launch: Launch,
        log: Vec<crate::store::LogLine>,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let id = launch.case.clone();
        let release = self.release(&launch);
        let shared = self.holds_shared(&launch);
        self.marking
            .unreserve(&id, launch.inputs.iter().map(|i| i.at));
        self.case_mut(&id)?.blocked.insert(launch.transition);
        self.summary.declined += 1;
        let event = Event::FiringDeclined {
            firing: launch.firing,
            transition: launch.transition().name.clone(),
            attempt: launch.attempt,
            log,
        };
        self.outbox.push(Change {
            release: vec![release],
            events: vec![Core::event(now_ms, &id, event)],
            ..Change::default()
        });
        self.mark_dirty(&id);
        if shared {
            self.wake_waiting(launch.dep.version());
        }
        Ok(())
    }

    /// An earlier firing aborted the case while this one ran: its decision
    /// is void, its case inputs go, its shared inputs stay.
    fn discard(
        &mut self,
        launch: Launch,
        call: CallResult,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let id = launch.case.clone();
        let release = self.release(&launch);
        let (consume, consumed) = self.drop_inputs(&id, launch.inputs.iter().map(|i| i.at));
        let event = Event::FiringDiscarded {
            firing: launch.firing,
            transition: launch.transition().name.clone(),
            consumed,
            log: call.log,
        };
        self.outbox.push(Change {
            release: vec![release],
            consume,
            events: vec![Core::event(now_ms, &id, event)],
            ..Change::default()
        });
        if self.holds_shared(&launch) {
            self.wake_waiting(launch.dep.version());
        }
        self.mark_dirty(&id);
        Ok(())
    }

    /// Whether `launch` holds shared tokens.
    pub(super) fn holds_shared(&self, launch: &Launch) -> bool {
        launch
            .inputs
            .iter()
            .any(|i| self.marking.is_shared(&launch.case, i.at.place))
    }

    /// Produces `outputs` (place index of `net`, payload) into case `id`:
    /// fresh seqs, put in the marking. Returns the tokens to store and as
    /// the log records them.
    pub(super) fn produce(
        &mut self,
        id: &str,
        net: &crate::net::Net,
        outputs: Vec<(usize, Vec<u8>)>,
    ) -> Result<(Vec<StoredToken>, Vec<TokenRecord>), EngineError> {
        let places = net.places();
        let mut produce = Vec::with_capacity(outputs.len());
        let mut produced = Vec::with_capacity(outputs.len());
        for (place, payload) in outputs {
            let at = Position {
                place,
                seq: self.next_id()?,
            };
            let token = self.marking.token_id(id, at);
            self.marking.put(id, at, payload.clone());
            produced.push(TokenRecord {
                place: places[place].name.clone(),
                seq: at.seq,
                shared: places[place].shared,
                payload: payload.clone(),
            });
            produce.push(StoredToken {
                owner: token.owner,
                place: token.place,
                seq: at.seq,
                payload,
            });
        }
        Ok((produce, produced))
    }

    /// Drops held tokens of a void firing of case `id`: case tokens leave
    /// the marking, shared ones go back. Returns what to consume and the
    /// log's references to them.
    pub(super) fn drop_inputs(
        &mut self,
        id: &str,
        held: impl IntoIterator<Item = Position>,
    ) -> (Vec<crate::store::TokenId>, Vec<TokenRef>) {
        let mut consume = Vec::new();
        let mut consumed = Vec::new();
        for at in held {
            if self.marking.is_shared(id, at.place) {
                self.marking.unreserve(id, [at]);
                continue;
            }
            let token = self.marking.token_id(id, at);
            self.marking.remove(id, [at]);
            consumed.push(TokenRef {
                place: token.place.clone(),
                seq: at.seq,
                shared: false,
            });
            consume.push(token);
        }
        (consume, consumed)
    }

    /// A launch's inputs as the log records consumed tokens.
    pub(super) fn refs(&self, launch: &Launch) -> Vec<TokenRef> {
        let places = launch.dep.net.places();
        launch
            .inputs
            .iter()
            .map(|i| TokenRef {
                place: places[i.at.place].name.clone(),
                seq: i.at.seq,
                shared: places[i.at.place].shared,
            })
            .collect()
    }
}
