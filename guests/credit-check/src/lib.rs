//! Transition `check_credit` of the order-approval net.
//!
//! Consumes a `credit_check` order. Fires `ok`, passing the order on to
//! `credit_ok`, when its amount is at most 1000.00; otherwise fires `refused`,
//! putting a refusal into `credit_refused`.

use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

/// Orders above this amount are refused.
const CREDIT_LIMIT_CENTS: u64 = 100_000;

/// The order payload, as submitted.
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    order_id: String,
    customer: String,
    amount_cents: u64,
    items: u32,
}

/// Why credit was refused.
#[derive(Debug, Serialize, Deserialize)]
struct Refusal {
    order_id: String,
    reason: String,
}

struct CheckCredit;

impl Transition for CheckCredit {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let order: Order = firing.input("credit_check")?;
        if order.amount_cents <= CREDIT_LIMIT_CENTS {
            log::info(format!("credit ok for order {}", order.order_id));
            Decision::fire("ok").token("credit_ok", &order)
        } else {
            let reason = format!(
                "amount {} cents exceeds the credit limit of {CREDIT_LIMIT_CENTS} cents",
                order.amount_cents
            );
            log::info(format!(
                "credit refused for order {}: {reason}",
                order.order_id
            ));
            let refusal = Refusal {
                order_id: order.order_id,
                reason,
            };
            Decision::fire("refused").token("credit_refused", &refusal)
        }
    }
}

petrel_guest::transition!(CheckCredit);
