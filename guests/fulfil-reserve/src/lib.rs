//! Transition `reserve_stock` of the order-fulfilment net: sets stock aside
//! for an order (compensated by `release_stock`).

use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

/// An order, passed along the whole flow.
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    order_id: String,
    amount_cents: u64,
    items: u32,
    /// What the carrier will do: `ok`, `down` (fails, retryably), `reject`.
    #[serde(default)]
    carrier: String,
    /// Compensation attempts that fail before one succeeds (fault injection).
    #[serde(default)]
    undo_fails: u32,
    #[serde(default)]
    reservation: Option<String>,
}

struct Reserve;

impl Transition for Reserve {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let mut order: Order = firing.input("order")?;
        let reservation = format!("R-{}", order.order_id);
        log::info(format!(
            "reserved {} item(s) for {} as {reservation}",
            order.items, order.order_id
        ));
        order.reservation = Some(reservation);
        Decision::fire("reserved").token("stock_reserved", &order)
    }
}

petrel_guest::transition!(Reserve);
