//! The compensations of the order-fulfilment net, run by the host when a
//! case aborts, newest completed firing first:
//!
//! - `release_charge` undoes `charge`: a reversal into `charge_reversals`;
//! - `release_stock` undoes `reserve_stock`: a release into `stock_releases`.
//!
//! Deterministic: no `llm`. The order's `undo_fails` makes the first
//! attempts fail retryably (fault injection for tests).

use fulfil_types::Order;
use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

/// A reversal (of a charge or a reservation).
#[derive(Debug, Serialize, Deserialize)]
struct Reversal {
    order_id: String,
    reverses: String,
    amount_cents: u64,
    items: u32,
}

struct Undo;

impl Transition for Undo {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let done = firing
            .compensated()
            .ok_or_else(|| Error::fatal("only runs as a compensation"))?;
        let (place, outcome, output) = match firing.transition() {
            "release_charge" => ("charge_reversals", "reversed", "charged"),
            "release_stock" => ("stock_releases", "released", "stock_reserved"),
            other => return Err(Error::fatal(format!("unknown compensation `{other}`"))),
        };
        let order: Order = done.output(output)?;
        if firing.attempt() <= order.undo_fails {
            return Err(Error::retryable(format!(
                "{} of {} failed on attempt {}",
                firing.transition(),
                order.order_id,
                firing.attempt()
            )));
        }
        let reverses = match place {
            "charge_reversals" => order.charge.clone(),
            _ => order.reservation.clone(),
        }
        .unwrap_or_default();
        log::info(format!(
            "{}: reversing {reverses} of {} (it fired `{}`)",
            firing.transition(),
            order.order_id,
            done.outcome()
        ));
        let reversal = Reversal {
            order_id: order.order_id,
            reverses,
            amount_cents: order.amount_cents,
            items: order.items,
        };
        Decision::fire(outcome).token(place, &reversal)
    }
}

petrel_guest::transition!(Undo);
