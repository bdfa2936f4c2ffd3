//! External firings: offered to workers, claimed under a lease, completed
//! (checked like a guest's decision) or failed (the retry policy applies).
//! A lease that runs out counts as a missed deadline: `on_timeout` routes
//! the tokens, or the firing is retried (offered again) under its policy.

use std::time::Duration;

use super::launch::reservation;
use super::timers::Timer;
use super::{Core, EngineError, Launch, Offer, Work, bug};
use crate::engine::decision;
use crate::engine::form;
use crate::engine::work::{
    ClaimRequest, Compensates, Completion, LeaseInfo, MAX_OFFERS_LISTED, OfferFilter, OpenOffer,
    WorkFailure, WorkItem, WorkOutcome, WorkToken,
};
use crate::engine::{decode_payload, encode_json};
use crate::sandbox::{CallResult, Decision, Fire, Token};
use crate::store::{Change, Event, GuestFailure, Lease, LogLine, TokenRecord};

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

impl Core {
    /// Offers an external firing (its inputs reserved) to workers.
    pub(super) fn offer(&mut self, launch: Launch) {
        let deadline_ms = offer_deadline(&launch);
        if let Some(at) = deadline_ms {
            self.timers.set(at, Timer::Offer(launch.firing));
        }
        self.offers.insert(
            launch.firing,
            Offer {
                launch,
                lease: None,
                deadline_ms,
            },
        );
        self.offered = true;
    }

    /// Takes back an offer its worker held under `lease` before a restart
    /// (the claim was stored): the lease runs on from where it was.
    pub(super) fn hold_leased(&mut self, launch: Launch, lease: Lease) {
        self.timers.set(lease.until_ms, Timer::Lease(launch.firing));
        let deadline_ms = offer_deadline(&launch);
        self.offers.insert(
            launch.firing,
            Offer {
                launch,
                lease: Some(lease),
                deadline_ms,
            },
        );
    }

    /// The open offers `filter` asks for, oldest first, at most
    /// [`MAX_OFFERS_LISTED`].
    pub(crate) fn open_offers(&self, filter: &OfferFilter) -> Vec<OpenOffer> {
        self.offers
            .values()
            .filter(|o| {
                let t = o.launch.transition();
                filter
                    .net
                    .as_deref()
                    .is_none_or(|n| n == o.launch.dep.net.name())
                    && filter.transition.as_deref().is_none_or(|n| n == t.name)
                    && filter.human.is_none_or(|h| h == t.human)
            })
            .take(MAX_OFFERS_LISTED)
            .map(|o| {
                let item = work_item(&o.launch);
                OpenOffer {
                    firing: item.firing,
                    case: item.case,
                    net: item.net,
                    version: item.version,
                    transition: item.transition,
                    human: item.human,
                    attempt: item.attempt,
                    offered_at_ms: o.launch.started_at_ms,
                    deadline_ms: o.deadline_ms,
                    claimed_by: o.lease.as_ref().map(|l| l.worker.clone()),
                    lease_until_ms: o.lease.as_ref().map(|l| l.until_ms),
                    inputs: item.inputs,
                    outcomes: item.outcomes,
                    compensates: item.compensates,
                }
            })
            .collect()
    }

    /// Gives the oldest unclaimed offer matching `request` to its worker,
    /// leased for `lease_ms` from `now_ms`.
    pub(crate) fn claim(
        &mut self,
        request: &ClaimRequest,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<Option<WorkItem>, EngineError> {
        let found = self.offers.iter().find(|(_, o)| {
            let net = &o.launch.dep.net;
            o.lease.is_none()
                && request.firing.is_none_or(|f| f == o.launch.firing)
                && request.net.as_deref().is_none_or(|n| n == net.name())
                && request
                    .transition
                    .as_deref()
                    .is_none_or(|t| t == o.launch.transition().name)
        });
        let Some((&firing, _)) = found else {
            return Ok(None);
        };
        let lease = Lease {
            id: format!("{:016x}", crate::random::random_u64()),
            worker: request.worker.clone(),
            until_ms: now_ms + lease_ms,
            lease_ms,
        };
        let Some(offer) = self.offers.get_mut(&firing) else {
            return Ok(None);
        };
        offer.lease = Some(lease.clone());
        let item = work_item(&offer.launch).leased(&lease);
        let tokens = self.token_ids(&item.case, &self.offers[&firing].launch.inputs);
        let record = reservation(&self.offers[&firing].launch, tokens, Some(lease.clone()));
        let event = Event::FiringClaimed {
            firing,
            transition: item.transition.clone(),
            attempt: item.attempt,
            worker: lease.worker.clone(),
            lease_until_ms: lease.until_ms,
        };
        tracing::info!(firing, case = %item.case, transition = %item.transition, worker = %lease.worker, "external firing claimed");
        self.timers.set(lease.until_ms, Timer::Lease(firing));
        self.outbox.push(Change {
            reserve: vec![(firing, record)],
            events: vec![Core::event(now_ms, &item.case, event)],
            ..Change::default()
        });
        Ok(Some(item))
    }

    /// The offer `firing` if `lease` holds it at `now_ms`.
    fn leased(&self, firing: u64, lease: &str, now_ms: u64) -> Result<&Offer, EngineError> {
        let offer = self.offers.get(&firing).ok_or_else(|| {
            EngineError::Conflict(format!(
                "firing {firing} is not waiting for a worker (it finished, its lease ran out and it is waiting to be retried, or there is no such external firing)"
            ))
        })?;
        match &offer.lease {
            Some(l) if l.id == lease && l.until_ms > now_ms => Ok(offer),
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
    fn take(&mut self, firing: u64) -> Result<(Launch, Lease), EngineError> {
        let offer = self
            .offers
            .remove(&firing)
            .ok_or_else(|| bug(format!("offer {firing} is gone")))?;
        let lease = offer
            .lease
            .ok_or_else(|| bug(format!("offer {firing} is not leased")))?;
        self.timers.cancel(lease.until_ms, &Timer::Lease(firing));
        Ok((offer.launch, lease))
    }

    /// A worker finished firing `firing` with `completion`. A decision that
    /// its transition does not allow is refused and the lease stays.
    pub(crate) fn complete(
        &mut self,
        firing: u64,
        lease: &str,
        completion: Completion,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let offer = self.leased(firing, lease, now_ms)?;
        let launch = &offer.launch;
        let t = launch.transition();
        let mut outputs = Vec::with_capacity(completion.tokens.len());
        let filled: Vec<serde_json::Value> = completion
            .tokens
            .iter()
            .map(|t| t.payload.clone())
            .collect();
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
        let checked = decision::check(&launch.dep.net, t, &fire).map_err(|e| {
            EngineError::Invalid(format!("completion of `{}` refused: {e}", t.name))
        })?;
        if let Some(form) = &t.outcomes[checked.outcome].form {
            for (i, token) in filled.iter().enumerate() {
                form::check(form, token).map_err(|e| {
                    EngineError::Invalid(format!(
                        "completion of `{}` refused: `tokens[{i}].payload` does not meet outcome `{}`'s form: {e}",
                        t.name, fire.outcome
                    ))
                })?;
            }
        }
        self.check_capacity(launch, &checked).map_err(|e| {
            EngineError::Conflict(format!("completion of `{}` refused for now: {e}", t.name))
        })?;
        let (launch, lease) = self.take(firing)?;
        let note = format!(
            "completed by worker `{}` with `{}`",
            lease.worker, fire.outcome
        );
        let call = worker_call(Ok(Decision::Fire(fire)), note, &launch, now_ms);
        self.settle_call(launch, call, now_ms)
    }

    /// A worker could not perform firing `firing`: a failed attempt.
    pub(crate) fn fail_work(
        &mut self,
        firing: u64,
        lease: &str,
        failure: WorkFailure,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        self.leased(firing, lease, now_ms)?;
        let (launch, lease) = self.take(firing)?;
        let note = format!("worker `{}` failed: {}", lease.worker, failure.message);
        let failed = GuestFailure::Guest {
            message: format!("worker `{}`: {}", lease.worker, failure.message),
            retryable: failure.retryable,
        };
        let call = worker_call(Err(failed), note, &launch, now_ms);
        self.settle_call(launch, call, now_ms)
    }

    /// Extends the lease on `firing` to `lease_ms` from `now_ms`.
    pub(crate) fn extend(
        &mut self,
        firing: u64,
        lease: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<LeaseInfo, EngineError> {
        self.leased(firing, lease, now_ms)?;
        let tokens = self.token_ids(
            &self.offers[&firing].launch.case,
            &self.offers[&firing].launch.inputs,
        );
        let offer = self
            .offers
            .get_mut(&firing)
            .ok_or_else(|| bug(format!("offer {firing} is gone")))?;
        let held = offer
            .lease
            .as_mut()
            .ok_or_else(|| bug(format!("offer {firing} is not leased")))?;
        held.until_ms = now_ms + lease_ms;
        held.lease_ms = lease_ms;
        let info = LeaseInfo {
            firing,
            lease: held.id.clone(),
            lease_until_ms: held.until_ms,
        };
        let record = reservation(&offer.launch, tokens, offer.lease.clone());
        // The earlier timer finds the lease extended and does nothing.
        self.timers.set(info.lease_until_ms, Timer::Lease(firing));
        self.outbox.push(Change {
            reserve: vec![(firing, record)],
            ..Change::default()
        });
        Ok(info)
    }

    /// The lease timer of `firing` passed: unless extended, its worker is
    /// out of time, which counts as a missed deadline.
    pub(super) fn expire_lease(&mut self, firing: u64, now_ms: u64) -> Result<(), EngineError> {
        let Some(until) = self
            .offers
            .get(&firing)
            .and_then(|o| o.lease.as_ref())
            .map(|l| l.until_ms)
        else {
            return Ok(());
        };
        if until > now_ms {
            return Ok(());
        }
        let (launch, lease) = self.take(firing)?;
        tracing::warn!(firing, case = %launch.case, worker = %lease.worker, "lease ran out");
        let note = format!("the lease of worker `{}` ran out", lease.worker);
        let missed = GuestFailure::Deadline {
            timeout_ms: lease.lease_ms,
        };
        let call = worker_call(Err(missed), note, &launch, now_ms);
        self.settle_call(launch, call, now_ms)
    }

    /// The offer deadline of `firing` passed: unless a worker claimed it
    /// meanwhile (then its lease decides), it takes its `on_timeout`
    /// outcome, as a missed deadline.
    pub(super) fn expire_offer(&mut self, firing: u64, now_ms: u64) -> Result<(), EngineError> {
        let Some(offer) = self.offers.get(&firing) else {
            return Ok(());
        };
        let Some(deadline) = offer.deadline_ms.filter(|&d| d <= now_ms) else {
            return Ok(());
        };
        if offer.lease.is_some() {
            return Ok(());
        }
        let timeout_ms = deadline.saturating_sub(offer.launch.started_at_ms);
        let Some(offer) = self.offers.remove(&firing) else {
            return Ok(());
        };
        let launch = offer.launch;
        tracing::warn!(firing, case = %launch.case, "offer timed out unclaimed");
        let note = format!("no worker claimed it within {timeout_ms} ms");
        let missed = GuestFailure::Deadline { timeout_ms };
        let call = worker_call(Err(missed), note, &launch, now_ms);
        self.settle_call(launch, call, now_ms)
    }

    /// Withdraws the offered firings of case `id` whose transition `within`
    /// accepts (its case or their region aborted), for the caller to release
    /// with their inputs. Offered compensations stay: a saga goes on.
    pub(super) fn withdraw_offers(
        &mut self,
        id: &str,
        within: &dyn Fn(usize) -> bool,
    ) -> Vec<Launch> {
        let firings: Vec<u64> = self
            .offers
            .iter()
            .filter(|(_, o)| {
                o.launch.case == id
                    && matches!(o.launch.work, Work::Transition)
                    && within(o.launch.transition)
            })
            .map(|(&f, _)| f)
            .collect();
        let mut launches = Vec::with_capacity(firings.len());
        for f in firings {
            let Some(offer) = self.offers.remove(&f) else {
                continue;
            };
            if let Some(l) = offer.lease {
                self.timers.cancel(l.until_ms, &Timer::Lease(f));
            }
            if let Some(at) = offer.deadline_ms {
                self.timers.cancel(at, &Timer::Offer(f));
            }
            launches.push(offer.launch);
        }
        launches
    }
}

/// When `launch`, offered, takes its `on_timeout` outcome unless claimed.
pub(super) fn offer_deadline(launch: &Launch) -> Option<u64> {
    let timeout = launch.transition().offer_timeout_ms?;
    Some(launch.started_at_ms.saturating_add(timeout))
}

/// What a worker is handed for a firing (leased: [`WorkItem::leased`]).
fn work_item(launch: &Launch) -> WorkItem {
    let net = &launch.dep.net;
    let places = net.places();
    let t = launch.transition();
    WorkItem {
        firing: launch.firing,
        lease: String::new(),
        lease_until_ms: 0,
        human: t.human,
        case: launch.case.clone(),
        net: net.name().to_string(),
        version: launch.dep.version().to_string(),
        transition: t.name.clone(),
        attempt: launch.attempt,
        inputs: work_tokens(launch.input_records()),
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
                form: o.form.clone(),
            })
            .collect(),
        compensates: launch.compensation().map(|step| Compensates {
            firing: step.firing,
            transition: step.transition.clone(),
            outcome: step.outcome.clone(),
            outputs: work_tokens(step.outputs.clone()),
        }),
    }
}

fn work_tokens(records: Vec<TokenRecord>) -> Vec<WorkToken> {
    records
        .into_iter()
        .map(|t| WorkToken {
            payload: decode_payload(&t.payload),
            place: t.place,
        })
        .collect()
}
