//! The one place the host generates bindings for `wit/`.
//!
//! Imports are async (an `llm` call awaits the provider) and trappable: the
//! outer `wasmtime::Result` traps the guest, the inner result goes back to it.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "transition",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::petrel::transition::types::{Compensated, Fire, Token};
pub use self::petrel::transition::{llm, log};
