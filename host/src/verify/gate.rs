//! The check a deploy runs first: a net whose check finds a problem is
//! refused, with the report in the error, unless the deploy explicitly
//! allows problems; a check that runs out of its budget (time, markings,
//! memory) lets the net deploy with a warning.
//!
//! `petrel start --allow-problems`, `POST /v1/nets` with
//! `"allow_problems": true` and [`GateOptions::allow_problems`] on the
//! embedding API ([`crate::engine::Engine::deploy_with`]) all come here.

use std::time::{Duration, Instant};

use super::exploration::{Options, default_max_memory};
use super::workflow::{Problem, check};
use crate::net::Net;

/// Default time budget of the deploy check.
pub const DEFAULT_GATE_SECONDS: u64 = 10;

/// Default concurrent cases the deploy check explores besides one.
pub const DEFAULT_GATE_CASES: usize = 2;

/// How a deploy checks its net.
#[derive(Debug, Clone)]
pub struct GateOptions {
    /// Deploy even when the check finds problems (they come back as
    /// warnings).
    pub allow_problems: bool,
    /// Concurrent cases checked besides one (1: one case only).
    pub cases: usize,
    /// Time for the whole check; past it the check is inconclusive and the
    /// net deploys with a warning.
    pub time_budget: Duration,
    /// Markings stored at most per configuration.
    pub max_states: u64,
    /// Bytes held at most by the check.
    pub max_memory: u64,
}

impl Default for GateOptions {
    fn default() -> Self {
        GateOptions {
            allow_problems: false,
            cases: DEFAULT_GATE_CASES,
            time_budget: Duration::from_secs(DEFAULT_GATE_SECONDS),
            max_states: Options::default().max_states,
            max_memory: default_max_memory(),
        }
    }
}

impl GateOptions {
    /// Default options that allow problems (or not).
    pub fn allowing(allow_problems: bool) -> GateOptions {
        GateOptions {
            allow_problems,
            ..GateOptions::default()
        }
    }
}

/// What the deploy check said of a net it let through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateReport {
    /// All three soundness conditions were proved, for one case and for
    /// [`GateOptions::cases`].
    pub sound: bool,
    /// What the deploy should tell its caller: why the check was
    /// inconclusive, or the problems it was allowed to ignore.
    pub warnings: Vec<String>,
}

/// A deploy the check refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "net `{net}` failed its check, so it is not deployed (check it with `petrel check`; deploy anyway with --allow-problems or \"allow_problems\": true):\n{}",
    .problems.iter().map(|p| format!("  problem: {p}")).collect::<Vec<_>>().join("\n")
)]
pub struct GateError {
    /// The net's name.
    pub net: String,
    /// What the check found.
    pub problems: Vec<Problem>,
}

/// Checks `net` before a deploy (see the module docs).
pub fn deploy_gate(net: &Net, options: &GateOptions) -> Result<GateReport, GateError> {
    let explore = Options {
        max_states: options.max_states,
        max_memory: options.max_memory,
        deadline: Some(Instant::now() + options.time_budget),
        ..Options::default()
    };
    let report = check(net, options.cases.max(1), &explore);
    let (inconclusive, problems): (Vec<Problem>, Vec<Problem>) = report
        .problems
        .iter()
        .cloned()
        .partition(|p| p.kind() == "inconclusive");
    if !problems.is_empty() && !options.allow_problems {
        return Err(GateError {
            net: net.name().to_string(),
            problems,
        });
    }
    let mut warnings: Vec<String> = inconclusive
        .iter()
        .map(|p| format!("the deploy check of net `{}` was {p}", net.name()))
        .collect();
    warnings.extend(
        problems
            .iter()
            .map(|p| format!("net `{}` deployed with a problem: {p}", net.name())),
    );
    Ok(GateReport {
        sound: report.sound(),
        warnings,
    })
}

/// [`deploy_gate`] on a blocking thread, for async callers.
pub async fn deploy_gate_async(net: &Net, options: &GateOptions) -> Result<GateReport, GateError> {
    let (net, options) = (net.clone(), options.clone());
    match tokio::task::spawn_blocking(move || deploy_gate(&net, &options)).await {
        Ok(checked) => checked,
        Err(e) => Ok(GateReport {
            sound: false,
            warnings: vec![format!("the deploy check did not finish: {e}")],
        }),
    }
}
