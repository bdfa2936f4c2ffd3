//! Transition `charge` of the order-fulfilment net: charges the customer
//! (compensated by `release_charge`).

use fulfil_types::Order;
use petrel_guest::{Decision, Error, Firing, Transition, log};

struct Charge;

impl Transition for Charge {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let mut order: Order = firing.input("stock_reserved")?;
        let charge = format!("CH-{}", order.order_id);
        log::info(format!(
            "charged {} cents for {} as {charge}",
            order.amount_cents, order.order_id
        ));
        order.charge = Some(charge);
        Decision::fire("charged").token("charged", &order)
    }
}

petrel_guest::transition!(Charge);
