//! Firing sequences along the breadth-first tree of an exploration: each
//! state keeps its parent's number, and the transition between them is
//! found again by firing the parent's enabled transitions.

use super::exploration::{Markings, ROOT, StateId};
use super::explore::StateSpace;
use super::ptnet::TransitionId;

impl StateSpace<'_> {
    /// The parent of `state` in the breadth-first tree.
    pub fn parent(&self, state: StateId) -> Option<StateId> {
        Some(self.parent.get(state as usize)).filter(|&p| p != ROOT)
    }

    /// A shortest firing sequence from the initial marking to `state`.
    pub fn trace(&self, state: StateId) -> Vec<TransitionId> {
        self.path(None, state)
    }

    /// The firing sequence from `ancestor` to its descendant `state` along the
    /// breadth-first tree (from the initial marking when `ancestor` is `None`).
    pub fn path(&self, ancestor: Option<StateId>, state: StateId) -> Vec<TransitionId> {
        let w = self.layout.words();
        let (mut from, mut to, mut next) = (vec![0u64; w], vec![0u64; w], vec![0u64; w]);
        let mut steps = Vec::new();
        let mut s = state;
        while Some(s) != ancestor {
            let Some(p) = self.parent(s) else { break };
            self.table
                .load(self.order.get(p as usize) as usize, &mut from);
            self.table
                .load(self.order.get(s as usize) as usize, &mut to);
            let t = self
                .rules
                .enabled_in(&self.layout, &from)
                .find(|&t| {
                    next.copy_from_slice(&from);
                    self.rules.fire(&mut next, t);
                    next == to
                })
                .expect("a parent reaches its child by some transition");
            steps.push(t);
            s = p;
        }
        steps.reverse();
        steps
    }
}

impl Markings for StateSpace<'_> {
    fn marking_of(&self, state: StateId) -> Vec<u32> {
        self.marking(state)
    }

    fn path_to(&self, ancestor: Option<StateId>, state: StateId) -> Vec<TransitionId> {
        self.path(ancestor, state)
    }
}
