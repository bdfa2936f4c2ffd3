//! Petrel host: runs Petri-net workflows whose transitions are decided by
//! WebAssembly guests.
//!
//! The same host the `petrel serve` daemon runs can live inside another
//! Rust service. A [`Host`] owns one data directory (a sled store and a
//! compiled-component cache) and a driver that fires cases as they start;
//! every operation that changes state is durable when its future resolves.
//! Workers perform `external = true` transitions through it: claim a firing
//! (a lease), act, complete it with a declared outcome.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use petrel::Host;
//! use petrel::engine::EngineConfig;
//! use petrel::host::{ClaimRequest, Completion, WorkToken};
//!
//! # async fn embed() -> Result<(), petrel::engine::EngineError> {
//! let host = Host::open(EngineConfig::new("./petrel-data")).await?;
//! // Deploy (idempotent: the version is the content hash of net + guests).
//! let net = host.deploy("examples/refund/net.toml".as_ref()).await?;
//! let request = serde_json::json!({ "request_id": "r-1", "message": "refund please" });
//! host.start_case(&net.name, "r-1", vec![("request_received".into(), request)])
//!     .await?;
//!
//! // A payment worker: waits up to 30 s for an approved refund to pay.
//! let claim = ClaimRequest {
//!     worker: "payments".into(),
//!     transition: Some("pay_refund".into()),
//!     wait_ms: 30_000,
//!     ..ClaimRequest::default()
//! };
//! if let Some(work) = host.claim(claim).await? {
//!     let order = work.inputs[0].payload.clone(); // ... pay it ...
//!     let paid = Completion {
//!         outcome: "paid".into(),
//!         tokens: vec![WorkToken { place: "refunded".into(), payload: order }],
//!     };
//!     host.complete(work.firing, &work.lease, paid).await?;
//! }
//!
//! let case = host.case("r-1")?;
//! println!("{} with {} token(s)", case.record.status.as_str(), case.tokens.len());
//! for letter in host.dead_letters()? {
//!     host.discard_dead_letter(letter.id, "ops", "handled by hand").await?;
//! }
//! // Stop firing, let firings in flight finish (up to 10 s), flush.
//! host.shutdown(Duration::from_secs(10)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! [`engine::Engine`] underneath runs batches instead (`petrel run`: fire
//! until nothing is enabled, then return). `host/examples/embed.rs` is a
//! whole program (`cargo run -p petrel --example embed`: the
//! order-fulfilment saga).
//!
//! # Layout
//!
//! Layers point one way: [`net`] → [`store`] → [`sandbox`] → [`engine`] →
//! [`host`] / [`server`] / the `petrel` binary.
//!
//! - [`net`]: net files, parsed and checked; [`verify`]: state-space checks.
//! - [`store`]: the contract the engine writes through, in the domain's
//!   words (deploy, start a case, reserve, commit a group of changes with
//!   their log records, dead letters, log pages), the records it keeps
//!   (pinned by snapshot tests), sled behind it, and a conformance suite.
//! - [`sandbox`]: wasmtime, one linker per capability set, limits.
//! - [`llm`]: the `llm` import's host side (providers, budgets, journal).
//! - [`engine`]: a state machine without I/O (`engine::core`: the marking,
//!   planning, settling, retries, sagas, offers) driven by one loop
//!   (`engine::driver`) for batch runs and the daemon alike.
//! - [`host`]: the engine with its daemon driver and external work;
//!   [`server`]: its HTTP API (`petrel serve`); [`config`]: `petrel.toml`;
//!   [`metrics`]: Prometheus metrics fed from the event log;
//!   [`telemetry`]: the spans of firings, LLM calls, HTTP requests and
//!   store commits (one case, one trace); [`limits`]: the host's ceilings
//!   on everything that comes from outside; [`retention`]: finished
//!   cases' log entries moved to archive files.
//!
//! One firing, start to commit:
//!
//! 1. A case's tokens enable a transition: the core reserves its inputs
//!    (payloads included) in the marking and makes a `Launch`.
//! 2. The reservation commits with the turn's other changes in one store
//!    transaction (`engine::commit`).
//! 3. The driver runs the guest in the sandbox, off the loop, from the
//!    launch alone.
//! 4. The core settles what the guest decided — checked against the
//!    transition's declared outcomes — into a `Change`: inputs consumed,
//!    outputs produced, the log record (or a retry, a dead letter, an abort).
//! 5. The next turn commits that change with the others settled meanwhile.
//! 6. A caller that acknowledges (an HTTP request, the end of a run) waits
//!    for the group flush.
#![deny(missing_docs)]

pub mod config;
pub mod engine;
pub mod host;
pub mod limits;
pub mod llm;
pub mod metrics;
pub mod net;
mod random;
pub mod retention;
pub mod sandbox;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod verify;

pub use host::Host;
pub use net::{Net, NetError};
