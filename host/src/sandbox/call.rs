//! One guest call: fresh instance, bounded, classified.

use std::time::{Duration, Instant};

use wasmtime::{Store, StoreLimitsBuilder, Trap, UpdateDeadline};

use super::bindings::{Decision, Firing};
use super::state::{Determinism, GuestState};
use super::{Guest, GuestFailure, Sandbox};
use crate::llm::LlmSession;
use crate::store::LogLine;

/// Longest abort reason or guest error message kept.
const MAX_MESSAGE: usize = 4096;
/// Longest outcome or place name a decision may carry as given: names are
/// at most 128 bytes (net rules), so a longer one is cut and marked, which
/// keeps it from matching any declared name.
const MAX_NAME: usize = 128;
/// What a call's copy budget allows beyond its caps: the records and
/// strings around the payloads.
const COPY_SLACK: usize = 64 * 1024;
/// A call may always copy this much (a log line, a small decision).
const MIN_COPY_BUDGET: usize = 1 << 20;
/// Grace beyond the deadline before the host stops waiting on a call that
/// is blocked in an async host import (the epoch cannot interrupt those).
const DEADLINE_GRACE: Duration = Duration::from_millis(50);

/// What one call produced.
#[derive(Debug)]
pub struct CallResult {
    /// The decision, or why there is none.
    pub decision: Result<Decision, GuestFailure>,
    /// What the guest logged (and wrote to stdout/stderr), capped.
    pub log: Vec<LogLine>,
    /// Log lines past the cap.
    pub dropped_log_lines: u32,
    /// Fuel the call used.
    pub fuel_used: u64,
    /// Wall-clock time of instantiate + call.
    pub elapsed: Duration,
}

impl Sandbox {
    /// Calls `guest`'s `decide` on `firing` in a fresh instance.
    pub async fn call(&self, guest: &Guest, firing: &Firing, det: Determinism) -> CallResult {
        self.call_with(guest, firing, det, None).await
    }

    /// [`Sandbox::call`] with the firing's language-model session, which
    /// answers the guest's `llm.complete` (transitions granted `llm`; without
    /// one the guest gets `not-configured`). No call outlives the deadline.
    pub async fn call_with(
        &self,
        guest: &Guest,
        firing: &Firing,
        det: Determinism,
        llm: Option<LlmSession>,
    ) -> CallResult {
        let _permit = self.admission.admit(&firing.net).await;
        let limits = guest.limits;
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.memory_mb as usize * 1024 * 1024)
            .trap_on_grow_failure(true)
            .build();
        let output_cap = limits.max_output_kb as usize * 1024;
        let request_cap = llm.as_ref().map_or(0, LlmSession::max_request_bytes);
        let budget = copy_budget(output_cap, request_cap);
        let mut state = GuestState::new(store_limits, det, &self.limits);
        state.llm = llm;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_hostcall_fuel(budget);
        store
            .set_fuel(limits.fuel)
            .expect("fuel is enabled in the engine config");
        let started = Instant::now();
        let timeout = Duration::from_millis(limits.timeout_ms);
        let deadline = started + timeout;
        if let Some(session) = store.data_mut().llm.as_mut() {
            session.set_deadline(deadline);
        }
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store.set_epoch_deadline(1);

        let run = async {
            let instance = guest.pre.instantiate_async(&mut store).await?;
            instance.call_decide(&mut store, firing).await
        };
        let result = tokio::time::timeout(timeout + DEADLINE_GRACE, run).await;
        let elapsed = started.elapsed();
        let decision = match result {
            Err(_) => Err(GuestFailure::Deadline {
                timeout_ms: limits.timeout_ms,
            }),
            Ok(Err(err)) => Err(classify(&err, &limits, budget)),
            Ok(Ok(Err(e))) => Err(GuestFailure::Guest {
                message: cut(&e.message),
                retryable: e.retryable,
            }),
            Ok(Ok(Ok(decision))) => check_size(decision, output_cap),
        };
        // A model call cut off by the firing's deadline is the deadline
        // passing, however the guest reacted to its `timeout` (failing before
        // the epoch check could interrupt it).
        let decision = match decision {
            Err(_) if store.data().llm.as_ref().is_some_and(|s| s.hit_deadline()) => {
                Err(GuestFailure::Deadline {
                    timeout_ms: limits.timeout_ms,
                })
            }
            other => other,
        };
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let (log, dropped_log_lines) = store.data_mut().take_log();
        CallResult {
            decision,
            log,
            dropped_log_lines,
            fuel_used,
            elapsed,
        }
    }
}

/// The most bytes one call may move from the guest into the host in one
/// transfer (the decision, a log line, a model request): wasmtime counts
/// every string and list it lifts against it and fails the call past it,
/// before copying. Twice the output cap covers the records around the
/// payloads (a token costs its place name and a 48-byte record).
pub(crate) fn copy_budget(output_cap: usize, request_cap: usize) -> usize {
    output_cap
        .saturating_mul(2)
        .max(request_cap)
        .max(MIN_COPY_BUDGET)
        .saturating_add(COPY_SLACK)
}

/// wasmtime's error when a call lifted more than its hostcall fuel allows.
const COPY_BUDGET_SPENT: &str = "fuel allocated for hostcalls has been exhausted";

fn classify(err: &wasmtime::Error, limits: &crate::net::Limits, budget: usize) -> GuestFailure {
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            return GuestFailure::Deadline {
                timeout_ms: limits.timeout_ms,
            };
        }
        Some(Trap::OutOfFuel) => return GuestFailure::OutOfFuel { fuel: limits.fuel },
        _ => {}
    }
    let message = format!("{err:#}");
    if message.contains(COPY_BUDGET_SPENT) {
        // More than the budget: the guest tried to hand over at least this.
        return GuestFailure::OutputTooLarge {
            bytes: budget.saturating_add(1),
            cap: limits.max_output_kb as usize * 1024,
        };
    }
    if message.contains("forcing trap when growing memory") {
        return GuestFailure::MemoryCap {
            memory_mb: limits.memory_mb,
        };
    }
    if err.downcast_ref::<Trap>().is_some() || message.contains("wasm trap") {
        GuestFailure::Trap {
            message: cut(&message),
        }
    } else {
        GuestFailure::Instantiate {
            message: cut(&message),
        }
    }
}

fn check_size(decision: Decision, cap: usize) -> Result<Decision, GuestFailure> {
    match decision {
        Decision::Fire(mut fire) => {
            let bytes: usize = fire
                .outputs
                .iter()
                .map(|t| t.payload.len() + t.place.len())
                .sum::<usize>()
                + fire.outcome.len();
            if bytes > cap {
                return Err(GuestFailure::OutputTooLarge { bytes, cap });
            }
            fire.outcome = name(fire.outcome);
            for token in &mut fire.outputs {
                token.place = name(std::mem::take(&mut token.place));
            }
            Ok(Decision::Fire(fire))
        }
        Decision::Abort(reason) => Ok(Decision::Abort(cut(&reason))),
        Decision::Decline => Ok(Decision::Decline),
    }
}

/// A name from a decision, kept as is when it could be a declared name;
/// otherwise cut and marked with `…` (which no declared name contains).
fn name(name: String) -> String {
    if name.len() <= MAX_NAME {
        name
    } else {
        crate::limits::cut_str(&name, MAX_NAME) + "…"
    }
}

/// `s` cut to [`MAX_MESSAGE`] bytes (copied, so a long original is freed).
fn cut(s: &str) -> String {
    if s.len() > MAX_MESSAGE {
        crate::limits::cut_str(s, MAX_MESSAGE) + "…"
    } else {
        s.to_string()
    }
}
