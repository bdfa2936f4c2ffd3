//! The option to complete: from every reachable marking, can every case
//! still complete by declared outcomes?
//!
//! A marking is a *goal* when every case has completed (no token outside
//! the final places, none in the dead-letter queue) or aborted. Exploration
//! reaches markings by every move, aborts and failures included; from
//! each, the question is whether some sequence of declared outcomes and
//! operator retries of dead letters (of any case) reaches a goal. Relying
//! on an abort or a failure to get there would not be completing.
//!
//! One search over the strongly connected components of the outcome graph
//! ([`tarjan`](crate::verify::sparse::tarjan)) answers it for every marking
//! at once: components complete successors first, so a component reaches a
//! goal when a member is one or has an edge to a component that reaches
//! one. It also marks the components that cannot, and are cycles: a case
//! in one can fire forever without completing (a livelock). A marking that
//! cannot reach a goal either reaches such a cycle or a dead end, which
//! exploration reported as a deadlock already.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::ops::ControlFlow;

use super::translate::Translation;
use super::watch::Cases;
use crate::verify::exploration::StateId;
use crate::verify::ptnet::TransitionId;
use crate::verify::sparse::tarjan::Components;
use crate::verify::sparse::{Marked, SparseSpace};

/// Reaches a goal.
const GOAL: u8 = 1;
/// Cannot reach a goal, but reaches a cycle that cannot either.
const REACH: u8 = 2;
/// In such a cycle.
const CYCLE: u8 = 4;
/// Has an outcome back to itself.
const LOOP: u8 = 8;

/// The fold of the component search.
pub(super) struct Soundness<'a> {
    cases: Cases<'a>,
    flags: Vec<u8>,
    marking: Vec<Marked>,
}

/// A livelock: the first marking from which some case cannot complete and
/// that reaches a cycle, the way into the cycle and the cycle.
pub(super) struct Livelock {
    pub(super) first: StateId,
    pub(super) stuck: Vec<usize>,
    pub(super) lead: Vec<TransitionId>,
    pub(super) cycle: Vec<TransitionId>,
}

impl<'a> Soundness<'a> {
    pub(super) fn new(cases: Cases<'a>, states: usize) -> Soundness<'a> {
        Soundness {
            cases,
            flags: vec![0; states],
            marking: Vec::new(),
        }
    }

    /// Bytes held.
    pub(super) fn heap_bytes(&self) -> usize {
        self.flags.len()
    }

    /// Whether every marking reaches a goal.
    pub(super) fn completes(&self) -> bool {
        self.flags.iter().all(|&f| f & GOAL != 0)
    }

    /// The least deep livelock, if any.
    pub(super) fn livelock(
        &mut self,
        space: &SparseSpace<'_>,
        t: &Translation,
    ) -> Option<Livelock> {
        let first =
            (0..self.flags.len()).find(|&s| self.flags[s] & (GOAL | REACH) == REACH)? as StateId;
        let outcome = |pt: usize| t.origins[pt].is_progress();
        let flags = &self.flags;
        let in_cycle = |s: StateId| flags[s as usize] & CYCLE != 0;
        let (entry, lead) = if in_cycle(first) {
            (first, Vec::new())
        } else {
            shortest(
                space,
                first,
                &outcome,
                |s| flags[s as usize] & REACH != 0,
                in_cycle,
            )?
        };
        let (_, cycle) = shortest(space, entry, &outcome, in_cycle, |s| s == entry)?;
        space.marked_into(entry, &mut self.marking);
        self.cases.read(&self.marking);
        let stuck = self.cases.unfinished().collect();
        Some(Livelock {
            first,
            stuck,
            lead,
            cycle,
        })
    }
}

impl Components for Soundness<'_> {
    fn edge(&mut self, v: StateId, w: StateId, finished: bool) -> ControlFlow<()> {
        if finished {
            self.flags[v as usize] |= self.flags[w as usize] & (GOAL | REACH);
        } else if v == w {
            self.flags[v as usize] |= LOOP;
        }
        ControlFlow::Continue(())
    }

    fn component(&mut self, space: &SparseSpace<'_>, members: &[StateId]) -> ControlFlow<()> {
        let mut goal = false;
        for &m in members {
            if self.flags[m as usize] & GOAL != 0 {
                goal = true;
                break;
            }
            space.marked_into(m, &mut self.marking);
            self.cases.read(&self.marking);
            if self.cases.done() {
                goal = true;
                break;
            }
        }
        let mark = if goal {
            GOAL
        } else if members.len() > 1 || self.flags[members[0] as usize] & LOOP != 0 {
            CYCLE | REACH
        } else {
            self.flags[members[0] as usize] & REACH
        };
        for &m in members {
            self.flags[m as usize] |= mark;
        }
        ControlFlow::Continue(())
    }
}

/// A shortest non-empty sequence of moves `follow` accepts from `from` to
/// a state `goal` accepts, through states `inside` accepts: the state
/// reached and the sequence.
fn shortest(
    space: &SparseSpace<'_>,
    from: StateId,
    follow: &dyn Fn(usize) -> bool,
    inside: impl Fn(StateId) -> bool,
    goal: impl Fn(StateId) -> bool,
) -> Option<(StateId, Vec<TransitionId>)> {
    let mut came: HashMap<StateId, (StateId, TransitionId)> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    let mut c = space.cursor();
    while let Some(s) = queue.pop_front() {
        space.load(s, &mut c);
        for i in 0..c.enabled.len() {
            let t = c.enabled[i] as usize;
            let Some(w) = follow(t).then(|| space.successor(&mut c, t)).flatten() else {
                continue;
            };
            if goal(w) {
                let mut steps = path(&came, from, s);
                steps.push(t);
                return Some((w, steps));
            }
            if w != from && inside(w) && !came.contains_key(&w) {
                came.insert(w, (s, t));
                queue.push_back(w);
            }
        }
    }
    None
}

/// The transitions from `from` to `to` along `came`.
fn path(
    came: &HashMap<StateId, (StateId, TransitionId)>,
    from: StateId,
    to: StateId,
) -> Vec<TransitionId> {
    let mut steps = Vec::new();
    let mut s = to;
    while s != from {
        let (p, t) = came[&s];
        steps.push(t);
        s = p;
    }
    steps.reverse();
    steps
}
