//! Settling a finished firing: the change to commit, and the index update.

use std::sync::Arc;

use super::super::decision::{self, Checked};
use super::super::{Deployment, EngineError};
use super::{Launch, Runner, owner};
use crate::sandbox::{CallResult, Decision, GuestFailure};
use crate::store::{
    CaseStatus, Change, Event, FiringError, Owner, StoreError, StoredToken, TokenRecord, TokenRef,
    now_ms, token_key,
};

impl Runner<'_> {
    /// Turns a finished call into the change to commit, and updates the index.
    pub(super) fn settle(
        &mut self,
        launch: Launch,
        call: CallResult,
    ) -> Result<Change, EngineError> {
        let Launch {
            firing,
            case: id,
            transition: ti,
            dep,
            inputs,
            ..
        } = launch;
        let net = &dep.net;
        let t = &net.transitions()[ti];
        let version = dep.version().to_string();
        let places = net.places();
        let case = self.cases.get_mut(&id).expect("case is loaded");
        case.in_flight -= 1;
        let shared = self.shared.get_mut(&version).expect("shared tokens exist");
        let keys: Vec<Vec<u8>> = inputs
            .iter()
            .map(|&(p, s, seq)| token_key(&owner(&id, &version, s), &places[p].name, seq))
            .collect();
        let touches_shared = inputs.iter().any(|&(_, s, _)| s);
        let log = call.log;
        let elapsed_us = call.elapsed.as_micros() as u64;

        if case.record.status == CaseStatus::Aborted {
            // An earlier firing aborted the case while this one ran: its
            // decision is void, its case inputs go, its shared inputs stay.
            let mut consume = Vec::new();
            let mut consumed = Vec::new();
            for (&(p, s, seq), key) in inputs.iter().zip(&keys) {
                if s {
                    shared.place_mut(p).unreserve(seq);
                } else {
                    case.tokens.place_mut(p).remove(seq);
                    consume.push(key.clone());
                    consumed.push(TokenRef {
                        place: places[p].name.clone(),
                        seq,
                        shared: false,
                    });
                }
            }
            let transition = t.name.clone();
            let event = Event::FiringDiscarded {
                firing,
                transition,
                consumed,
                log,
            };
            if touches_shared {
                self.wake_waiting(&version);
            }
            return Ok(Change {
                release: Some(firing),
                consume,
                events: vec![self.engine.event(Some(&id), event)?],
                ..Change::default()
            });
        }

        // The decision, or the timeout route, or the failure.
        let decided: Result<Option<(Checked, bool)>, FiringError> = match call.decision {
            Ok(Decision::Fire(fire)) => decision::check(net, t, &fire).map(|c| Some((c, false))),
            Ok(Decision::Decline) => Ok(None),
            Ok(Decision::Abort(reason)) => {
                return self.abort(id, firing, ti, dep.clone(), inputs, keys, reason, log);
            }
            Err(GuestFailure::Deadline { timeout_ms }) if t.on_timeout.is_some() => {
                let payloads = inputs
                    .iter()
                    .zip(&keys)
                    .map(|(&(p, _, _), k)| {
                        Ok((p, self.engine.store().payload(k)?.unwrap_or_default()))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                tracing::info!(firing, case = %id, transition = %t.name, timeout_ms, "deadline passed; firing on_timeout outcome");
                Ok(decision::timeout_route(net, t, &payloads).map(|c| (c, true)))
            }
            Err(failure) => Err(FiringError::Guest(failure)),
        };
        // Capacities, counted with the firing's own inputs gone.
        let decided = decided.and_then(|d| match d {
            Some((checked, timed_out)) => {
                for (p, place) in places.iter().enumerate() {
                    let Some(cap) = place.capacity else { continue };
                    let produced = checked.outputs.iter().filter(|(q, _)| *q == p).count() as u64;
                    if produced == 0 {
                        continue;
                    }
                    let consumed = inputs.iter().filter(|(q, _, _)| *q == p).count() as u64;
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
                Ok(Some((checked, timed_out)))
            }
            None => Ok(None),
        });

        let transition = t.name.clone();
        let change = match decided {
            Ok(Some((checked, timed_out))) => {
                let mut produce = Vec::with_capacity(checked.outputs.len());
                let mut produced = Vec::with_capacity(checked.outputs.len());
                for (p, payload) in checked.outputs {
                    let seq = self.engine.store().next_id()?;
                    let is_shared = places[p].shared;
                    produced.push(TokenRecord {
                        place: places[p].name.clone(),
                        seq,
                        shared: is_shared,
                        payload: payload.clone(),
                    });
                    produce.push(StoredToken {
                        owner: owner(&id, &version, is_shared),
                        place: places[p].name.clone(),
                        seq,
                        payload,
                    });
                }
                for &(p, s, seq) in &inputs {
                    if s {
                        shared.place_mut(p).remove(seq)
                    } else {
                        case.tokens.place_mut(p).remove(seq)
                    }
                }
                for t in &produced {
                    let p = net.place_index(&t.place).expect("checked place");
                    if t.shared {
                        shared.place_mut(p).push(t.seq)
                    } else {
                        case.tokens.place_mut(p).push(t.seq)
                    }
                }
                case.blocked.clear();
                let consumed = inputs
                    .iter()
                    .map(|&(p, s, seq)| TokenRef {
                        place: places[p].name.clone(),
                        seq,
                        shared: s,
                    })
                    .collect();
                let outcome = net.transitions()[ti].outcomes[checked.outcome].name.clone();
                self.summary.completed += 1;
                let event = Event::FiringCompleted {
                    firing,
                    transition,
                    attempt: 1,
                    outcome,
                    timed_out,
                    consumed,
                    produced,
                    log,
                    elapsed_us,
                };
                Change {
                    release: Some(firing),
                    consume: keys,
                    produce,
                    events: vec![self.engine.event(Some(&id), event)?],
                    ..Change::default()
                }
            }
            other => {
                for &(p, s, seq) in &inputs {
                    if s {
                        shared.place_mut(p).unreserve(seq)
                    } else {
                        case.tokens.place_mut(p).unreserve(seq)
                    }
                }
                case.blocked.insert(ti);
                let event = match other {
                    Ok(_) => {
                        self.summary.declined += 1;
                        Event::FiringDeclined {
                            firing,
                            transition,
                            attempt: 1,
                            log,
                        }
                    }
                    Err(error) => {
                        self.summary.failed += 1;
                        tracing::warn!(firing, case = %id, transition = %transition, cause = %error, "firing failed; inputs kept");
                        Event::FiringFailed {
                            firing,
                            transition,
                            attempt: 1,
                            error,
                            log,
                        }
                    }
                };
                Change {
                    release: Some(firing),
                    events: vec![self.engine.event(Some(&id), event)?],
                    ..Change::default()
                }
            }
        };
        self.mark_dirty(&id);
        if touches_shared
            || change
                .produce
                .iter()
                .any(|t| matches!(t.owner, Owner::Shared(_)))
        {
            self.wake_waiting(&version);
        }
        Ok(change)
    }

    /// A guest aborted the case: its tokens go (shared ones the firing held stay).
    #[allow(clippy::too_many_arguments)]
    fn abort(
        &mut self,
        id: String,
        firing: u64,
        ti: usize,
        dep: Arc<Deployment>,
        inputs: Vec<(usize, bool, u64)>,
        keys: Vec<Vec<u8>>,
        reason: String,
        log: Vec<crate::sandbox::LogLine>,
    ) -> Result<Change, EngineError> {
        let version = dep.version().to_string();
        let places = dep.net.places();
        let case = self.cases.get_mut(&id).expect("case is loaded");
        let shared = self.shared.get_mut(&version).expect("shared tokens exist");
        let mut consume = Vec::new();
        let mut consumed = Vec::new();
        for &(p, s, seq) in &inputs {
            if s {
                shared.place_mut(p).unreserve(seq);
            } else {
                case.tokens.place_mut(p).remove(seq);
                consumed.push(TokenRef {
                    place: places[p].name.clone(),
                    seq,
                    shared: false,
                });
            }
        }
        consume.extend(
            keys.into_iter()
                .zip(&inputs)
                .filter(|(_, (_, s, _))| !s)
                .map(|(k, _)| k),
        );
        // Every other free token of the case goes too; tokens held by other
        // firings in flight go when those settle (their case is aborted then).
        for (p, place) in places.iter().enumerate() {
            let seqs: Vec<u64> = case.tokens.place(p).free_seqs().collect();
            for seq in seqs {
                case.tokens.place_mut(p).remove(seq);
                consume.push(token_key(&Owner::Case(id.clone()), &place.name, seq));
                consumed.push(TokenRef {
                    place: place.name.clone(),
                    seq,
                    shared: false,
                });
            }
        }
        case.record.status = CaseStatus::Aborted;
        case.record.updated_at_ms = now_ms();
        let record = case.record.clone();
        self.summary.aborted += 1;
        let transition = dep.net.transitions()[ti].name.clone();
        let event = Event::CaseAborted {
            firing,
            transition,
            reason,
            consumed,
            log,
        };
        self.wake_waiting(&version);
        Ok(Change {
            release: Some(firing),
            consume,
            case: Some(record),
            events: vec![self.engine.event(Some(&id), event)?],
            ..Change::default()
        })
    }
}
