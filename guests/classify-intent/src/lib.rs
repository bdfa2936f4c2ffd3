//! Transition `classify_intent` of the refund flow: asks the host's language
//! model whether a customer's message asks for a refund.
//!
//! Consumes a `request_received` token
//! `{request_id, customer, order_id, message, order_age_days, amount_cents}`
//! and fires, by the model's answer:
//!
//! - `refund`: `{request, intent, reason}` into `to_check`;
//! - `not_refund`: `{request, intent, reason}` into `closed`;
//! - `unsure` (the model said so, or its answer was unusable, or the llm
//!   budget or call timeout ran out): the request, unchanged, into
//!   `human_handoff` — the same token the host puts there itself
//!   (`on_timeout`) when the firing's deadline passes.
//!
//! Rate limits and provider errors fail the firing (retryable): the request
//! stays where it is.
//!
//! Imports `petrel:transition/llm`: grant it.

use petrel_guest::llm::{self, LlmError, Request};
use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

const SYSTEM: &str = "You triage customer messages for an online shop. Decide whether the customer asks for their money back. Answer only with JSON: {\"intent\": \"refund\" | \"not_refund\" | \"unsure\", \"reason\": \"<one short sentence>\"}. Answer \"unsure\" when the message is ambiguous.";

const SCHEMA: &str = r#"{"type":"object","properties":{"intent":{"type":"string","enum":["refund","not_refund","unsure"]},"reason":{"type":"string"}},"required":["intent","reason"],"additionalProperties":false}"#;

/// A customer's request, as it arrives.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RefundRequest {
    request_id: String,
    customer: String,
    order_id: String,
    message: String,
    order_age_days: u32,
    amount_cents: u64,
}

/// What the model decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Intent {
    Refund,
    NotRefund,
    Unsure,
}

#[derive(Debug, Deserialize)]
struct Verdict {
    intent: Intent,
    reason: String,
}

/// A classified request.
#[derive(Debug, Serialize, Deserialize)]
struct Classified {
    request: RefundRequest,
    intent: Intent,
    reason: String,
}

struct ClassifyIntent;

fn hand_off(request: &RefundRequest, why: &str) -> Result<Decision, Error> {
    log::info(format!(
        "{}: handing over to a human: {why}",
        request.request_id
    ));
    Decision::fire("unsure").token("human_handoff", request)
}

impl Transition for ClassifyIntent {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let request: RefundRequest = firing.input("request_received")?;
        let asked = llm::ask_json::<Verdict>(
            Request::new()
                .system(SYSTEM)
                .user(request.message.clone())
                .max_output_tokens(60)
                .temperature(0.0)
                .json_schema(SCHEMA),
        );
        let verdict = match asked {
            Ok(v) => v,
            Err(
                err @ (LlmError::InvalidAnswer { .. }
                | LlmError::BudgetExceeded
                | LlmError::Timeout
                | LlmError::RefusedByPolicy(_)),
            ) => return hand_off(&request, &err.to_string()),
            Err(err) => return Err(err.into()),
        };
        log::info(format!(
            "{}: {:?} ({})",
            request.request_id, verdict.intent, verdict.reason
        ));
        let classified = Classified {
            request: request.clone(),
            intent: verdict.intent,
            reason: verdict.reason,
        };
        match verdict.intent {
            Intent::Refund => Decision::fire("refund").token("to_check", &classified),
            Intent::NotRefund => Decision::fire("not_refund").token("closed", &classified),
            Intent::Unsure => hand_off(&request, &classified.reason),
        }
    }
}

petrel_guest::transition!(ClassifyIntent);
