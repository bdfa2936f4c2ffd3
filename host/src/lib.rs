//! Petrel host: runs Petri-net workflows whose transitions are decided by
//! WebAssembly guests.
#![deny(missing_docs)]

pub mod config;
pub mod engine;
pub mod llm;
pub mod net;
mod random;
pub mod sandbox;
pub mod store;
pub mod verify;

pub use net::{Net, NetError};
