//! Transition `reserve_stock` of the order-approval net.
//!
//! Consumes a `stock_check` order and fires `reserved`, putting a reservation
//! into `stock_reserved`.

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

struct ReserveStock;

impl Transition for ReserveStock {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let order: Order = firing.input("stock_check")?;
        log::info(format!(
            "reserved {} items for order {}",
            order.items, order.order_id
        ));
        let reservation = Reservation {
            order_id: order.order_id,
            items: order.items,
        };
        Decision::fire("reserved").token("stock_reserved", &reservation)
    }
}

petrel_guest::transition!(ReserveStock);
