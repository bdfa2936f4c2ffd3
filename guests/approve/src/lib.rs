//! Transition `approve` of the order-approval net.
//!
//! Consumes a `credit_ok` order, its `stock_reserved` reservation and a
//! shared `reviewer` token. Fires `approved`, putting the approval into
//! `approved` and the reviewer token, unchanged, back into `reviewer`.

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

/// Stock set aside for an order.
#[derive(Debug, Serialize, Deserialize)]
struct Reservation {
    order_id: String,
    items: u32,
}

/// A reviewer, shared by all cases.
#[derive(Debug, Serialize, Deserialize)]
struct Reviewer {
    name: String,
}

/// The approval.
#[derive(Debug, Serialize, Deserialize)]
struct Approval {
    order_id: String,
    amount_cents: u64,
    reviewer: String,
}

struct Approve;

impl Transition for Approve {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let order: Order = firing.input("credit_ok")?;
        let reservation: Reservation = firing.input("stock_reserved")?;
        // The shared reviewer token goes back exactly as it came, with any
        // fields this guest does not read.
        let reviewer_token = firing.token("reviewer")?;
        let reviewer: Reviewer = reviewer_token.decode()?;
        if reservation.order_id != order.order_id {
            return Err(Error::fatal(format!(
                "reservation `{}` is not for order `{}`",
                reservation.order_id, order.order_id
            )));
        }
        log::info(format!(
            "order {} approved by {}",
            order.order_id, reviewer.name
        ));
        let approval = Approval {
            order_id: order.order_id,
            amount_cents: order.amount_cents,
            reviewer: reviewer.name,
        };
        Decision::fire("approved")
            .token("approved", &approval)?
            .token_bytes("reviewer", reviewer_token.payload().to_vec())
    }
}

petrel_guest::transition!(Approve);
