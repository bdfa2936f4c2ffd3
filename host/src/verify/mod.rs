//! Verification: explicit state-space exploration of place/transition nets,
//! and what it means for Petrel workflows.
//!
//! Every net is checked as a plain [`PtNet`]: PNML files are read by
//! [`pnml`], Petrel net files are translated by [`workflow`], where each
//! declared outcome of a transition becomes a P/T transition of its own, so
//! the check covers every answer a guest, an LLM or a worker can give.
//!
//! Two engines visit every reachable marking breadth first, so a property's
//! first witness has a shortest firing sequence: [`StateSpace`] packs each
//! marking into a few bits per place (fastest on nets of up to thousands of
//! places), [`SparseSpace`] stores only the marked places (nets of any size,
//! and the workflow check, whose aborts reset places). Both stay within
//! [`Options::max_memory`] and answer `inconclusive` rather than run out.
//! [`analyse`] turns an exploration into the Model Checking Contest's
//! answers ([`Answers`]): liveness from the bottom strongly connected
//! components, boundedness from Karp–Miller coverability when exploration
//! finds a marking that covers an ancestor.
//!
//! # Layout
//!
//! | module | noun |
//! | --- | --- |
//! | `ptnet` | the plain P/T net |
//! | `pnml` | PNML import (plain or gzip) |
//! | `exploration` | bounds, stop reasons, summary shared by both engines |
//! | `layout` | bit-packed markings |
//! | `rules` | firing rules compiled for a layout |
//! | `table` | the visited set |
//! | `invariants` | place invariants, token bounds before exploring |
//! | `explore` | breadth-first exploration (packed) |
//! | `trace` | firing sequences along the breadth-first tree |
//! | `sparse` | the sparse engine: encoding, visited set, rules, components |
//! | `reversibility` | whether every marking reaches the initial one back |
//! | `scc` | liveness from strongly connected components |
//! | `coverability` | Karp–Miller, unbounded places |
//! | `analysis` | the contest's answers |
//! | `workflow` | Petrel nets as P/T nets; soundness: deadlocks, livelocks, improper completion, dead outcomes |
//! | `gate` | the check a deploy runs first |
//! | `lint` | structural lints (`P001`…) |
//! | `graph` | Mermaid and DOT drawings |
//! | `column`, `progress` | chunked `u32` columns; the progress bar |

mod analysis;
mod column;
mod coverability;
mod exploration;
mod explore;
mod gate;
mod graph;
mod invariants;
mod layout;
mod lint;
pub mod pnml;
mod progress;
mod ptnet;
mod reversibility;
mod rules;
mod scc;
mod sparse;
mod table;
mod trace;
mod workflow;

pub use analysis::{Analysis, Answers, Cost, analyse, finish, finish_sparse};
pub use coverability::{Unbounded, unbounded_places};
pub use exploration::{
    Engine, MAX_STATES, MIN_MEMORY, Observer, Options, SPARSE_PLACES, StateId, Stop, Summary,
    default_max_memory, parse_bytes,
};
pub use explore::StateSpace;
pub use gate::{
    DEFAULT_GATE_CASES, DEFAULT_GATE_SECONDS, GateError, GateOptions, GateReport, deploy_gate,
    deploy_gate_async,
};
pub use graph::{GraphFormat, render};
pub use lint::{Imports, Lint, lint};
pub use pnml::PnmlError;
pub use ptnet::{BuildError, Node, PlaceId, PtNet, PtPlace, PtTransition, TransitionId};
pub use sparse::SparseSpace;
pub use workflow::{
    Move, Origin, Problem, Report, Run, Slot, Step, Tokens, Translation, check, translate,
};
