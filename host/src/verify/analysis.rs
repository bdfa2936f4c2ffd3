//! The Model Checking Contest's state-space answers for a net, computed from
//! an exploration: state count, both token maxima, deadlock, liveness,
//! quasi-liveness, 1-safety and boundedness, each `None` where the
//! exploration could not decide it.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::coverability::{Unbounded, unbounded_places};
use super::explore::{Options, StateSpace, Stop};
use super::ptnet::{PtNet, TransitionId};
use super::{reversibility, scc};

/// Most Karp–Miller nodes built to list unbounded places.
const COVERABILITY_BUDGET: u64 = 200_000;

/// Answers in the Model Checking Contest's sense (see `../shared/mcc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answers {
    /// Reachable markings.
    pub states: Option<u64>,
    /// Enabled (marking, transition) pairs: edges of the reachability graph.
    pub edges: Option<u64>,
    /// Most tokens in one place of one reachable marking.
    pub max_token_in_place: Option<u64>,
    /// Most tokens in one reachable marking.
    pub max_token_per_marking: Option<u64>,
    /// Some reachable marking enables no transition.
    pub deadlock: Option<bool>,
    /// Every transition can fire again from every reachable marking.
    pub live: Option<bool>,
    /// Every transition fires in some reachable marking.
    pub quasi_live: Option<bool>,
    /// No place ever holds more than one token.
    pub one_safe: Option<bool>,
    /// Finitely many reachable markings.
    pub bounded: Option<bool>,
    /// Why some answer is missing (`None` when all are given).
    pub inconclusive: Option<String>,
}

/// Everything [`analyse`] found.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The contest's answers.
    pub answers: Answers,
    /// Markings stored, whether or not exploration completed.
    pub explored: u64,
    /// Shortest firing sequence to a deadlock, when there is one.
    pub deadlock_trace: Option<Vec<TransitionId>>,
    /// Unbounded places, each with a pumping sequence.
    pub unbounded: Vec<Unbounded>,
    /// Transitions never enabled (only when exploration completed).
    pub dead_transitions: Vec<TransitionId>,
    /// Cost of the analysis.
    pub cost: Cost,
}

/// What an analysis cost.
#[derive(Debug, Clone, Default)]
pub struct Cost {
    /// Breadth-first exploration time.
    pub explore: Duration,
    /// Component search time (zero when liveness needed none).
    pub components: Duration,
    /// Peak bytes of the visited set, parents and queue.
    pub store_bytes: usize,
    /// Peak bytes of the component search (numbers and stacks).
    pub components_bytes: usize,
    /// Stored bytes per packed marking.
    pub marking_bytes: usize,
}

/// Explores `net` and answers the contest's questions.
pub fn analyse(net: &PtNet, options: &Options) -> Analysis {
    finish(StateSpace::explore(net, options, &mut ()), options)
}

/// Answers the contest's questions from an exploration (consumes it: the
/// liveness search reuses its memory).
pub fn finish(space: StateSpace<'_>, options: &Options) -> Analysis {
    let net = space.net();
    let mut cost = Cost {
        explore: space.elapsed,
        store_bytes: space.peak_bytes,
        marking_bytes: space.layout.bytes(),
        ..Cost::default()
    };
    let deadlock_trace = space.first_deadlock.map(|s| space.trace(s));
    let deadlock = space.first_deadlock.is_some();
    let quasi_live = space.fired.iter().all(|&f| f);
    let max_in_place = u64::from(space.max_in_place.iter().copied().max().unwrap_or(0));
    let explored = space.states();
    let stop = space.stop;

    if stop == Stop::Complete {
        let dead_transitions = (0..space.fired.len())
            .filter(|&t| !space.fired[t])
            .collect();
        let mut answers = Answers {
            states: Some(explored),
            edges: Some(space.edges),
            max_token_in_place: Some(max_in_place),
            max_token_per_marking: Some(space.max_per_marking),
            deadlock: Some(deadlock),
            live: Some(quasi_live && !deadlock),
            quasi_live: Some(quasi_live),
            one_safe: Some(max_in_place <= 1),
            bounded: Some(true),
            inconclusive: None,
        };
        if answers.live == Some(true) && !space.fired.is_empty() {
            let start = Instant::now();
            let root = space.root_slot();
            let transitions = space.fired.len();
            let (layout, rules, table, order, descents) = space.into_parts();
            let settled = reversibility::settle(&layout, &rules, &table, &order, &descents);
            cost.components_bytes = settled.peak_bytes
                + table.heap_bytes()
                + order.heap_bytes()
                + descents.heap_bytes();
            drop((order, descents));
            let reversible = settled.reversible.unwrap_or_else(|| {
                let r = reversibility::reversible(net, &layout, &table, root, explored as usize);
                cost.components_bytes =
                    cost.components_bytes.max(r.peak_bytes + table.heap_bytes());
                r.reversible
            });
            if !reversible {
                let l = scc::liveness(&layout, &rules, &table, root, transitions);
                cost.components_bytes =
                    cost.components_bytes.max(l.peak_bytes + table.heap_bytes());
                answers.live = Some(l.live);
            }
            cost.components = start.elapsed();
        }
        return Analysis {
            answers,
            explored,
            deadlock_trace,
            unbounded: Vec::new(),
            dead_transitions,
            cost,
        };
    }

    // Exploration stopped early: what was seen still answers some questions.
    let budget = options.max_states.min(COVERABILITY_BUDGET) as usize;
    let coverability = match stop {
        Stop::Limit | Stop::Unbounded { .. } => unbounded_places(net, budget),
        _ => None,
    };
    let mut unbounded = coverability.clone().unwrap_or_default();
    if unbounded.is_empty()
        && let Stop::Unbounded { base, top } = stop
    {
        // The coverability budget ran out: report the pump exploration found.
        let (low, high) = (space.marking(base), space.marking(top));
        let prefix = space.trace(base);
        let pump = space.path(Some(base), top);
        for p in (0..low.len()).filter(|&p| high[p] > low[p]) {
            unbounded.push(Unbounded {
                place: p,
                prefix: prefix.clone(),
                pump: pump.clone(),
            });
        }
    }
    let bounded = if !unbounded.is_empty() {
        Some(false)
    } else if coverability.is_some() {
        Some(true)
    } else {
        None
    };
    let names = |u: &[Unbounded]| {
        let list: Vec<String> = u
            .iter()
            .map(|u| format!("`{}`", net.places()[u.place].name))
            .collect();
        list.join(", ")
    };
    let reason = match stop {
        Stop::Complete => unreachable!("handled above"),
        _ if bounded == Some(false) => format!(
            "the net is unbounded ({} grow without limit), so it has infinitely many markings; \
             questions without a witness among the {explored} markings explored are left open",
            names(&unbounded)
        ),
        Stop::TooManyTokens { place } => {
            format!(
                "place `{}` would hold more than {} tokens",
                net.places()[place].name,
                u32::MAX
            )
        }
        _ => format!(
            "stopped after {explored} markings (the --max-states bound){}",
            if bounded == Some(true) {
                "; the net is bounded"
            } else {
                "; boundedness undecided"
            }
        ),
    };
    let answers = Answers {
        states: None,
        edges: None,
        max_token_in_place: None,
        max_token_per_marking: None,
        deadlock: deadlock.then_some(true),
        live: deadlock.then_some(false),
        quasi_live: quasi_live.then_some(true),
        one_safe: if max_in_place > 1 || bounded == Some(false) {
            Some(false)
        } else {
            None
        },
        bounded,
        inconclusive: Some(reason),
    };
    Analysis {
        answers,
        explored,
        deadlock_trace,
        unbounded,
        dead_transitions: Vec::new(),
        cost,
    }
}
