//! Transition `validate` of the order-approval net.
//!
//! Consumes a `submitted` order. Fires `valid`, putting the order into both
//! `credit_check` and `stock_check`, or `invalid`, putting a rejection into
//! `rejected` when the order has no amount or no items.

use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

/// The order payload, as submitted.
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    order_id: String,
    customer: String,
    amount_cents: u64,
    items: u32,
}

/// Why an order was turned down.
#[derive(Debug, Serialize, Deserialize)]
struct Rejection {
    order_id: String,
    reason: String,
}

struct Validate;

impl Transition for Validate {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let order: Order = firing.input("submitted")?;
        let problem = if order.amount_cents == 0 {
            Some("the amount is zero")
        } else if order.items == 0 {
            Some("the order has no items")
        } else {
            None
        };
        match problem {
            None => {
                log::info(format!(
                    "order {} of {} is valid",
                    order.order_id, order.customer
                ));
                Decision::fire("valid")
                    .token("credit_check", &order)?
                    .token("stock_check", &order)
            }
            Some(reason) => {
                log::info(format!("order {} is invalid: {reason}", order.order_id));
                let rejection = Rejection {
                    order_id: order.order_id,
                    reason: reason.to_owned(),
                };
                Decision::fire("invalid").token("rejected", &rejection)
            }
        }
    }
}

petrel_guest::transition!(Validate);

#[cfg(test)]
mod tests {
    use super::*;

    fn firing(amount_cents: u64, items: u32) -> Firing {
        let order = Order {
            order_id: "o-1".into(),
            customer: "ada".into(),
            amount_cents,
            items,
        };
        Firing::new("validate")
            .with_input("submitted", &order)
            .unwrap()
    }

    #[test]
    fn a_valid_order_goes_to_both_checks() {
        let decision = Validate::decide(firing(500, 2)).unwrap();
        assert_eq!(decision.outcome(), Some("valid"));
        let places: Vec<&str> = decision.outputs().iter().map(|t| t.place()).collect();
        assert_eq!(places, ["credit_check", "stock_check"]);
    }

    #[test]
    fn an_order_without_items_is_rejected() {
        let decision = Validate::decide(firing(500, 0)).unwrap();
        assert_eq!(decision.outcome(), Some("invalid"));
        let rejection: Rejection = decision.output("rejected").unwrap();
        assert_eq!(rejection.reason, "the order has no items");
    }
}
