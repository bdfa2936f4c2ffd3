//! Transition `reject` of the order-approval net.
//!
//! Consumes a `credit_refused` refusal and the order's `stock_reserved`
//! reservation (releasing it), and fires `rejected`, putting the rejection
//! into `rejected`.

use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

/// Why credit was refused; also the rejection produced.
#[derive(Debug, Serialize, Deserialize)]
struct Rejection {
    order_id: String,
    reason: String,
}

/// Stock set aside for an order.
#[derive(Debug, Serialize, Deserialize)]
struct Reservation {
    order_id: String,
    items: u32,
}

struct Reject;

impl Transition for Reject {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let refusal: Rejection = firing.input("credit_refused")?;
        let reservation: Reservation = firing.input("stock_reserved")?;
        log::info(format!(
            "order {} rejected, {} reserved items released: {}",
            refusal.order_id, reservation.items, refusal.reason
        ));
        Decision::fire("rejected").token("rejected", &refusal)
    }
}

petrel_guest::transition!(Reject);
