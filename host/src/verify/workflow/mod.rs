//! The workflow meaning of a Petrel net, checked.
//!
//! [`translate`] turns a [`Net`] into a [`PtNet`](crate::verify::PtNet) for
//! `k` concurrent cases, every choice the host lets a guest, a worker or a
//! failure make a move of its own: each declared outcome (the `on_timeout`
//! route is one), an abort, a dead letter (see [`translate`] for exactly
//! which).
//!
//! [`check`] explores one case and then `k` cases with the sparse engine
//! and reports, each with a shortest firing sequence, van der Aalst's three
//! soundness conditions and more:
//!
//! * **option to complete**: from every reachable marking, declared
//!   outcomes (and operator retries of dead letters) can still take every
//!   case that did not abort to completion: all its tokens in final places.
//!   Broken by a **deadlock** (nothing can fire while a case is unfinished)
//!   or a **livelock** (cases can go on firing without ever completing:
//!   reported with the first marking from which they cannot, and the
//!   cycle);
//! * **proper completion**: a case that reaches a final place has no token
//!   left elsewhere;
//! * **no dead transitions or outcomes**: every outcome fires somewhere;
//! * **unbounded places**, with a sequence that pumps them;
//! * an **inconclusive** run when a bound (markings, memory, time) stopped
//!   it: then nothing is proved.
//!
//! [`Report::sound`] is true only when all of it was proved.

mod problem;
mod soundness;
mod translate;
mod watch;

use std::collections::BTreeSet;

pub use problem::{Problem, Report, Run, Step, Tokens, steps, tokens};
pub use translate::{Move, Origin, Slot, Translation, translate};

use super::analysis::finish_sparse;
use super::exploration::Options;
use super::sparse::SparseSpace;
use super::sparse::tarjan::{self, Searched};
use crate::net::Net;
use soundness::Soundness;
use watch::{Cases, Watch};

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
        let run = check_run(net, k, options, &mut problems, &mut fired);
        dead_known |= run.analysis.answers.states.is_some();
        runs.push(run);
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

/// Explores `k` cases, adding what it finds to `problems` (one of each
/// kind over all runs) and the outcomes that fire to `fired`.
fn check_run(
    net: &Net,
    k: usize,
    options: &Options,
    problems: &mut Vec<Problem>,
    fired: &mut BTreeSet<(usize, usize)>,
) -> Run {
    let t = translate(net, k);
    let mut watch = Watch {
        cases: Cases::new(net, &t),
        deadlock: None,
        improper: None,
    };
    let space = SparseSpace::explore(&t.net, options, &mut watch);
    for (pt, &f) in space.summary.fired.iter().enumerate() {
        if let (true, Move::Outcome(o)) = (f, t.origins[pt].kind) {
            fired.insert((t.origins[pt].transition, o));
        }
    }
    let seen = |kind: &str, problems: &[Problem]| problems.iter().any(|p| p.kind() == kind);
    if let Some(s) = watch.deadlock
        && !seen("deadlock", problems)
    {
        problems.push(Problem::Deadlock {
            cases: k,
            trace: steps(net, &t, &space.trace(s)),
            marking: tokens(net, &t, &space.marked(s)),
        });
    }
    if let Some((s, case, p)) = watch.improper
        && !seen("improper-completion", problems)
    {
        let Slot::Place { place, .. } = t.places[p] else {
            unreachable!("final places are Petrel places")
        };
        problems.push(Problem::ImproperCompletion {
            cases: k,
            case,
            place: net.places()[place].name.clone(),
            trace: steps(net, &t, &space.trace(s)),
            marking: tokens(net, &t, &space.marked(s)),
        });
    }
    let mut completes = false;
    let mut undecided = None;
    if space.summary.stop == super::Stop::Complete {
        let mut fold = Soundness::new(Cases::new(net, &t), space.states() as usize);
        let held = space.heap_bytes() + fold.heap_bytes();
        let outcome = |pt: usize| t.origins[pt].is_progress();
        match tarjan::components(&space, &outcome, &mut fold, options, held).0 {
            Searched::Done | Searched::Stopped => {
                completes = fold.completes();
                if let Some(l) = fold.livelock(&space, &t)
                    && !seen("livelock", problems)
                {
                    problems.push(Problem::Livelock {
                        cases: k,
                        stuck: l.stuck,
                        trace: steps(net, &t, &space.trace(l.first)),
                        marking: tokens(net, &t, &space.marked(l.first)),
                        lead: steps(net, &t, &l.lead),
                        cycle: steps(net, &t, &l.cycle),
                    });
                }
            }
            Searched::Memory => {
                undecided = Some(
                    "the option to complete is undecided: the search would pass the --max-memory bound",
                )
            }
            Searched::Time => {
                undecided = Some("the option to complete is undecided: the time budget ran out")
            }
        }
    }
    let analysis = finish_sparse(space, options);
    if !seen("unbounded", problems) {
        for u in &analysis.unbounded {
            let Slot::Place { place, case } = t.places[u.place] else {
                continue;
            };
            problems.push(Problem::Unbounded {
                cases: k,
                place: net.places()[place].name.clone(),
                case,
                prefix: steps(net, &t, &u.prefix),
                pump: steps(net, &t, &u.pump),
            });
        }
    }
    if let Some(reason) = analysis
        .answers
        .inconclusive
        .clone()
        .or(undecided.map(String::from))
    {
        problems.push(Problem::Inconclusive { cases: k, reason });
    }
    Run {
        cases: k,
        translation: t,
        analysis,
        completes,
    }
}

#[cfg(test)]
mod tests;
