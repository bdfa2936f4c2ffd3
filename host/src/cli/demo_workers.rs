//! The people and programs outside the sandbox in `petrel demo`'s refund
//! flow: the payment worker, and the reviewer at the dashboard's inbox.

use petrel::Host;
use petrel::engine::EngineError;
use petrel::host::{ClaimRequest, Completion, WorkToken};
use petrel::store::Event;
use serde_json::json;

/// The payment worker of the refund demo: claims each approved refund,
/// "pays" it, and completes the firing with `paid`.
pub(crate) async fn pay_refunds(host: Host) -> Result<(), EngineError> {
    loop {
        let request = ClaimRequest {
            worker: "payments-demo".into(),
            transition: Some("pay_refund".into()),
            wait_ms: 1_000,
            ..ClaimRequest::default()
        };
        let Some(item) = host.claim(request).await? else {
            continue;
        };
        let mut receipt = item.inputs[0].payload.clone();
        receipt["payment_id"] = json!(format!("pay-{}", item.case));
        println!(
            "payment worker: claimed firing {} of case {}, paying {} cents",
            item.firing, item.case, receipt["amount_cents"]
        );
        let completion = Completion {
            outcome: "paid".into(),
            tokens: vec![WorkToken {
                place: "refunded".into(),
                payload: receipt,
            }],
        };
        host.complete(item.firing, &item.lease, completion).await?;
    }
}

/// The reviewer of the refund demo, doing what a person does in the
/// dashboard's inbox: claims each `review_refund` task, reads the case's
/// history, and refunds a request the model ran out of time on (the
/// message is clear enough to a person) or closes one it was unsure of.
pub(crate) async fn review_refunds(host: Host) -> Result<(), EngineError> {
    loop {
        let request = ClaimRequest {
            worker: "reviewer-demo".into(),
            transition: Some("review_refund".into()),
            wait_ms: 1_000,
            ..ClaimRequest::default()
        };
        let Some(item) = host.claim(request).await? else {
            continue;
        };
        let history = host.history(&item.case, 0, 1000)?;
        let timed_out = history.events.iter().any(|e| {
            matches!(&e.event, Event::FiringCompleted { transition, timed_out: true, .. } if transition == "classify_intent")
        });
        let request = &item.inputs[0].payload;
        let (outcome, place, payload) = if timed_out {
            let amount = request["amount_cents"].clone();
            let note = "refunded by a reviewer after the model timed out";
            (
                "refund",
                "refunded",
                json!({ "amount_cents": amount, "note": note }),
            )
        } else {
            let reason = "the model was unsure; asked the customer for details";
            ("close", "closed", json!({ "reason": reason }))
        };
        println!(
            "reviewer (a person at the inbox): claimed firing {} of case {}, chose `{outcome}`",
            item.firing, item.case
        );
        let completion = Completion {
            outcome: outcome.into(),
            tokens: vec![WorkToken {
                place: place.into(),
                payload,
            }],
        };
        host.complete(item.firing, &item.lease, completion).await?;
    }
}
