//! The order payload of the order-fulfilment net, shared by its guests: each
//! step reads it and passes it on with its own field filled in.

use serde::{Deserialize, Serialize};

/// An order, passed along the whole flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    /// The order's id.
    pub order_id: String,
    /// What the customer pays.
    pub amount_cents: u64,
    /// Items to reserve and ship.
    pub items: u32,
    /// What the carrier will do: `ok`, `down` (fails, retryably), `reject`.
    #[serde(default)]
    pub carrier: String,
    /// Compensation attempts that fail before one succeeds (fault injection).
    #[serde(default)]
    pub undo_fails: u32,
    /// Set by `reserve_stock`.
    #[serde(default)]
    pub reservation: Option<String>,
    /// Set by `charge`.
    #[serde(default)]
    pub charge: Option<String>,
}
