//! Verification: explicit state-space exploration of place/transition nets,
//! and what it means for Petrel workflows.
//!
//! Every net is checked as a plain [`PtNet`]: PNML files are read by
//! [`pnml`], Petrel net files are translated by [`workflow`], where each
//! declared outcome of a transition becomes a P/T transition of its own, so
//! the check covers every answer a guest, an LLM or a worker can give.
//!
//! [`StateSpace::explore`] visits every reachable marking breadth first, in
//! a compact table of bit-packed markings, so a property's first witness has
//! a shortest firing sequence. [`analyse`] turns an exploration into the
//! Model Checking Contest's answers ([`Answers`]): liveness from the bottom
//! strongly connected components, boundedness from Karp–Miller coverability
//! when exploration finds a marking that covers an ancestor.
//!
//! # Layout
//!
//! | module | noun |
//! | --- | --- |
//! | `ptnet` | the plain P/T net |
//! | `pnml` | PNML import |
//! | `layout` | bit-packed markings |
//! | `rules` | firing rules compiled for a layout |
//! | `table` | the visited set |
//! | `invariants` | place invariants, token bounds before exploring |
//! | `explore` | breadth-first exploration |
//! | `trace` | firing sequences along the breadth-first tree |
//! | `reversibility` | whether every marking reaches the initial one back |
//! | `scc` | liveness from strongly connected components |
//! | `coverability` | Karp–Miller, unbounded places |
//! | `analysis` | the contest's answers |
//! | `workflow` | Petrel nets as P/T nets; deadlocks, improper completion, dead outcomes |
//! | `lint` | structural lints (`P001`…) |
//! | `graph` | Mermaid and DOT drawings |
//! | `column`, `progress` | chunked `u32` columns; the progress bar |

mod analysis;
mod column;
mod coverability;
mod explore;
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
mod table;
mod trace;
mod workflow;

pub use analysis::{Analysis, Answers, Cost, analyse, finish};
pub use coverability::{Unbounded, unbounded_places};
pub use explore::{MAX_STATES, Observer, Options, StateId, StateSpace, Stop};
pub use graph::{GraphFormat, render};
pub use lint::{Imports, Lint, lint};
pub use pnml::PnmlError;
pub use ptnet::{BuildError, Node, PlaceId, PtNet, PtPlace, PtTransition, TransitionId};
pub use workflow::{Origin, Problem, Report, Run, Step, Tokens, Translation, check, translate};
