//! Transition `charge` of the order-fulfilment net: charges the customer
//! (compensated by `release_charge`).

use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

/// The order as `reserve_stock` passed it on, plus the charge.
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    order_id: String,
    amount_cents: u64,
    items: u32,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    undo_fails: u32,
    #[serde(default)]
    reservation: Option<String>,
    #[serde(default)]
    charge: Option<String>,
}

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
