//! External work: firings of `external = true` transitions, claimed and
//! performed by trusted workers (a payment service, a human reviewer).

use serde::{Deserialize, Serialize};

/// Default lease of a claimed firing.
pub const DEFAULT_LEASE_MS: u64 = 30_000;
/// Longest lease a worker may ask for (an hour).
pub const MAX_LEASE_MS: u64 = 3_600_000;

/// What a worker asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    /// Who claims (free text, logged with the claim).
    pub worker: String,
    /// Only firings of nets with this name.
    #[serde(default)]
    pub net: Option<String>,
    /// Only firings of this transition.
    #[serde(default)]
    pub transition: Option<String>,
    /// Only this firing (a person picking a task from the inbox).
    #[serde(default)]
    pub firing: Option<u64>,
    /// How long the lease lasts (default [`DEFAULT_LEASE_MS`], at most [`MAX_LEASE_MS`]).
    #[serde(default)]
    pub lease_ms: Option<u64>,
    /// How long to wait for a firing when none is claimable now (long poll); 0: answer at once.
    #[serde(default)]
    pub wait_ms: u64,
}

/// A token handed to a worker, or produced by one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkToken {
    /// Place name.
    pub place: String,
    /// Payload as JSON.
    pub payload: serde_json::Value,
}

/// A declared outcome, as a worker sees it: which places it feeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkOutcome {
    /// Outcome name.
    pub name: String,
    /// (place, weight) of each output arc.
    pub outputs: Vec<(String, u32)>,
    /// The JSON Schema each produced token's payload must meet (a human
    /// task's form), if the net declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<serde_json::Value>,
}

/// A claimed firing: the worker holds it until `lease_until_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItem {
    /// Firing id.
    pub firing: u64,
    /// Lease id: completing, failing or extending must present it.
    pub lease: String,
    /// When the lease ends (ms since the Unix epoch).
    pub lease_until_ms: u64,
    /// The case.
    pub case: String,
    /// Net name.
    pub net: String,
    /// Net version.
    pub version: String,
    /// The transition.
    pub transition: String,
    /// Whether people perform it (`human = true`).
    #[serde(default)]
    pub human: bool,
    /// Attempt number (1 for the first claim; a retry or an expired lease adds one).
    pub attempt: u32,
    /// The consumed tokens, in input order (for a compensation: the inputs
    /// of the firing it undoes).
    pub inputs: Vec<WorkToken>,
    /// The outcomes it may complete with.
    pub outcomes: Vec<WorkOutcome>,
    /// Set when this is a compensation of an aborted case: the firing it
    /// undoes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensates: Option<Compensates>,
}

/// The completed firing an external compensation undoes. A worker makes
/// its undo idempotent by `firing`: a compensation is committed exactly
/// once, but a worker cut off before it completes may be handed the same
/// undo again (as any claim after a lost lease).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compensates {
    /// Its firing id.
    pub firing: u64,
    /// Its transition.
    pub transition: String,
    /// The outcome it fired.
    pub outcome: String,
    /// The tokens it produced (its inputs are the item's `inputs`).
    pub outputs: Vec<WorkToken>,
}

impl WorkItem {
    /// The item handed out under `lease`.
    pub(crate) fn leased(mut self, lease: &crate::store::Lease) -> WorkItem {
        self.lease = lease.id.clone();
        self.lease_until_ms = lease.until_ms;
        self
    }
}

/// Most offers one listing answers.
pub const MAX_OFFERS_LISTED: usize = 1000;

/// Which open offers a listing asks for; the default asks for all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferFilter {
    /// Only firings of nets with this name.
    #[serde(default)]
    pub net: Option<String>,
    /// Only firings of this transition.
    #[serde(default)]
    pub transition: Option<String>,
    /// Only firings of transitions people perform (`true`) or of those
    /// they do not (`false`).
    #[serde(default)]
    pub human: Option<bool>,
}

/// An external firing waiting for a worker, or held by one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenOffer {
    /// Firing id (claim it with `firing`).
    pub firing: u64,
    /// The case.
    pub case: String,
    /// Net name.
    pub net: String,
    /// Net version.
    pub version: String,
    /// The transition.
    pub transition: String,
    /// Whether people perform it.
    pub human: bool,
    /// Attempt number.
    pub attempt: u32,
    /// When the attempt was offered (ms since the Unix epoch).
    pub offered_at_ms: u64,
    /// When it takes the transition's `on_timeout` outcome unless claimed;
    /// `None` when it waits for ever.
    pub deadline_ms: Option<u64>,
    /// The worker holding it, if claimed.
    pub claimed_by: Option<String>,
    /// When that worker's lease ends.
    pub lease_until_ms: Option<u64>,
    /// The consumed tokens, in input order.
    pub inputs: Vec<WorkToken>,
    /// The outcomes it may complete with.
    pub outcomes: Vec<WorkOutcome>,
    /// Set for a compensation: the firing it undoes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compensates: Option<Compensates>,
}

/// A lease after a claim or an extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// Firing id.
    pub firing: u64,
    /// Lease id.
    pub lease: String,
    /// When the lease ends (ms since the Unix epoch).
    pub lease_until_ms: u64,
}

/// How a worker finishes a firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// One of the transition's declared outcomes.
    pub outcome: String,
    /// Tokens to produce (validated like a guest's decision).
    #[serde(default)]
    pub tokens: Vec<WorkToken>,
}

/// A worker's report that it could not perform a firing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkFailure {
    /// What went wrong.
    pub message: String,
    /// Whether a retry could succeed (the transition's retry policy applies);
    /// false dead-letters (or aborts) at once.
    #[serde(default = "yes")]
    pub retryable: bool,
}

fn yes() -> bool {
    true
}
