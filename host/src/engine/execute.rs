//! Running one launched firing's guest, outside any transaction. The
//! launch carries its inputs' payloads: nothing is read from the store.

use std::sync::Arc;

use tracing::Instrument;
use tracing::field::Empty;

use super::core::{Launch, Work};
use crate::llm::{Caller, JournalKey, LlmGateway};
use crate::net::Capability;
use crate::sandbox::{CallResult, Compensated, Decision, Determinism, Firing, Sandbox, Token};
use crate::store::TokenRecord;

fn tokens(records: Vec<TokenRecord>) -> Vec<Token> {
    records
        .into_iter()
        .map(|t| Token {
            place: t.place,
            payload: t.payload,
        })
        .collect()
}

/// Runs `launch`'s guest in a `petrel.firing` span in its case's trace
/// (see [`crate::telemetry`]); returns the launch with what the guest did.
pub(super) async fn execute(
    sandbox: Arc<Sandbox>,
    llm: Arc<LlmGateway>,
    launch: Launch,
) -> (Launch, CallResult) {
    let span = tracing::info_span!(
        "petrel.firing",
        net = %launch.dep.net.name(),
        version = %launch.dep.version(),
        transition = %launch.transition().name,
        case = %launch.case,
        firing = launch.firing,
        attempt = launch.attempt,
        compensation = matches!(launch.work, Work::Compensation(_)),
        result = Empty,
        outcome = Empty,
    );
    crate::telemetry::join_case(&span, &launch.case);
    let (launch, result) = run(sandbox, llm, launch).instrument(span.clone()).await;
    match &result.decision {
        Ok(Decision::Fire(fire)) => {
            span.record("result", "fired");
            span.record("outcome", fire.outcome.as_str());
        }
        Ok(Decision::Decline) => {
            span.record("result", "declined");
        }
        Ok(Decision::Abort(_)) => {
            span.record("result", "aborted");
        }
        Err(failure) => {
            span.record("result", "failed");
            crate::telemetry::fail(&span, failure.to_string());
        }
    }
    (launch, result)
}

async fn run(sandbox: Arc<Sandbox>, llm: Arc<LlmGateway>, launch: Launch) -> (Launch, CallResult) {
    let net = &launch.dep.net;
    let t = launch.transition();
    // The seed hashes case, transition and input seqs: the same on every
    // re-run of this firing.
    let mut seed = blake3::Hasher::new();
    seed.update(launch.case.as_bytes());
    seed.update(t.name.as_bytes());
    let mut compensating = None;
    if let Work::Compensation(step) = &launch.work {
        seed.update(&step.firing.to_be_bytes());
        compensating = Some(Compensated {
            transition: step.transition.clone(),
            outcome: step.outcome.clone(),
            outputs: tokens(step.outputs.clone()),
        });
    }
    for input in &launch.inputs {
        seed.update(&input.at.seq.to_be_bytes());
    }
    let firing = Firing {
        net: net.name().to_string(),
        version: launch.dep.version().to_string(),
        transition: t.name.clone(),
        case_id: launch.case.clone(),
        attempt: launch.attempt,
        inputs: tokens(launch.input_records()),
        compensating,
    };
    let det = Determinism {
        now_unix_ms: launch.started_at_ms,
        seed: *seed.finalize().as_bytes(),
    };
    // The seed keys the firing's llm journal (per attempt: a crash re-run
    // gets the journaled answers back, a retry after a failure asks again).
    let session = t.grants(Capability::Llm).then(|| {
        let caller = Caller {
            case: launch.case.clone(),
            transition: t.name.clone(),
            firing: launch.firing,
            key: JournalKey::from_seed(
                blake3::Hasher::new()
                    .update(&det.seed)
                    .update(&launch.attempt.to_be_bytes())
                    .finalize()
                    .as_bytes(),
            ),
        };
        llm.session(caller, t.llm)
    });
    let result = match &launch.dep.guests[launch.transition] {
        Some(guest) => sandbox.call_with(guest, &firing, det, session).await,
        None => CallResult {
            decision: Err(crate::store::GuestFailure::Instantiate {
                message: format!("transition `{}` has no guest to run", t.name),
            }),
            log: Vec::new(),
            dropped_log_lines: 0,
            fuel_used: 0,
            elapsed: std::time::Duration::ZERO,
        },
    };
    (launch, result)
}
