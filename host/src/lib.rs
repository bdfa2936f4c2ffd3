//! Petrel host: runs Petri-net workflows whose transitions are decided by
//! WebAssembly guests.
//!
//! The same engine the `petrel` binary drives can live inside another Rust
//! service. An [`Engine`](engine::Engine) owns one data directory (a sled
//! store and a compiled-component cache); every operation that changes
//! state is durable when its future resolves.
//!
//! ```no_run
//! use petrel::engine::{Engine, EngineConfig, RunOptions};
//! use petrel::store::{CaseStatus, Owner};
//!
//! # async fn embed() -> Result<(), petrel::engine::EngineError> {
//! let engine = Engine::open(EngineConfig::new("./petrel-data")).await?;
//! // Deploy (idempotent: the version is the content hash of net + guests).
//! let net = engine
//!     .deploy("examples/order-fulfilment/net.toml".as_ref())
//!     .await?;
//! let order = serde_json::json!({ "order_id": "o-1", "amount_cents": 1250, "items": 2, "carrier": "ok" });
//! engine
//!     .start_case(&net.version, "o-1", vec![("order".into(), order)])
//!     .await?;
//! // Fire until nothing is enabled (retries wait on durable timers).
//! let summary = engine.run(RunOptions::default()).await?;
//! assert_eq!(summary.cases.get("completed"), Some(&1));
//!
//! let case = engine.store().case("o-1")?.expect("started above");
//! assert_eq!(case.status, CaseStatus::Completed);
//! for token in engine.store().tokens(&Owner::Case("o-1".into()))? {
//!     println!("{} = {}", token.place, petrel::engine::decode_payload(&token.payload));
//! }
//! for letter in engine.dead_letters()? {
//!     engine.discard_dead_letter(letter.id, "handled by hand").await?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! `host/examples/embed.rs` is the same flow as a program (`cargo run -p
//! petrel --example embed`). Modules: [`net`] (net files), [`sandbox`]
//! (wasmtime), [`store`] (sled), [`engine`] (firing, retries, sagas),
//! [`llm`] (the `llm` import's host side), [`config`] (`petrel.toml`),
//! [`verify`] (state-space checks).
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
