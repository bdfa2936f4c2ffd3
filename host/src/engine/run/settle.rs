//! Settling a finished firing: the change to commit, and the index update.

use super::super::decision::{self, Checked};
use super::super::{Deployment, EngineError};
use super::{Launch, Runner, Work, owner};
use crate::sandbox::{CallResult, Decision, GuestFailure};
use crate::store::{
    Change, Event, FiringError, LastDecision, Owner, StoreError, StoredToken, TokenRecord, TokenRef,
};

impl Runner<'_> {
    /// Turns a finished call into the change to commit, and updates the index.
    pub(super) fn settle(
        &mut self,
        launch: Launch,
        call: CallResult,
    ) -> Result<Change, EngineError> {
        if matches!(launch.work, Work::Compensation(_)) {
            return self.settle_compensation(launch, call);
        }
        let case = self.cases.get_mut(&launch.case).expect("case is loaded");
        case.in_flight -= 1;
        if case.record.status.is_aborted() {
            return self.discard(launch, call);
        }
        let net = &launch.dep.net;
        let t = &net.transitions()[launch.transition];
        let version = launch.dep.version().to_string();
        let keys = launch.input_keys();
        let log = call.log;
        let elapsed_us = call.elapsed.as_micros() as u64;

        // The decision, or the timeout route, or the failure.
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
            Ok(Decision::Abort(reason)) => return self.abort(launch, keys, reason, log),
            Err(GuestFailure::Deadline { timeout_ms }) if t.on_timeout.is_some() => {
                let payloads = launch
                    .inputs
                    .iter()
                    .zip(&keys)
                    .map(|(&(p, _, _), k)| {
                        Ok((p, self.engine.store().payload(k)?.unwrap_or_default()))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                tracing::info!(firing = launch.firing, case = %launch.case, transition = %t.name, timeout_ms, "deadline passed; firing on_timeout outcome");
                Ok(decision::timeout_route(net, t, &payloads).map(|c| (c, true)))
            }
            Err(failure) => Err(FiringError::Guest(failure)),
        };
        let decided = decided.and_then(|d| match d {
            Some((checked, timed_out)) => {
                self.check_capacity(&launch, &checked)?;
                Ok(Some((checked, timed_out)))
            }
            None => Ok(None),
        });

        let transition = t.name.clone();
        let id = launch.case.clone();
        let change = match decided {
            Ok(Some((checked, timed_out))) => {
                let (produce, produced) = self.produce(&id, &launch.dep, checked.outputs)?;
                let case = self.cases.get_mut(&id).expect("case is loaded");
                let shared = self.shared.get_mut(&version).expect("shared tokens exist");
                for &(p, s, seq) in &launch.inputs {
                    if s {
                        shared.place_mut(p).remove(seq)
                    } else {
                        case.tokens.place_mut(p).remove(seq)
                    }
                }
                case.blocked.clear();
                let consumed = refs(&launch);
                let outcome = t.outcomes[checked.outcome].name.clone();
                self.summary.completed += 1;
                let event = Event::FiringCompleted {
                    firing: launch.firing,
                    transition,
                    attempt: launch.attempt,
                    outcome,
                    timed_out,
                    consumed,
                    produced,
                    log,
                    elapsed_us,
                };
                Change {
                    release: vec![launch.release()],
                    consume: keys,
                    produce,
                    events: vec![self.engine.event(Some(&id), event)],
                    ..Change::default()
                }
            }
            Ok(None) => {
                let case = self.cases.get_mut(&id).expect("case is loaded");
                let shared = self.shared.get_mut(&version).expect("shared tokens exist");
                for &(p, s, seq) in &launch.inputs {
                    if s {
                        shared.place_mut(p).unreserve(seq)
                    } else {
                        case.tokens.place_mut(p).unreserve(seq)
                    }
                }
                // Re-evaluated only once the case's marking changes.
                case.blocked.insert(launch.transition);
                self.summary.declined += 1;
                let event = Event::FiringDeclined {
                    firing: launch.firing,
                    transition,
                    attempt: launch.attempt,
                    log,
                };
                Change {
                    release: vec![launch.release()],
                    events: vec![self.engine.event(Some(&id), event)],
                    ..Change::default()
                }
            }
            Err(error) => return self.fail(launch, keys, error, log, last_decision),
        };
        self.mark_dirty(&id);
        if launch.inputs.iter().any(|&(_, s, _)| s)
            || change
                .produce
                .iter()
                .any(|t| matches!(t.owner, Owner::Shared(_)))
        {
            self.wake_waiting(&version);
        }
        Ok(change)
    }

    /// Capacities, counted with the firing's own inputs gone.
    pub(super) fn check_capacity(
        &self,
        launch: &Launch,
        checked: &Checked,
    ) -> Result<(), FiringError> {
        let places = launch.dep.net.places();
        let case = &self.cases[&launch.case];
        let shared = &self.shared[launch.dep.version()];
        for (p, place) in places.iter().enumerate() {
            let Some(cap) = place.capacity else { continue };
            let produced = checked.outputs.iter().filter(|(q, _)| *q == p).count() as u64;
            if produced == 0 {
                continue;
            }
            let consumed = launch.inputs.iter().filter(|(q, _, _)| *q == p).count() as u64;
            let held = if place.shared {
                shared.place(p).len()
            } else {
                case.tokens.place(p).len()
            } as u64;
            let would_hold = held - consumed + produced;
            if would_hold > cap as u64 {
                return Err(FiringError::CapacityExceeded {
                    place: place.name.clone(),
                    capacity: cap,
                    would_hold,
                });
            }
        }
        Ok(())
    }

    /// An earlier firing aborted the case while this one ran: its decision
    /// is void, its case inputs go, its shared inputs stay.
    fn discard(&mut self, launch: Launch, call: CallResult) -> Result<Change, EngineError> {
        let version = launch.dep.version().to_string();
        let keys = launch.input_keys();
        let (consume, consumed) = self.drop_inputs(&launch.case, &launch.dep, &launch.inputs, keys);
        let event = Event::FiringDiscarded {
            firing: launch.firing,
            transition: launch.dep.net.transitions()[launch.transition].name.clone(),
            consumed,
            log: call.log,
        };
        if launch.inputs.iter().any(|&(_, s, _)| s) {
            self.wake_waiting(&version);
        }
        self.mark_dirty(&launch.case);
        Ok(Change {
            release: vec![launch.release()],
            consume,
            events: vec![self.engine.event(Some(&launch.case), event)],
            ..Change::default()
        })
    }
}

impl Runner<'_> {
    /// Produces `outputs` (place index, payload) into case `id`: fresh seqs,
    /// added to the index. Returns the tokens to store and as the log
    /// records them.
    pub(super) fn produce(
        &mut self,
        id: &str,
        dep: &Deployment,
        outputs: Vec<(usize, Vec<u8>)>,
    ) -> Result<(Vec<StoredToken>, Vec<TokenRecord>), EngineError> {
        let places = dep.net.places();
        let version = dep.version();
        let mut produce = Vec::with_capacity(outputs.len());
        let mut produced = Vec::with_capacity(outputs.len());
        for (p, payload) in outputs {
            let seq = self.engine.store().next_id()?;
            let is_shared = places[p].shared;
            let tokens = if is_shared {
                self.shared.get_mut(version).expect("shared tokens exist")
            } else {
                &mut self.cases.get_mut(id).expect("case is loaded").tokens
            };
            tokens.place_mut(p).push(seq);
            produced.push(TokenRecord {
                place: places[p].name.clone(),
                seq,
                shared: is_shared,
                payload: payload.clone(),
            });
            produce.push(StoredToken {
                owner: owner(id, version, is_shared),
                place: places[p].name.clone(),
                seq,
                payload,
            });
        }
        Ok((produce, produced))
    }

    /// Drops the held `inputs` (with their `keys`) of a void firing of case
    /// `id`: case tokens leave the index, shared ones go back. Returns the
    /// keys to consume and the log's references to them.
    pub(super) fn drop_inputs(
        &mut self,
        id: &str,
        dep: &Deployment,
        inputs: &[(usize, bool, u64)],
        keys: Vec<Vec<u8>>,
    ) -> (Vec<Vec<u8>>, Vec<TokenRef>) {
        let places = dep.net.places();
        let case = self.cases.get_mut(id).expect("case is loaded");
        let shared = self
            .shared
            .get_mut(dep.version())
            .expect("shared tokens exist");
        let mut consume = Vec::new();
        let mut consumed = Vec::new();
        for (&(p, s, seq), key) in inputs.iter().zip(keys) {
            if s {
                shared.place_mut(p).unreserve(seq);
            } else {
                case.tokens.place_mut(p).remove(seq);
                consume.push(key);
                consumed.push(TokenRef {
                    place: places[p].name.clone(),
                    seq,
                    shared: false,
                });
            }
        }
        (consume, consumed)
    }
}

/// A launch's inputs as the log records consumed tokens.
pub(super) fn refs(launch: &Launch) -> Vec<TokenRef> {
    let places = launch.dep.net.places();
    launch
        .inputs
        .iter()
        .map(|&(p, s, seq)| TokenRef {
            place: places[p].name.clone(),
            seq,
            shared: s,
        })
        .collect()
}
