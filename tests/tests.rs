//! End-to-end tests: real guests built from `guests/` (and Python and
//! TypeScript guests built by `petrel build`), a real sled store in a temp
//! dir, the real `petrel` binary.

mod browser;
mod check;
mod cli;
mod crash;
mod engine;
mod failure;
mod fuzz;
mod hardening;
mod host;
mod llm;
mod mcc;
mod poly;
mod postgres;
mod retention;
mod sandbox;
mod server;
mod telemetry;
mod util;
