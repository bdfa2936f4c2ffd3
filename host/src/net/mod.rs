//! Nets: the model a net file describes, parsed and checked.
//!
//! A net file is TOML:
//!
//! ```toml
//! [net]
//! name = "order-approval"
//!
//! [places.submitted]
//! start = true            # a case starts with one token here
//! [places.reviewer]
//! shared = true           # case-less resource tokens
//! initial = [{ name = "ana" }]
//! [places.approved]
//! final = true            # tokens here end a case
//!
//! [transitions.approve]
//! guest = "approve.wasm"  # relative to the net file; or `external = true`
//! inputs = { submitted = 1, reviewer = 1 }
//! outcomes.approved = { approved = 1, reviewer = 1 }
//! capabilities = ["log"]
//! timeout_ms = 2000
//! ```
//!
//! A transition granted `llm` may bound its model calls with an `llm` table
//! (see [`LlmPolicy`]): `llm = { max_calls = 3, max_tokens = 2000,
//! case_token_budget = 20000, call_timeout_ms = 8000 }`.
//!
//! An external transition (`external = true`) is performed through the
//! work API; `human = true` says people perform it (the dashboard's
//! inbox), and a `[transitions.NAME.forms.OUTCOME]` table gives the JSON
//! Schema of what they fill in for an outcome. With `on_timeout`, an offer
//! nobody claims within `offer_timeout_ms` (default a day) takes that
//! outcome.
//!
//! Failed firings are retried under a `retry` table (see [`RetryPolicy`]).
//! A transition may name a `compensate = "undo_it"` transition, declared with
//! `compensation = true` and no inputs, that runs when the case aborts.
//!
//! [`Net::load`] refuses an inconsistent net with a [`NetError`] naming the
//! file, line and field. Guest components are not read here: deploying a net
//! (the sandbox) loads and checks them.

mod error;
mod llm_policy;
mod parse;
mod retry_policy;

use std::path::{Path, PathBuf};

pub use error::NetError;
pub(crate) use error::line_at;

use crate::limits::HostLimits;
pub use llm_policy::{
    DEFAULT_LLM_CASE_TOKEN_BUDGET, DEFAULT_LLM_MAX_CALLS, DEFAULT_LLM_MAX_TOKENS, LlmPolicy,
};
pub use parse::{DEFAULT_OFFER_TIMEOUT_MS, MAX_FORM_BYTES, MAX_OFFER_TIMEOUT_MS};
pub use retry_policy::{
    DEFAULT_INITIAL_DELAY_MS, DEFAULT_JITTER, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY_MS,
    DEFAULT_MULTIPLIER, FailureClass, OnExhausted, RetryPolicy,
};

/// Default wall-clock deadline of one guest call.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// Default cap on a guest's linear memory.
pub const DEFAULT_MEMORY_MB: u32 = 64;
/// Default instruction budget (wasmtime fuel) of one guest call.
pub const DEFAULT_FUEL: u64 = 2_000_000_000;
/// Default cap on the total payload bytes a guest may return.
pub const DEFAULT_MAX_OUTPUT_KB: u32 = 1024;

/// A parsed, consistent net.
#[derive(Debug, Clone)]
pub struct Net {
    name: String,
    description: Option<String>,
    /// `[net] retry`: whole cases started again after they end aborted or
    /// stuck.
    retry: Option<RetryPolicy>,
    /// `[regions.NAME]`: branches that abort on their own.
    regions: Vec<Region>,
    places: Vec<Place>,
    transitions: Vec<Transition>,
    file: PathBuf,
    source: String,
}

/// A place: holds tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Name, unique among places and transitions.
    pub name: String,
    /// Most tokens the place may hold (per case; for a shared place, in all).
    pub capacity: Option<u32>,
    /// Case-less resource tokens, shared by every case of the net version.
    pub shared: bool,
    /// Tokens here end a case.
    pub is_final: bool,
    /// A case starts with one token here.
    pub start: bool,
    /// Payloads of the resource tokens a shared place holds when the net is deployed.
    pub initial: Vec<serde_json::Value>,
    /// Line of the place's table in the net file.
    pub line: usize,
}

/// A weighted arc between a transition and a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arc {
    /// Index of the place in [`Net::places`].
    pub place: usize,
    /// Tokens moved along the arc per firing (at least 1).
    pub weight: u32,
}

/// A named, declared set of output arcs; a decision picks one.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Name, unique within its transition.
    pub name: String,
    /// Tokens the outcome produces, by place.
    pub outputs: Vec<Arc>,
    /// The form a person fills to complete an external transition with
    /// this outcome: a JSON Schema each produced token's payload must meet
    /// (`[transitions.NAME.forms.OUTCOME]`).
    pub form: Option<serde_json::Value>,
    /// Line of the outcome in the net file.
    pub line: usize,
}

/// Who decides a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Performer {
    /// A WebAssembly component run by the host.
    Guest {
        /// Path as written in the net file.
        declared: String,
        /// The path resolved against the net file's directory.
        path: PathBuf,
    },
    /// A trusted worker or a human, through the API.
    External,
}

/// An import a guest may use, granted per transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// `petrel:transition/log`, granted to every guest.
    Log,
    /// `petrel:transition/llm`.
    Llm,
}

impl Capability {
    /// The capability's name in net files.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Log => "log",
            Capability::Llm => "llm",
        }
    }

    /// The WIT interface (without version) the capability links.
    pub fn interface(self) -> &'static str {
        match self {
            Capability::Log => "petrel:transition/log",
            Capability::Llm => "petrel:transition/llm",
        }
    }
}

/// Bounds on one guest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline.
    pub timeout_ms: u64,
    /// Linear-memory cap.
    pub memory_mb: u32,
    /// Instruction budget (wasmtime fuel).
    pub fuel: u64,
    /// Cap on the total payload bytes of a decision.
    pub max_output_kb: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            memory_mb: DEFAULT_MEMORY_MB,
            fuel: DEFAULT_FUEL,
            max_output_kb: DEFAULT_MAX_OUTPUT_KB,
        }
    }
}

impl Limits {
    /// These bounds, each cut to the host's ceiling.
    pub fn within(self, ceiling: &HostLimits) -> Limits {
        Limits {
            timeout_ms: self.timeout_ms.min(ceiling.timeout_ms),
            memory_mb: self.memory_mb.min(ceiling.memory_mb),
            fuel: self.fuel.min(ceiling.fuel),
            max_output_kb: self.max_output_kb.min(ceiling.max_output_kb),
        }
    }
}

/// A branch of a case that aborts on its own (`[regions.NAME]`): when a
/// firing of one of its transitions (those consuming from its places)
/// aborts, the region's tokens and its firings' dead letters go, the
/// completed compensable firings of its transitions are compensated,
/// newest first, and one token goes to `on_abort`, whose payload is
/// `{region, transition, reason}`. The rest of the case runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Name, unique among places, transitions and regions.
    pub name: String,
    /// Its places (case places, none start or final), in file order.
    pub places: Vec<usize>,
    /// Where the case takes over after the region aborts.
    pub on_abort: usize,
    /// Line of the region's name in the net file.
    pub line: usize,
}

/// A transition: consumes its inputs and fires one of its outcomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// Name, unique among places and transitions.
    pub name: String,
    /// Guest component or external worker.
    pub performer: Performer,
    /// Tokens consumed per firing, by place.
    pub inputs: Vec<Arc>,
    /// Declared outcomes, in file order.
    pub outcomes: Vec<Outcome>,
    /// Imports granted to the guest (always includes [`Capability::Log`]).
    pub capabilities: Vec<Capability>,
    /// Bounds on each guest call.
    pub limits: Limits,
    /// Index into `outcomes` of the outcome the host fires itself when the
    /// deadline passes, moving the inputs unchanged.
    pub on_timeout: Option<usize>,
    /// Bounds on language-model calls (the `llm` table; defaults when
    /// absent; used only when the transition is granted `llm`).
    pub llm: LlmPolicy,
    /// Retries of a failed firing (the `retry` table; defaults when absent).
    pub retry: RetryPolicy,
    /// Index of the compensation transition that undoes this one's
    /// completed firings when their case aborts (`compensate = "NAME"`).
    pub compensate: Option<usize>,
    /// Index into [`Net::regions`] of the region whose places it consumes
    /// from: its abort aborts that region only.
    pub region: Option<usize>,
    /// Whether people perform it (`human = true`, an external transition):
    /// its offers are shown in the dashboard's inbox.
    pub human: bool,
    /// How long an external firing's offer waits for a worker before it
    /// takes the `on_timeout` outcome (`offer_timeout_ms`; set only when
    /// the transition is external and has `on_timeout`).
    pub offer_timeout_ms: Option<u64>,
    /// Whether this is a compensation transition (`compensation = true`):
    /// it has no inputs and runs only to compensate, never from the marking.
    pub compensation: bool,
    /// Line of the transition's table in the net file.
    pub line: usize,
}

impl Transition {
    /// The outcome with this name.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.name == name)
    }

    /// Whether the transition is granted `capability`.
    pub fn grants(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }
}

impl Net {
    /// Reads and checks the net file at `file` under the default ceilings.
    pub fn load(file: impl AsRef<Path>) -> Result<Net, NetError> {
        Net::load_within(file, &HostLimits::default())
    }

    /// Reads (a regular file, at most `limits.net_file_kb`) and checks the
    /// net file at `file` under the host's ceilings `limits`.
    pub fn load_within(file: impl AsRef<Path>, limits: &HostLimits) -> Result<Net, NetError> {
        let file = file.as_ref();
        let read = |source| NetError::Read {
            file: file.to_path_buf(),
            source,
        };
        let bytes = crate::limits::read_bounded(file, limits.net_file_bytes()).map_err(read)?;
        let source = String::from_utf8(bytes).map_err(|e| {
            read(crate::limits::ReadError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 text: {}", e.utf8_error()),
            )))
        })?;
        Net::parse_within(&source, file, limits)
    }

    /// Checks `source` as the text of the net file `file` (used to name the
    /// file in errors and to resolve guest paths) under the default ceilings.
    pub fn parse(source: &str, file: impl AsRef<Path>) -> Result<Net, NetError> {
        Net::parse_within(source, file, &HostLimits::default())
    }

    /// [`Net::parse`] under the host's ceilings `limits`: a net larger than
    /// they allow, or declaring a bound above one, is refused.
    pub fn parse_within(
        source: &str,
        file: impl AsRef<Path>,
        limits: &HostLimits,
    ) -> Result<Net, NetError> {
        parse::parse(source, file.as_ref(), limits, false)
    }

    /// A net the store kept (deployed earlier, perhaps under other
    /// ceilings): its declared bounds are cut to `limits` instead of
    /// refused, and its size is not checked again.
    pub fn parse_stored(
        source: &str,
        file: impl AsRef<Path>,
        limits: &HostLimits,
    ) -> Result<Net, NetError> {
        parse::parse(source, file.as_ref(), limits, true)
    }

    /// The net's declared name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The net's description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Regions (`[regions.NAME]`), in file order.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The workflow-level retry (`[net] retry`): a case that ends aborted
    /// (by a firing, not an operator's cancel) or stuck starts again from
    /// its start tokens, up to `max_attempts` attempts in all, waiting
    /// between them as the policy says.
    pub fn workflow_retry(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }

    /// Places, in file order.
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    /// Transitions, in file order.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// Index of the place named `name`.
    pub fn place_index(&self, name: &str) -> Option<usize> {
        self.places.iter().position(|p| p.name == name)
    }

    /// The transition named `name`.
    pub fn transition(&self, name: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.name == name)
    }

    /// Index of the transition named `name`.
    pub fn transition_index(&self, name: &str) -> Option<usize> {
        self.transitions.iter().position(|t| t.name == name)
    }

    /// The net file this net was read from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The exact text of the net file.
    pub fn source(&self) -> &str {
        &self.source
    }
}
