//! Transition `check_eligibility` of the refund flow: a deterministic rule
//! on order age and amount, no model.
//!
//! Consumes a `to_check` token `{request, intent, reason}` (from
//! `classify_intent`). Fires `approve`, putting a refund order
//! `{request_id, order_id, customer, amount_cents}` into `refund_orders` (for
//! the payment worker), when the order is at most 30 days old and at most
//! 500.00; otherwise fires `deny`, putting `{request_id, order_id, reason}`
//! into `denied`.

use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

/// Orders older than this are not refunded.
const MAX_AGE_DAYS: u32 = 30;
/// Orders above this amount need a human, not this rule.
const MAX_AMOUNT_CENTS: u64 = 50_000;

#[derive(Debug, Deserialize)]
struct RefundRequest {
    request_id: String,
    customer: String,
    order_id: String,
    order_age_days: u32,
    amount_cents: u64,
}

#[derive(Debug, Deserialize)]
struct Classified {
    request: RefundRequest,
}

/// What the payment worker gets.
#[derive(Debug, Serialize)]
struct RefundOrder {
    request_id: String,
    order_id: String,
    customer: String,
    amount_cents: u64,
}

/// Why a refund was denied.
#[derive(Debug, Serialize)]
struct Denial {
    request_id: String,
    order_id: String,
    reason: String,
}

struct CheckEligibility;

impl Transition for CheckEligibility {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let Classified { request: r } = firing.input("to_check")?;
        let reason = if r.order_age_days > MAX_AGE_DAYS {
            Some(format!(
                "the order is {} days old (refunds within {MAX_AGE_DAYS} days)",
                r.order_age_days
            ))
        } else if r.amount_cents > MAX_AMOUNT_CENTS {
            Some(format!(
                "{} cents is above the {MAX_AMOUNT_CENTS} cents refund limit",
                r.amount_cents
            ))
        } else {
            None
        };
        match reason {
            None => {
                log::info(format!(
                    "{}: refund of {} cents approved",
                    r.request_id, r.amount_cents
                ));
                let order = RefundOrder {
                    request_id: r.request_id,
                    order_id: r.order_id,
                    customer: r.customer,
                    amount_cents: r.amount_cents,
                };
                Decision::fire("approve").token("refund_orders", &order)
            }
            Some(reason) => {
                log::info(format!("{}: refund denied: {reason}", r.request_id));
                let denial = Denial {
                    request_id: r.request_id,
                    order_id: r.order_id,
                    reason,
                };
                Decision::fire("deny").token("denied", &denial)
            }
        }
    }
}

petrel_guest::transition!(CheckEligibility);
