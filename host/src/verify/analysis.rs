//! The Model Checking Contest's state-space answers for a net, computed from
//! an exploration: state count, both token maxima, deadlock, liveness,
//! quasi-liveness, 1-safety and boundedness, each `None` where the
//! exploration could not decide it.
//!
//! [`analyse`] picks the engine ([`super::Engine`]): the packed one for nets
//! whose markings fit a few words, the sparse one for nets of many places
//! (or with resets), where a packed marking would cost a bit per place.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::coverability::{Unbounded, unbounded_places};
use super::exploration::{Markings, Options, Stop, Summary};
use super::explore::StateSpace;
use super::ptnet::{PtNet, TransitionId};
use super::sparse::SparseSpace;
use super::sparse::tarjan::{self, Liveness, Searched};
use super::{reversibility, scc};

/// Most Karp–Miller nodes built to list unbounded places.
const COVERABILITY_BUDGET: u64 = 200_000;

/// Answers in the Model Checking Contest's sense (see `tests/mcc`).
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
    /// Which engine explored: `packed` or `sparse`.
    pub engine: &'static str,
    /// Breadth-first exploration time.
    pub explore: Duration,
    /// Component search time (zero when liveness needed none).
    pub components: Duration,
    /// Peak bytes of the visited set, parents and queue.
    pub store_bytes: usize,
    /// Peak bytes of the component search (numbers and stacks).
    pub components_bytes: usize,
    /// Stored bytes per marking.
    pub marking_bytes: usize,
}

/// Explores `net` with the engine `options` asks for and answers the
/// contest's questions.
pub fn analyse(net: &PtNet, options: &Options) -> Analysis {
    if options.engine.sparse(net) {
        finish_sparse(SparseSpace::explore(net, options, &mut ()), options)
    } else {
        finish(StateSpace::explore(net, options, &mut ()), options)
    }
}

/// The answers every complete exploration gives; liveness is only settled
/// when it holds on the face of it (no deadlock, quasi-live).
fn complete(s: &Summary, deadlock_trace: Option<Vec<TransitionId>>, cost: Cost) -> Analysis {
    let deadlock = s.first_deadlock.is_some();
    let quasi_live = s.fired.iter().all(|&f| f);
    let max_in_place = u64::from(s.max_in_place.iter().copied().max().unwrap_or(0));
    let dead = (0..s.fired.len()).filter(|&t| !s.fired[t]).collect();
    let answers = Answers {
        states: Some(s.states),
        edges: Some(s.edges),
        max_token_in_place: Some(max_in_place),
        max_token_per_marking: Some(s.max_per_marking),
        deadlock: Some(deadlock),
        live: Some(quasi_live && !deadlock),
        quasi_live: Some(quasi_live),
        one_safe: Some(max_in_place <= 1),
        bounded: Some(true),
        inconclusive: None,
    };
    Analysis {
        answers,
        explored: s.states,
        deadlock_trace,
        unbounded: Vec::new(),
        dead_transitions: dead,
        cost,
    }
}

fn cost(s: &Summary, engine: &'static str) -> Cost {
    Cost {
        engine,
        explore: s.elapsed,
        store_bytes: s.peak_bytes,
        marking_bytes: s.marking_bytes,
        ..Cost::default()
    }
}

/// Answers the contest's questions from a packed exploration (consumes it:
/// the liveness search reuses its memory).
pub fn finish(space: StateSpace<'_>, options: &Options) -> Analysis {
    let net = space.net();
    let s = space.summary.clone();
    let cost = cost(&s, "packed");
    let deadlock_trace = s.first_deadlock.map(|d| space.trace(d));
    if s.stop != Stop::Complete {
        return incomplete(net, &s, options, cost, deadlock_trace, &space);
    }
    let mut a = complete(&s, deadlock_trace, cost);
    let (answers, cost) = (&mut a.answers, &mut a.cost);
    if answers.live == Some(true) && !s.fired.is_empty() {
        let start = Instant::now();
        let root = space.root_slot();
        let transitions = s.fired.len();
        let (layout, rules, table, order, descents) = space.into_parts();
        // The searches hold a number per slot and their stacks besides the table.
        let need = table.heap_bytes()
            + order.heap_bytes()
            + descents.heap_bytes()
            + 4 * table.capacity()
            + 16 * s.states as usize;
        if !options.fits(need) {
            answers.live = None;
            answers.inconclusive = Some(format!(
                "liveness needs about {need} bytes, over the --max-memory bound of {}",
                options.max_memory
            ));
        } else {
            let settled = reversibility::settle(&layout, &rules, &table, &order, &descents);
            cost.components_bytes = settled.peak_bytes
                + table.heap_bytes()
                + order.heap_bytes()
                + descents.heap_bytes();
            drop((order, descents));
            let reversible = settled.reversible.unwrap_or_else(|| {
                let r = reversibility::reversible(net, &layout, &table, root, s.states as usize);
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
        }
        cost.components = start.elapsed();
    }
    a
}

/// Answers the contest's questions from a sparse exploration.
pub fn finish_sparse(space: SparseSpace<'_>, options: &Options) -> Analysis {
    let net = space.net();
    let s = &space.summary;
    let cost = cost(s, "sparse");
    let deadlock_trace = s.first_deadlock.map(|d| space.trace(d));
    if s.stop != Stop::Complete {
        return incomplete(net, s, options, cost, deadlock_trace, &space);
    }
    let mut a = complete(s, deadlock_trace, cost);
    let (answers, cost) = (&mut a.answers, &mut a.cost);
    if answers.live == Some(true) && !s.fired.is_empty() {
        let start = Instant::now();
        let mut fold = Liveness::new(&space);
        let held = space.heap_bytes() + fold.heap_bytes();
        let (searched, peak) = tarjan::components(&space, &|_| true, &mut fold, options, held);
        cost.components_bytes = peak;
        cost.components = start.elapsed();
        match searched {
            Searched::Done | Searched::Stopped => answers.live = Some(fold.live),
            Searched::Memory | Searched::Time => {
                answers.live = None;
                answers.inconclusive = Some(format!(
                    "liveness undecided: the component search would pass the {}",
                    if searched == Searched::Memory {
                        "--max-memory bound"
                    } else {
                        "time budget"
                    }
                ));
            }
        }
    }
    a
}

/// The answers of an exploration that stopped early: what was seen still
/// answers some questions.
fn incomplete(
    net: &PtNet,
    s: &Summary,
    options: &Options,
    cost: Cost,
    deadlock_trace: Option<Vec<TransitionId>>,
    space: &dyn Markings,
) -> Analysis {
    let explored = s.states;
    let deadlock = s.first_deadlock.is_some();
    let quasi_live = s.fired.iter().all(|&f| f);
    let max_in_place = u64::from(s.max_in_place.iter().copied().max().unwrap_or(0));
    let budget = options.max_states.min(COVERABILITY_BUDGET) as usize;
    let bytes = usize::try_from(options.max_memory).unwrap_or(usize::MAX) / 2;
    let coverability = match s.stop {
        Stop::Limit | Stop::Unbounded { .. } => unbounded_places(net, budget, bytes),
        _ => None,
    };
    let mut unbounded = coverability.clone().unwrap_or_default();
    if unbounded.is_empty()
        && let Stop::Unbounded { base, top } = s.stop
    {
        // The coverability budget ran out: report the pump exploration found.
        let (low, high) = (space.marking_of(base), space.marking_of(top));
        let (prefix, pump) = (space.path_to(None, base), space.path_to(Some(base), top));
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
    let settled = if bounded == Some(true) {
        "; the net is bounded"
    } else {
        "; boundedness undecided"
    };
    let reason = match s.stop {
        Stop::Complete => unreachable!("complete explorations are answered in full"),
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
        Stop::Memory => format!(
            "stopped after {explored} markings: going on would hold more than {} bytes (the --max-memory bound){settled}",
            options.max_memory
        ),
        Stop::Time => {
            format!("stopped after {explored} markings: the time budget ran out{settled}")
        }
        _ => format!("stopped after {explored} markings (the --max-states bound){settled}"),
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
