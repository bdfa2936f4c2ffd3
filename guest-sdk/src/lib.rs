//! Write [Petrel](https://example.invalid/petrel) transitions as WebAssembly
//! components.
//!
//! A Petrel transition is a component whose only power is its answer: the host
//! hands it the tokens it consumed for one firing, and it decides which declared
//! outcome fires with which token payloads, declines, or aborts the case. It
//! never writes anything itself.
//!
//! This crate hides the generated bindings of `wit/transition.wit`: implement
//! [`Transition`] for a type and export it with [`transition!`]. Payloads are
//! MessagePack; [`Firing::input`] decodes them into your serde types and
//! [`Decision::token`] encodes them (structs as maps, so the host can show them
//! as JSON).
//!
//! ```
//! use petrel_guest::{Decision, Error, Firing, Transition};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Order {
//!     order_id: String,
//!     amount_cents: u64,
//! }
//!
//! struct CheckCredit;
//!
//! impl Transition for CheckCredit {
//!     fn decide(firing: Firing) -> Result<Decision, Error> {
//!         let order: Order = firing.input("credit_check")?;
//!         petrel_guest::log::info(format!("checking {}", order.order_id));
//!         if order.amount_cents <= 100_000 {
//!             Decision::fire("ok").token("credit_ok", &order)
//!         } else {
//!             Ok(Decision::abort("amount too large"))
//!         }
//!     }
//! }
//!
//! petrel_guest::transition!(CheckCredit);
//! #
//! # fn main() -> Result<(), Error> {
//! # let order = Order { order_id: "o-1".into(), amount_cents: 500 };
//! # let firing = Firing::new("check_credit").with_input("credit_check", &order)?;
//! # let decision = CheckCredit::decide(firing)?;
//! # assert_eq!(decision.outcome(), Some("ok"));
//! # Ok(())
//! # }
//! ```
//!
//! Build a guest crate (`crate-type = ["cdylib"]`) with
//! `cargo build --release --target wasm32-wasip2`.
//!
//! # Capabilities
//!
//! A component imports only what it uses, and the host refuses at deploy a
//! component importing an interface its transition was not granted. Calling
//! [`log`] imports `petrel:transition/log`; calling [`llm`] imports
//! `petrel:transition/llm`, which needs `llm` granted in the net file. Reading
//! files or opening sockets through `std` imports WASI interfaces that no
//! transition is ever granted.
//!
//! Outside WebAssembly (unit tests on the build machine) there is no host:
//! [`log`] prints to stderr and [`llm::complete`] returns
//! [`LlmError::NotConfigured`].
//!
//! # Layout
//!
//! - [`Firing`], [`Token`]: what the host hands to `decide`.
//! - [`Decision`]: the outcome builder.
//! - [`Error`]: a failed firing, retryable or not.
//! - [`log`], [`llm`]: the host's imports.
//! - [`Transition`], [`transition!`]: the export.

#![deny(missing_docs)]

// The generated bindings name the runtime as `::petrel_guest::wit_bindgen::rt`,
// a path that must resolve both here and in guest crates.
extern crate self as petrel_guest;

mod decision;
mod error;
mod export;
mod firing;
pub mod llm;
pub mod log;

pub use decision::Decision;
pub use error::Error;
#[doc(hidden)]
pub use export::__decide;
pub use export::Transition;
pub use firing::{Compensated, Firing, Token};
pub use llm::LlmError;

/// Bindings generated from `wit/transition.wit`; used by [`transition!`] only.
#[doc(hidden)]
pub mod wit {
    #![allow(missing_docs, clippy::too_many_arguments)]

    wit_bindgen::generate!({
        world: "transition",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__petrel_export",
        default_bindings_module: "::petrel_guest::wit",
        runtime_path: "::petrel_guest::wit_bindgen::rt",
    });

    pub use petrel::transition::{llm, log, types};
}

#[doc(hidden)]
pub use wit_bindgen;
