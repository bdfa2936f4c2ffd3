//! The workflow meaning of a Petrel net, checked.
//!
//! [`translate`] turns a [`Net`] into a [`PtNet`] for `k` concurrent cases:
//! every place that is not `shared` is replicated per case (`name#c`, or
//! just `name` for one case) and every declared outcome of every transition
//! becomes one P/T transition per case (`transition.outcome#c`), consuming
//! the transition's inputs and producing the outcome's outputs; `on_timeout`
//! names one of those outcomes, so it is covered too. Shared places hold
//! their resource tokens once, for all cases. A case starts with one token in
//! each `start` place.
//!
//! [`check`] explores one case and then `k` cases and reports, each with a
//! shortest firing sequence:
//!
//! * **deadlock**: nothing is enabled while some case has a token outside
//!   the final places;
//! * **improper completion**: a case has a token in a final place and another
//!   token anywhere;
//! * **dead transitions and outcomes**: never fire in any configuration;
//! * **unbounded places**, with a sequence that pumps them;
//! * an **inconclusive** run when `--max-states` was reached.

use std::collections::BTreeSet;

use serde::Serialize;

use super::analysis::{Analysis, Answers, finish};
use super::explore::{Observer, Options, StateId, StateSpace};
use super::ptnet::{PtNet, PtPlace, TransitionId};
use crate::net::Net;

/// What a P/T transition of a translation stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// Index of the Petrel transition.
    pub transition: usize,
    /// Index of the outcome in the transition's outcomes.
    pub outcome: usize,
    /// The case, from 1.
    pub case: usize,
}

/// A Petrel net as a P/T net for a number of concurrent cases.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The P/T net.
    pub net: PtNet,
    /// Number of cases.
    pub cases: usize,
    /// Per P/T transition, what it stands for.
    pub origins: Vec<Origin>,
    /// Per P/T place, the Petrel place and its case (`None`: shared).
    pub places: Vec<(usize, Option<usize>)>,
}

/// Translates `net` for `cases` concurrent cases (at least one).
pub fn translate(net: &Net, cases: usize) -> Translation {
    let cases = cases.max(1);
    let mut pt = PtNet::new(net.name());
    let mut places = Vec::new();
    // index[place][case - 1] (shared places: one entry)
    let mut index: Vec<Vec<usize>> = Vec::with_capacity(net.places().len());
    for (i, p) in net.places().iter().enumerate() {
        let copies = if p.shared { 1 } else { cases };
        let mut ids = Vec::with_capacity(copies);
        for c in 1..=copies {
            let name = if p.shared || cases == 1 {
                p.name.clone()
            } else {
                format!("{}#{c}", p.name)
            };
            let initial = if p.shared {
                u32::try_from(p.initial.len()).unwrap_or(u32::MAX)
            } else {
                u32::from(p.start)
            };
            let id = pt
                .add_place(PtPlace {
                    name,
                    label: None,
                    initial,
                    capacity: p.capacity,
                })
                .expect("net names are unique and contain no `#`");
            places.push((i, (!p.shared).then_some(c)));
            ids.push(id);
        }
        index.push(ids);
    }
    let at = |place: usize, case: usize| {
        let ids = &index[place];
        if ids.len() == 1 {
            ids[0]
        } else {
            ids[case - 1]
        }
    };
    let mut origins = Vec::new();
    for c in 1..=cases {
        // Compensations run outside the marking (when a case aborts), so
        // they are no moves of the reachability game.
        for (ti, t) in net.transitions().iter().enumerate() {
            if t.compensation {
                continue;
            }
            let inputs: Vec<(usize, u32)> = t
                .inputs
                .iter()
                .map(|a| (at(a.place, c), a.weight))
                .collect();
            for (oi, o) in t.outcomes.iter().enumerate() {
                let outputs: Vec<(usize, u32)> = o
                    .outputs
                    .iter()
                    .map(|a| (at(a.place, c), a.weight))
                    .collect();
                let name = if cases == 1 {
                    format!("{}.{}", t.name, o.name)
                } else {
                    format!("{}.{}#{c}", t.name, o.name)
                };
                pt.add_transition(name, None, &inputs, &outputs)
                    .expect("unique names, weights fit");
                origins.push(Origin {
                    transition: ti,
                    outcome: oi,
                    case: c,
                });
            }
        }
    }
    Translation {
        net: pt,
        cases,
        origins,
        places,
    }
}

/// One firing of a trace: a transition, the outcome it took, and its case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The transition.
    pub transition: String,
    /// The outcome it fired.
    pub outcome: String,
    /// The case, from 1.
    pub case: usize,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}→{} (case {})",
            self.transition, self.outcome, self.case
        )
    }
}

/// Tokens in one place of a marking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tokens {
    /// The place.
    pub place: String,
    /// Its case (`None`: a shared place).
    pub case: Option<usize>,
    /// How many.
    pub tokens: u32,
}

/// A problem found in a net's behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Problem {
    /// Nothing is enabled, and a case has a token outside the final places.
    Deadlock {
        /// Concurrent cases checked.
        cases: usize,
        /// A shortest firing sequence to the deadlock.
        trace: Vec<Step>,
        /// The marking reached (all places holding tokens).
        marking: Vec<Tokens>,
    },
    /// A case reached a final place while it still had other tokens.
    ImproperCompletion {
        /// Concurrent cases checked.
        cases: usize,
        /// The case.
        case: usize,
        /// The final place reached.
        place: String,
        /// A shortest firing sequence to it.
        trace: Vec<Step>,
        /// The marking reached (all places holding tokens).
        marking: Vec<Tokens>,
    },
    /// No outcome of the transition ever fires.
    DeadTransition {
        /// The transition.
        transition: String,
    },
    /// The outcome never fires (other outcomes of its transition do).
    DeadOutcome {
        /// The transition.
        transition: String,
        /// The outcome.
        outcome: String,
    },
    /// The place can hold arbitrarily many tokens.
    Unbounded {
        /// Concurrent cases checked.
        cases: usize,
        /// The place.
        place: String,
        /// Its case (`None`: a shared place).
        case: Option<usize>,
        /// A firing sequence to where the pump starts.
        prefix: Vec<Step>,
        /// A firing sequence that can repeat forever, adding tokens.
        pump: Vec<Step>,
    },
    /// The check stopped before the end: the problems above may be incomplete.
    Inconclusive {
        /// Concurrent cases checked.
        cases: usize,
        /// Why.
        reason: String,
    },
}

impl Problem {
    /// The kebab-case name of the problem's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Deadlock { .. } => "deadlock",
            Problem::ImproperCompletion { .. } => "improper-completion",
            Problem::DeadTransition { .. } => "dead-transition",
            Problem::DeadOutcome { .. } => "dead-outcome",
            Problem::Unbounded { .. } => "unbounded",
            Problem::Inconclusive { .. } => "inconclusive",
        }
    }
}

/// The analysis of one configuration (a number of concurrent cases).
#[derive(Debug, Clone)]
pub struct Run {
    /// Concurrent cases.
    pub cases: usize,
    /// The translation explored.
    pub translation: Translation,
    /// The contest's answers and the rest of the analysis.
    pub analysis: Analysis,
}

/// The verdict on a Petrel net.
#[derive(Debug, Clone)]
pub struct Report {
    /// One case, then `k` cases when `k > 1`.
    pub runs: Vec<Run>,
    /// Problems, in order of discovery.
    pub problems: Vec<Problem>,
}

impl Report {
    /// The answers of the largest configuration checked.
    pub fn answers(&self) -> &Answers {
        &self.runs.last().expect("at least one run").analysis.answers
    }
}

/// Watches markings for workflow problems: the first (least deep) of each.
struct Watch<'a> {
    t: &'a Translation,
    finals: Vec<bool>,
    deadlock: Option<StateId>,
    improper: Option<(StateId, usize, usize)>,
    per_case: Vec<u64>,
}

impl Observer for Watch<'_> {
    const MARKINGS: bool = true;

    fn marking(&mut self, state: StateId, marking: &[u32], enabled: usize) {
        self.per_case.iter_mut().for_each(|n| *n = 0);
        let mut outside_final = false;
        for (p, &m) in marking.iter().enumerate() {
            if let (Some(c), true) = (self.t.places[p].1, m > 0) {
                self.per_case[c - 1] += u64::from(m);
                outside_final |= !self.finals[p];
            }
        }
        if enabled == 0 && outside_final && self.deadlock.is_none() {
            self.deadlock = Some(state);
        }
        if self.improper.is_none() {
            let found = marking
                .iter()
                .enumerate()
                .find_map(|(p, &m)| match self.t.places[p].1 {
                    Some(c) if m > 0 && self.finals[p] && self.per_case[c - 1] > 1 => Some((c, p)),
                    _ => None,
                });
            if let Some((c, p)) = found {
                self.improper = Some((state, c, p));
            }
        }
    }
}

/// Checks `net` with one case, then with `cases` concurrent cases.
pub fn check(net: &Net, cases: usize, options: &Options) -> Report {
    let mut runs = Vec::new();
    let mut problems = Vec::new();
    let mut configurations = vec![1];
    if cases > 1 {
        configurations.push(cases);
    }
    let mut fired: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut dead_known = false;
    for k in configurations {
        let t = translate(net, k);
        let finals = t
            .places
            .iter()
            .map(|&(p, _)| net.places()[p].is_final)
            .collect();
        let mut watch = Watch {
            t: &t,
            finals,
            deadlock: None,
            improper: None,
            per_case: vec![0; k],
        };
        let space = StateSpace::explore(&t.net, options, &mut watch);
        let (deadlock, improper) = (watch.deadlock, watch.improper);
        for (pt, &f) in space.fired.iter().enumerate() {
            if f {
                fired.insert((t.origins[pt].transition, t.origins[pt].outcome));
            }
        }
        let seen = |kind: &str, problems: &[Problem]| problems.iter().any(|p| p.kind() == kind);
        if let Some(s) = deadlock
            && !seen("deadlock", &problems)
        {
            let (trace, marking) = (
                steps(net, &t, &space.trace(s)),
                tokens(net, &t, &space.marking(s)),
            );
            problems.push(Problem::Deadlock {
                cases: k,
                trace,
                marking,
            });
        }
        if let Some((s, case, p)) = improper
            && !seen("improper-completion", &problems)
        {
            let (trace, marking) = (
                steps(net, &t, &space.trace(s)),
                tokens(net, &t, &space.marking(s)),
            );
            let place = net.places()[t.places[p].0].name.clone();
            problems.push(Problem::ImproperCompletion {
                cases: k,
                case,
                place,
                trace,
                marking,
            });
        }
        let analysis = finish(space, options);
        dead_known |= analysis.answers.states.is_some();
        if !seen("unbounded", &problems) {
            for u in &analysis.unbounded {
                let (place, case) = t.places[u.place];
                problems.push(Problem::Unbounded {
                    cases: k,
                    place: net.places()[place].name.clone(),
                    case,
                    prefix: steps(net, &t, &u.prefix),
                    pump: steps(net, &t, &u.pump),
                });
            }
        }
        if let Some(reason) = &analysis.answers.inconclusive {
            problems.push(Problem::Inconclusive {
                cases: k,
                reason: reason.clone(),
            });
        }
        runs.push(Run {
            cases: k,
            translation: t,
            analysis,
        });
    }
    if dead_known {
        for (ti, tr) in net.transitions().iter().enumerate() {
            if tr.compensation {
                continue;
            }
            let dead: Vec<usize> = (0..tr.outcomes.len())
                .filter(|&o| !fired.contains(&(ti, o)))
                .collect();
            if dead.len() == tr.outcomes.len() {
                problems.push(Problem::DeadTransition {
                    transition: tr.name.clone(),
                });
            } else {
                for o in dead {
                    problems.push(Problem::DeadOutcome {
                        transition: tr.name.clone(),
                        outcome: tr.outcomes[o].name.clone(),
                    });
                }
            }
        }
    }
    Report { runs, problems }
}

/// A P/T firing sequence as Petrel steps.
pub fn steps(net: &Net, t: &Translation, trace: &[TransitionId]) -> Vec<Step> {
    trace
        .iter()
        .map(|&pt| {
            let o = t.origins[pt];
            let tr = &net.transitions()[o.transition];
            Step {
                transition: tr.name.clone(),
                outcome: tr.outcomes[o.outcome].name.clone(),
                case: o.case,
            }
        })
        .collect()
}

/// The marked places of a P/T marking, as Petrel places and cases.
pub fn tokens(net: &Net, t: &Translation, marking: &[u32]) -> Vec<Tokens> {
    marking
        .iter()
        .enumerate()
        .filter(|&(_, &m)| m > 0)
        .map(|(p, &m)| {
            let (place, case) = t.places[p];
            Tokens {
                place: net.places()[place].name.clone(),
                case,
                tokens: m,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
