//! What the workflow check reports: firing sequences as Petrel steps,
//! markings as Petrel places, and the problems found.

use serde::Serialize;

use super::translate::{Move, Slot, Translation};
use crate::net::Net;
use crate::verify::analysis::Analysis;
use crate::verify::ptnet::TransitionId;

/// One firing of a trace: a transition, what it did, and its case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The transition.
    pub transition: String,
    /// The outcome it fired (`None` for the other moves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// When the step is no outcome: `abort` (the case aborts),
    /// `abort-region` (its region aborts; the case runs on), `dead-letter` (the firing fails for good into the dead-letter queue)
    /// or `retry` (an operator retries that dead letter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    /// The case, from 1.
    pub case: usize,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (t, c) = (&self.transition, self.case);
        match (&self.outcome, self.action) {
            (Some(o), _) => write!(f, "{t}→{o} (case {c})"),
            (None, Some("abort")) => write!(f, "{t} aborts case {c}"),
            (None, Some("abort-region")) => write!(f, "{t} aborts its region (case {c})"),
            (None, Some("retry")) => write!(f, "an operator retries {t} (case {c})"),
            (None, _) => write!(
                f,
                "{t} fails for good into the dead-letter queue (case {c})"
            ),
        }
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
    /// The transition whose dead letter holds them (`None`: in the place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<String>,
}

/// A problem found in a net's behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Problem {
    /// Nothing but aborts and failures can happen, and a case that did not
    /// abort has a token outside the final places.
    Deadlock {
        /// Concurrent cases checked.
        cases: usize,
        /// A shortest firing sequence to the deadlock.
        trace: Vec<Step>,
        /// The marking reached (all places holding tokens).
        marking: Vec<Tokens>,
    },
    /// Cases can go on firing forever without ever completing: the option
    /// to complete is lost.
    Livelock {
        /// Concurrent cases checked.
        cases: usize,
        /// The cases that can no longer complete.
        stuck: Vec<usize>,
        /// A shortest firing sequence to the first marking from which the
        /// cases can no longer complete.
        trace: Vec<Step>,
        /// That marking.
        marking: Vec<Tokens>,
        /// From there, a firing sequence into the cycle.
        lead: Vec<Step>,
        /// A cycle the cases are stuck in, back to where it starts.
        cycle: Vec<Step>,
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
    /// The check stopped before the end: the problems above may be
    /// incomplete, and soundness is not proved.
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
            Problem::Livelock { .. } => "livelock",
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
    /// Whether every reachable marking was shown to keep the option to
    /// complete (`false`: a problem, or not decided).
    pub completes: bool,
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
    pub fn answers(&self) -> &crate::verify::Answers {
        &self.runs.last().expect("at least one run").analysis.answers
    }

    /// Whether the net is sound for every configuration checked: from every
    /// reachable marking every case can still complete (no deadlock, no
    /// livelock), it completes properly, and every outcome can fire; all
    /// proved on complete explorations.
    pub fn sound(&self) -> bool {
        self.problems.is_empty() && self.runs.iter().all(|r| r.completes)
    }

    /// Whether the check could not finish and found no problem besides.
    pub fn inconclusive(&self) -> bool {
        !self.problems.is_empty() && self.problems.iter().all(|p| p.kind() == "inconclusive")
    }
}

/// A P/T firing sequence as Petrel steps.
pub fn steps(net: &Net, t: &Translation, trace: &[TransitionId]) -> Vec<Step> {
    trace
        .iter()
        .map(|&pt| {
            let o = t.origins[pt];
            let tr = &net.transitions()[o.transition];
            let (outcome, action) = match o.kind {
                Move::Outcome(i) => (Some(tr.outcomes[i].name.clone()), None),
                Move::Abort => (None, Some("abort")),
                Move::AbortRegion => (None, Some("abort-region")),
                Move::DeadLetter => (None, Some("dead-letter")),
                Move::Retry => (None, Some("retry")),
            };
            Step {
                transition: tr.name.clone(),
                outcome,
                action,
                case: o.case,
            }
        })
        .collect()
}

/// The marked places of a sparse P/T marking (`(place, tokens)`), as
/// Petrel places and cases, dead letters included; the marks of aborted
/// cases are left out.
pub fn tokens(net: &Net, t: &Translation, marked: &[(u32, u32)]) -> Vec<Tokens> {
    marked
        .iter()
        .filter_map(|&(p, m)| match t.places[p as usize] {
            Slot::Place { place, case } => Some(Tokens {
                place: net.places()[place].name.clone(),
                case,
                tokens: m,
                dead_letter: None,
            }),
            Slot::DeadLetter {
                transition,
                place,
                case,
            } => Some(Tokens {
                place: net.places()[place].name.clone(),
                case: Some(case),
                tokens: m,
                dead_letter: Some(net.transitions()[transition].name.clone()),
            }),
            Slot::Aborted(_) => None,
        })
        .collect()
}

/// A firing sequence as text.
fn sequence(steps: &[Step]) -> String {
    if steps.is_empty() {
        return "(from the start)".into();
    }
    steps
        .iter()
        .map(Step::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A marking as text: `place#case×tokens`, space-separated.
fn marking(tokens: &[Tokens]) -> String {
    if tokens.is_empty() {
        return "no token".into();
    }
    tokens
        .iter()
        .map(|t| {
            format!(
                "{}{}×{}{}",
                t.place,
                t.case.map_or(String::new(), |c| format!("#{c}")),
                t.tokens,
                t.dead_letter
                    .as_ref()
                    .map_or(String::new(), |d| format!(" (dead letter of {d})"))
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Deadlock {
                cases,
                trace,
                marking: m,
            } => write!(
                f,
                "deadlock with {cases} case(s) after {}; stuck with {}",
                sequence(trace),
                marking(m)
            ),
            Problem::Livelock {
                cases,
                stuck,
                trace,
                marking: m,
                lead,
                cycle,
            } => {
                let who: Vec<String> = stuck.iter().map(usize::to_string).collect();
                write!(
                    f,
                    "livelock with {cases} case(s): after {}, case {} can never complete (marking {}); ",
                    sequence(trace),
                    who.join(", "),
                    marking(m)
                )?;
                if !lead.is_empty() {
                    write!(f, "then {}, ", sequence(lead))?;
                }
                write!(f, "it cycles forever through {}", sequence(cycle))
            }
            Problem::ImproperCompletion {
                cases,
                case,
                place,
                trace,
                ..
            } => write!(
                f,
                "improper completion with {cases} case(s): case {case} reaches final place `{place}` with tokens left, after {}",
                sequence(trace)
            ),
            Problem::DeadTransition { transition } => {
                write!(f, "transition `{transition}` can never fire")
            }
            Problem::DeadOutcome {
                transition,
                outcome,
            } => write!(f, "outcome `{outcome}` of `{transition}` can never fire"),
            Problem::Unbounded {
                cases,
                place,
                case,
                prefix,
                pump,
            } => write!(
                f,
                "place `{place}`{} is unbounded with {cases} case(s): after {}, repeat {}",
                case.map_or(String::new(), |c| format!(" (case {c})")),
                sequence(prefix),
                sequence(pump)
            ),
            Problem::Inconclusive { cases, reason } => {
                write!(f, "inconclusive with {cases} case(s): {reason}")
            }
        }
    }
}
