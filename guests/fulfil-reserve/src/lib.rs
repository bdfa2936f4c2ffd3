//! Transition `reserve_stock` of the order-fulfilment net: sets stock aside
//! for an order (compensated by `release_stock`).

use fulfil_types::Order;
use petrel_guest::{Decision, Error, Firing, Transition, log};

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
