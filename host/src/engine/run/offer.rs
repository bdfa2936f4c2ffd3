//! External firings: offered to workers, claimed under a lease, completed
//! (checked like a guest's decision) or failed (the retry policy applies).
//! A lease that runs out counts as a missed deadline: `on_timeout` routes
//! the tokens, or the firing is retried (offered again) under its policy.

use std::time::Duration;

use super::super::decision;
use super::super::{EngineError, decode_payload, encode_json};
use super::{Launch, Offer, Runner, Timer, reservation};
use crate::host::{
    ClaimRequest, Completion, LeaseInfo, WorkFailure, WorkItem, WorkOutcome, WorkToken,
};
use crate::sandbox::{CallResult, Decision, Fire, GuestFailure, LogLine, Token};
use crate::store::{Change, Event, Lease, StoreError};

/// A host-made call result for an external firing (no guest ran).
fn worker_call(
    decision: Result<Decision, GuestFailure>,
    note: String,
    launch: &Launch,
    now_ms: u64,
) -> CallResult {
    CallResult {
        decision,
        log: vec![LogLine {
            level: "info".into(),
            message: note,
        }],
        dropped_log_lines: 0,
        fuel_used: 0,
        elapsed: Duration::from_millis(now_ms.saturating_sub(launch.started_at_ms)),
    }
}

impl Runner<'_> {
    /// Offers an external firing (its inputs reserved) to workers.
    pub(super) fn offer(&mut self, launch: Launch) {
        self.offers.insert(
            launch.firing,
            Offer {
                launch,
                lease: None,
            },
        );
        self.claimable.notify_waiters();
    }

    /// Gives the oldest unclaimed offer matching `request` to its worker.
    pub(super) fn claim(
        &mut self,
        request: &ClaimRequest,
        lease_ms: u64,
    ) -> Result<Option<WorkItem>, EngineError> {
        let found = self.offers.iter().find(|(_, o)| {
            let net = &o.launch.dep.net;
            o.lease.is_none()
                && request.net.as_deref().is_none_or(|n| n == net.name())
                && request
                    .transition
                    .as_deref()
                    .is_none_or(|t| t == net.transitions()[o.launch.transition].name)
        });
        let Some((&firing, _)) = found else {
            return Ok(None);
        };
        let now = self.engine.clock().now_ms();
        let lease = Lease {
            id: format!("{:016x}", crate::random::random_u64()),
            worker: request.worker.clone(),
            until_ms: now + lease_ms,
            lease_ms,
        };
        let item = self.work_item(&self.offers[&firing].launch, &lease)?;
        let offer = self.offers.get_mut(&firing).expect("found above");
        offer.lease = Some(lease.clone());
        let record = reservation(&offer.launch, Some(lease.clone()));
        let event = Event::FiringClaimed {
            firing,
            transition: item.transition.clone(),
            attempt: item.attempt,
            worker: lease.worker.clone(),
            lease_until_ms: lease.until_ms,
        };
        let event = self.engine.event(Some(&item.case), event);
        tracing::info!(firing, case = %item.case, transition = %item.transition, worker = %lease.worker, "external firing claimed");
        self.timers.insert((lease.until_ms, Timer::Lease(firing)));
        self.pending.push(Change {
            reserve: vec![(firing, record)],
            events: vec![event],
            ..Change::default()
        });
        Ok(Some(item))
    }

    /// What a worker is handed for a claimed firing.
    fn work_item(&self, launch: &Launch, lease: &Lease) -> Result<WorkItem, EngineError> {
        let net = &launch.dep.net;
        let places = net.places();
        let t = &net.transitions()[launch.transition];
        let mut inputs = Vec::with_capacity(launch.inputs.len());
        for (&(p, _, seq), key) in launch.inputs.iter().zip(launch.input_keys()) {
            let payload = self.engine.store().payload(&key)?.ok_or_else(|| {
                StoreError::Bug(format!(
                    "reserved token {}#{seq} is missing",
                    places[p].name
                ))
            })?;
            inputs.push(WorkToken {
                place: places[p].name.clone(),
                payload: decode_payload(&payload),
            });
        }
        Ok(WorkItem {
            firing: launch.firing,
            lease: lease.id.clone(),
            lease_until_ms: lease.until_ms,
            case: launch.case.clone(),
            net: net.name().to_string(),
            version: launch.dep.version().to_string(),
            transition: t.name.clone(),
            attempt: launch.attempt,
            inputs,
            outcomes: t
                .outcomes
                .iter()
                .map(|o| WorkOutcome {
                    name: o.name.clone(),
                    outputs: o
                        .outputs
                        .iter()
                        .map(|a| (places[a.place].name.clone(), a.weight))
                        .collect(),
                })
                .collect(),
        })
    }

    /// The offer `firing` if `lease` holds it now.
    fn leased(&self, firing: u64, lease: &str) -> Result<&Offer, EngineError> {
        let now = self.engine.clock().now_ms();
        let offer = self.offers.get(&firing).ok_or_else(|| {
            EngineError::Conflict(format!(
                "firing {firing} is not waiting for a worker (it finished, its lease ran out and it is waiting to be retried, or there is no such external firing)"
            ))
        })?;
        match &offer.lease {
            Some(l) if l.id == lease && l.until_ms > now => Ok(offer),
            Some(l) if l.id == lease => Err(EngineError::Conflict(format!(
                "the lease on firing {firing} ran out at {} (ms since the epoch); claim it again",
                l.until_ms
            ))),
            _ => Err(EngineError::Conflict(format!(
                "lease `{lease}` does not hold firing {firing} (it ran out, or another worker holds it now)"
            ))),
        }
    }

    /// Takes a leased offer out, with its lease.
    fn take(&mut self, firing: u64) -> (Launch, Lease) {
        let offer = self.offers.remove(&firing).expect("checked by leased");
        let lease = offer.lease.expect("checked by leased");
        self.timers.remove(&(lease.until_ms, Timer::Lease(firing)));
        (offer.launch, lease)
    }

    /// A worker finished firing `firing` with `completion`. A decision that
    /// its transition does not allow is refused and the lease stays.
    pub(super) fn complete(
        &mut self,
        firing: u64,
        lease: &str,
        completion: Completion,
    ) -> Result<(), EngineError> {
        let offer = self.leased(firing, lease)?;
        let launch = &offer.launch;
        let net = &launch.dep.net;
        let t = &net.transitions()[launch.transition];
        let mut outputs = Vec::with_capacity(completion.tokens.len());
        for (i, token) in completion.tokens.into_iter().enumerate() {
            let payload = encode_json(&token.payload)
                .map_err(|e| EngineError::Invalid(format!("`tokens[{i}].payload`: {e}")))?;
            outputs.push(Token {
                place: token.place,
                payload,
            });
        }
        let fire = Fire {
            outcome: completion.outcome,
            outputs,
        };
        let checked = decision::check(net, t, &fire).map_err(|e| {
            EngineError::Invalid(format!("completion of `{}` refused: {e}", t.name))
        })?;
        self.check_capacity(launch, &checked).map_err(|e| {
            EngineError::Conflict(format!("completion of `{}` refused for now: {e}", t.name))
        })?;
        let now = self.engine.clock().now_ms();
        let (launch, lease) = self.take(firing);
        let note = format!(
            "completed by worker `{}` with `{}`",
            lease.worker, fire.outcome
        );
        let call = worker_call(Ok(Decision::Fire(fire)), note, &launch, now);
        let change = self.settle(launch, call)?;
        self.pending.push(change);
        Ok(())
    }

    /// A worker could not perform firing `firing`: a failed attempt.
    pub(super) fn fail_work(
        &mut self,
        firing: u64,
        lease: &str,
        failure: WorkFailure,
    ) -> Result<(), EngineError> {
        self.leased(firing, lease)?;
        let now = self.engine.clock().now_ms();
        let (launch, lease) = self.take(firing);
        let note = format!("worker `{}` failed: {}", lease.worker, failure.message);
        let failed = GuestFailure::Guest {
            message: format!("worker `{}`: {}", lease.worker, failure.message),
            retryable: failure.retryable,
        };
        let call = worker_call(Err(failed), note, &launch, now);
        let change = self.settle(launch, call)?;
        self.pending.push(change);
        Ok(())
    }

    /// Extends the lease on `firing` to `lease_ms` from now.
    pub(super) fn extend(
        &mut self,
        firing: u64,
        lease: &str,
        lease_ms: u64,
    ) -> Result<LeaseInfo, EngineError> {
        self.leased(firing, lease)?;
        let now = self.engine.clock().now_ms();
        let offer = self.offers.get_mut(&firing).expect("checked by leased");
        let held = offer.lease.as_mut().expect("checked by leased");
        held.until_ms = now + lease_ms;
        held.lease_ms = lease_ms;
        let info = LeaseInfo {
            firing,
            lease: held.id.clone(),
            lease_until_ms: held.until_ms,
        };
        let record = reservation(&offer.launch, offer.lease.clone());
        // The earlier timer finds the lease extended and does nothing.
        self.timers
            .insert((info.lease_until_ms, Timer::Lease(firing)));
        self.pending.push(Change {
            reserve: vec![(firing, record)],
            ..Change::default()
        });
        Ok(info)
    }

    /// The lease timer of `firing` passed: unless extended, its worker is
    /// out of time, which counts as a missed deadline.
    pub(super) fn expire_lease(&mut self, firing: u64, now: u64) -> Result<(), EngineError> {
        let Some(until) = self
            .offers
            .get(&firing)
            .and_then(|o| o.lease.as_ref())
            .map(|l| l.until_ms)
        else {
            return Ok(());
        };
        if until > now {
            return Ok(());
        }
        let (launch, lease) = self.take(firing);
        tracing::warn!(firing, case = %launch.case, worker = %lease.worker, "lease ran out");
        let note = format!("the lease of worker `{}` ran out", lease.worker);
        let missed = GuestFailure::Deadline {
            timeout_ms: lease.lease_ms,
        };
        let call = worker_call(Err(missed), note, &launch, now);
        let change = self.settle(launch, call)?;
        self.pending.push(change);
        Ok(())
    }

    /// Withdraws the offers of case `id` (aborted): their firings, which
    /// the caller releases with their inputs.
    pub(super) fn withdraw_offers(&mut self, id: &str) -> Vec<Launch> {
        let firings: Vec<u64> = self
            .offers
            .iter()
            .filter(|(_, o)| o.launch.case == id)
            .map(|(&f, _)| f)
            .collect();
        let mut launches = Vec::with_capacity(firings.len());
        for f in firings {
            let offer = self.offers.remove(&f).expect("listed above");
            if let Some(l) = offer.lease {
                self.timers.remove(&(l.until_ms, Timer::Lease(f)));
            }
            launches.push(offer.launch);
        }
        launches
    }
}
