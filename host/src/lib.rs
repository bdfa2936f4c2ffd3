//! Petrel host: runs Petri-net workflows whose transitions are decided by
//! WebAssembly guests.
#![deny(missing_docs)]

pub mod engine;
pub mod net;
pub mod sandbox;
pub mod store;

pub use net::{Net, NetError};
