//! Running one firing's guest, outside any transaction.

use std::sync::Arc;

use super::{Launch, Work};
use crate::llm::{Caller, JournalKey, LlmHost};
use crate::net::Capability;
use crate::sandbox::{CallResult, Compensated, Determinism, Firing, Sandbox, Token};
use crate::store::{Store, StoreError, TokenRecord};

/// Runs one firing's guest (outside any transaction).
pub(super) async fn execute(
    sandbox: Arc<Sandbox>,
    store: Arc<dyn Store>,
    llm: Arc<LlmHost>,
    launch: Launch,
) -> (Launch, Result<CallResult, StoreError>) {
    let result = call(&sandbox, store.as_ref(), &llm, &launch).await;
    (launch, result)
}

fn tokens(records: &[TokenRecord]) -> Vec<Token> {
    records
        .iter()
        .map(|t| Token {
            place: t.place.clone(),
            payload: t.payload.clone(),
        })
        .collect()
}

async fn call(
    sandbox: &Sandbox,
    store: &dyn Store,
    llm: &Arc<LlmHost>,
    l: &Launch,
) -> Result<CallResult, StoreError> {
    let net = &l.dep.net;
    let places = net.places();
    let mut inputs = Vec::with_capacity(l.inputs.len());
    let mut seed = blake3::Hasher::new();
    seed.update(l.case.as_bytes());
    seed.update(net.transitions()[l.transition].name.as_bytes());
    let mut compensating = None;
    if let Work::Compensation(step) = &l.work {
        seed.update(&step.firing.to_be_bytes());
        inputs = tokens(&step.inputs);
        compensating = Some(Compensated {
            transition: step.transition.clone(),
            outcome: step.outcome.clone(),
            outputs: tokens(&step.outputs),
        });
    }
    for &(p, shared, seq) in &l.inputs {
        let key = &l.key((p, shared, seq));
        let payload = store.payload(key)?.ok_or_else(|| {
            StoreError::Bug(format!(
                "reserved token {}#{seq} of case `{}` is missing",
                places[p].name, l.case
            ))
        })?;
        seed.update(&seq.to_be_bytes());
        inputs.push(Token {
            place: places[p].name.clone(),
            payload,
        });
    }
    let firing = Firing {
        net: net.name().to_string(),
        version: l.dep.version().to_string(),
        transition: net.transitions()[l.transition].name.clone(),
        case_id: l.case.clone(),
        attempt: l.attempt,
        inputs,
        compensating,
    };
    let guest = l.dep.guests[l.transition]
        .as_ref()
        .expect("only guest transitions are launched");
    let det = Determinism {
        now_unix_ms: l.started_at_ms,
        seed: *seed.finalize().as_bytes(),
    };
    // The seed hashes case, transition and input seqs: the same on every
    // re-run of this firing, so it keys the firing's llm journal (per
    // attempt: a crash re-run gets the journaled answers back, a retry
    // after a failure asks again).
    let t = &net.transitions()[l.transition];
    let session = t.grants(Capability::Llm).then(|| {
        let caller = Caller {
            case: l.case.clone(),
            transition: t.name.clone(),
            firing: l.firing,
            key: JournalKey::from_seed(
                blake3::Hasher::new()
                    .update(&det.seed)
                    .update(&l.attempt.to_be_bytes())
                    .finalize()
                    .as_bytes(),
            ),
        };
        llm.session(caller, t.llm)
    });
    Ok(sandbox.call_with(guest, &firing, det, session).await)
}
