//! Transition `ship` of the order-fulfilment net: hands the parcel to the
//! carrier. The order's `carrier` field plays the carrier: `down` fails
//! every attempt retryably (the host retries, then aborts the case and
//! compensates), `reject` fails fatally at once.

use fulfil_types::Order;
use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

/// What lands in `shipped`.
#[derive(Debug, Serialize, Deserialize)]
struct Shipment {
    order_id: String,
    tracking: String,
}

struct Ship;

impl Transition for Ship {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let order: Order = firing.input("charged")?;
        match order.carrier.as_str() {
            "down" => Err(Error::retryable(format!(
                "carrier unreachable for {} (attempt {})",
                order.order_id,
                firing.attempt()
            ))),
            "reject" => Err(Error::fatal(format!("carrier rejected {}", order.order_id))),
            _ => {
                log::info(format!("shipped {}", order.order_id));
                let shipment = Shipment {
                    tracking: format!("TRK-{}", order.order_id),
                    order_id: order.order_id,
                };
                Decision::fire("shipped").token("shipped", &shipment)
            }
        }
    }
}

petrel_guest::transition!(Ship);
