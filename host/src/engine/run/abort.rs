//! Aborting a case: its tokens go, its waiting retries are cancelled, and
//! the compensations of its completed compensable firings are planned.

use std::collections::HashMap;

use super::super::EngineError;
use super::{Launch, Runner, Timer};
use crate::sandbox::LogLine;
use crate::store::{
    CaseStatus, Change, Event, EventRecord, Owner, Release, Saga, SagaStep, TokenRecord, TokenRef,
    now_ms, token_key,
};

impl Runner<'_> {
    /// Aborts the launch's case (a guest said so, or a policy with
    /// `on_exhausted = "abort"` ran out): its tokens go, shared ones the
    /// firing held stay, and its compensations are queued.
    pub(super) fn abort(
        &mut self,
        launch: Launch,
        keys: Vec<Vec<u8>>,
        reason: String,
        log: Vec<LogLine>,
    ) -> Result<Change, EngineError> {
        let id = launch.case.clone();
        let version = launch.dep.version().to_string();
        let places = launch.dep.net.places();
        let mut release = vec![launch.release()];
        let mut held: Vec<(usize, bool, u64)> = launch.inputs.clone();
        let mut held_keys = keys;
        // Retries of the case waiting on their timers are cancelled.
        let cancelled: Vec<u64> = self
            .retries
            .iter()
            .filter(|(_, w)| w.case == id)
            .map(|(&f, _)| f)
            .collect();
        for f in cancelled {
            let w = self.retries.remove(&f).expect("listed above");
            self.timers.retain(|(_, t)| *t != Timer::Retry(f));
            // The same case, so the same deployment as `launch`.
            let keys: Vec<Vec<u8>> = w.held.iter().map(|&h| launch.key(h)).collect();
            release.push(Release::new(f, &keys));
            held_keys.extend(keys);
            held.extend(w.held);
        }
        // So are its external firings waiting for (or held by) workers.
        for offered in self.withdraw_offers(&id) {
            release.push(offered.release());
            held_keys.extend(offered.input_keys());
            held.extend(offered.inputs);
            self.cases.get_mut(&id).expect("case is loaded").in_flight -= 1;
        }
        let (mut consume, mut consumed) = self.drop_inputs(&id, &launch.dep, &held, held_keys);
        let case = self.cases.get_mut(&id).expect("case is loaded");
        case.retrying = 0;
        case.due.clear();
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
        let steps = self.plan_saga(&launch)?;
        let case = self.cases.get_mut(&id).expect("case is loaded");
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
        case.record.updated_at_ms = now_ms();
        let record = case.record.clone();
        self.summary.aborted += 1;
        tracing::warn!(case = %id, reason = %reason, "case aborted");
        let transition = launch.dep.net.transitions()[launch.transition].name.clone();
        let event = Event::CaseAborted {
            firing: launch.firing,
            transition,
            reason,
            consumed,
            log,
            compensations,
        };
        self.wake_waiting(&version);
        self.mark_dirty(&id);
        Ok(Change {
            release,
            consume,
            case: Some(record),
            events: vec![self.engine.event(Some(&id), event)],
            ..Change::default()
        })
    }

    /// The compensations of the case's completed compensable firings,
    /// newest first, each with the firing's inputs and outputs.
    fn plan_saga(&self, launch: &Launch) -> Result<Vec<SagaStep>, EngineError> {
        let net = &launch.dep.net;
        if !net.transitions().iter().any(|t| t.compensate.is_some()) {
            return Ok(Vec::new());
        }
        // The log so far: the store's, then the changes not yet applied
        // (numbered only when they commit, so kept in the order made).
        let mut log: Vec<EventRecord> = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .engine
                .store()
                .events(Some(&launch.case), after, 4096)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            log.extend(page);
        }
        log.extend(
            self.pending
                .iter()
                .flat_map(|c| &c.events)
                .filter(|e| e.case.as_deref() == Some(&launch.case))
                .cloned(),
        );
        let mut payloads: HashMap<(String, u64), Vec<u8>> = HashMap::new();
        fn remember(payloads: &mut HashMap<(String, u64), Vec<u8>>, tokens: &[TokenRecord]) {
            for t in tokens {
                payloads.insert((t.place.clone(), t.seq), t.payload.clone());
            }
        }
        let mut steps = Vec::new();
        for e in &log {
            match &e.event {
                Event::CaseStarted { tokens, .. } => remember(&mut payloads, tokens),
                Event::DeadLetterRetried { restored, .. } => remember(&mut payloads, restored),
                Event::CompensationCompleted { produced, .. } => remember(&mut payloads, produced),
                Event::FiringCompleted {
                    firing,
                    transition,
                    outcome,
                    consumed,
                    produced,
                    ..
                } => {
                    remember(&mut payloads, produced);
                    let Some(t) = net.transition(transition) else {
                        continue;
                    };
                    let Some(c) = t.compensate else { continue };
                    let inputs = consumed
                        .iter()
                        .map(|r| {
                            let payload = match payloads.get(&(r.place.clone(), r.seq)) {
                                Some(p) => p.clone(),
                                None => {
                                    let owner =
                                        super::owner(&launch.case, launch.dep.version(), r.shared);
                                    let key = token_key(&owner, &r.place, r.seq);
                                    self.engine.store().payload(&key)?.unwrap_or_default()
                                }
                            };
                            Ok(TokenRecord {
                                place: r.place.clone(),
                                seq: r.seq,
                                shared: r.shared,
                                payload,
                            })
                        })
                        .collect::<Result<Vec<_>, EngineError>>()?;
                    steps.push(SagaStep {
                        firing: *firing,
                        transition: transition.clone(),
                        outcome: outcome.clone(),
                        compensation: net.transitions()[c].name.clone(),
                        inputs,
                        outputs: produced.clone(),
                    });
                }
                _ => {}
            }
        }
        steps.reverse();
        Ok(steps)
    }
}
