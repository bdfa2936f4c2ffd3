//! The sparse engine: breadth-first exploration where a marking costs its
//! marked places, not the net's.
//!
//! The packed engine ([`super::StateSpace`]) gives every place a field in
//! every stored marking, which is unbeatable on contest nets of a few hundred
//! places and useless on a ring of 100,000 places holding one token (12.5 kB
//! per marking where 3 bytes say it all). This engine stores each marking as
//! its marked places, varint-encoded ([`code`]), in an arena with a hash
//! index ([`visited`]), and fires transitions from compiled rules whose size
//! is that of the net's arcs ([`rules`]). It also fires resets, which the
//! workflow translation needs (an aborted case loses all its tokens).
//!
//! States are numbered in discovery order, so following parents gives a
//! shortest firing sequence; each state keeps its parent and the transition
//! that led to it. [`tarjan`] finds strongly connected components over the
//! explored graph (liveness here, soundness in the workflow check),
//! recomputing edges instead of storing them.
//!
//! Exploration stops inconclusively rather than hold more than
//! [`Options::max_memory`] bytes, store more than [`Options::max_states`]
//! markings or run past [`Options::deadline`].

mod code;
mod rules;
pub(crate) mod tarjan;
mod visited;

use std::time::Instant;

use super::column::Column;
use super::exploration::{MAX_STATES, Markings, Observer, Options, ROOT, StateId, Stop, Summary};
use super::progress::Progress;
use super::ptnet::{PtNet, TransitionId};
pub(crate) use code::Marked;
use code::{decode, encode, hash};
pub(crate) use rules::{Effect, Rules, Scratch, merged};
use visited::Visited;

/// Expansions between looks at the clock.
const CLOCK_EVERY: usize = 256;

/// The explored state space of a net, markings stored sparsely.
#[derive(Debug)]
pub struct SparseSpace<'n> {
    net: &'n PtNet,
    pub(crate) rules: Rules,
    visited: Visited,
    /// Parent of each state ([`ROOT`] for the initial marking).
    parent: Column,
    /// The transition from its parent to each state.
    via: Column,
    /// What exploration saw.
    pub summary: Summary,
}

/// Reusable buffers for expanding one marking after another.
#[derive(Debug)]
pub(crate) struct Cursor {
    pub(crate) marking: Vec<Marked>,
    pub(crate) enabled: Vec<u32>,
    scratch: Scratch,
    key: Vec<u8>,
    grown: Vec<Marked>,
}

impl Cursor {
    /// Places of the net (the scratch array's length).
    pub(crate) fn places(&self) -> usize {
        self.scratch.len()
    }
}

impl<'n> SparseSpace<'n> {
    /// Explores the markings reachable in `net`, breadth first, showing each
    /// to `observer`.
    pub fn explore<O: Observer>(
        net: &'n PtNet,
        options: &Options,
        observer: &mut O,
    ) -> SparseSpace<'n> {
        let start = Instant::now();
        let mut space = SparseSpace {
            net,
            rules: Rules::new(net),
            visited: Visited::new(),
            parent: Column::default(),
            via: Column::default(),
            summary: Summary::start(net.initial_marking(), net.transitions().len()),
        };
        let initial = net.initial_marked();
        let mut key = Vec::new();
        encode(&initial, &mut key);
        let h = hash(&key);
        match space.visited.find(&key, h) {
            Err(slot) => {
                space.visited.insert(slot, &key, h);
            }
            Ok(_) => unreachable!("the visited set starts empty"),
        }
        space.parent.push(ROOT);
        space.via.push(ROOT);
        space.summary.stop = if options.fits(space.heap_bytes()) {
            space.run(options, observer)
        } else {
            Stop::Memory
        };
        let (states, heap) = (space.states(), space.heap_bytes());
        let bytes = space.visited.mean_bytes();
        space.summary.close(states, heap, bytes, start);
        space
    }

    /// Buffers for expanding this space's markings.
    pub(crate) fn cursor(&self) -> Cursor {
        Cursor {
            marking: Vec::new(),
            enabled: Vec::new(),
            scratch: Scratch::new(self.net.places().len()),
            key: Vec::new(),
            grown: Vec::new(),
        }
    }

    /// Bytes the exploration holds besides the markings: rules and scratch.
    fn fixed_bytes(&self) -> usize {
        self.rules.heap_bytes() + 8 * self.net.places().len()
    }

    fn run<O: Observer>(&mut self, options: &Options, observer: &mut O) -> Stop {
        let max_states = options.max_states.clamp(1, MAX_STATES) as usize;
        let mut progress = Progress::new(options.progress);
        let mut c = self.cursor();
        let mut s = 0usize;
        while s < self.visited.len() {
            if s.is_multiple_of(CLOCK_EVERY) {
                if options.late() {
                    return Stop::Time;
                }
                progress.tick(s, self.visited.len());
            }
            self.load(s as StateId, &mut c);
            let total: u64 = c.marking.iter().map(|&(_, m)| u64::from(m)).sum();
            let sum = &mut self.summary;
            sum.max_per_marking = sum.max_per_marking.max(total);
            sum.edges += c.enabled.len() as u64;
            if c.enabled.is_empty() && sum.first_deadlock.is_none() {
                sum.first_deadlock = Some(s as StateId);
            }
            if O::MARKINGS {
                observer.marking(s as StateId, &c.marking, &c.enabled);
            }
            for i in 0..c.enabled.len() {
                let t = c.enabled[i] as usize;
                self.summary.fired[t] = true;
                if let Err(place) = self.rules.fire(&c.marking, t, &mut c.key, &mut c.grown) {
                    return Stop::TooManyTokens {
                        place: place as usize,
                    };
                }
                let h = hash(&c.key);
                let Err(mut slot) = self.visited.find(&c.key, h) else {
                    continue;
                };
                if self.visited.len() >= max_states {
                    return Stop::Limit;
                }
                if self.visited.full() {
                    let bytes = self
                        .visited
                        .grown_index_bytes()
                        .map(|index| self.heap_bytes() + self.fixed_bytes() + index);
                    match bytes {
                        Some(b) if options.fits(b) => self.note_peak(b),
                        _ => return Stop::Memory,
                    }
                    self.visited.grow();
                    slot = self.visited.find(&c.key, h).expect_err("still new");
                }
                let after = self.visited.heap_bytes_after(c.key.len())
                    + self.parent.heap_bytes_after(1)
                    + self.via.heap_bytes_after(1)
                    + self.fixed_bytes();
                if !options.fits(after) {
                    return Stop::Memory;
                }
                let top = self.visited.insert(slot, &c.key, h);
                self.parent.push(s as u32);
                self.via.push(t as u32);
                for j in 0..c.grown.len() {
                    let (p, v) = c.grown[j];
                    let p = p as usize;
                    if v > self.summary.max_in_place[p] {
                        self.summary.max_in_place[p] = v;
                        if v >= 2
                            && self.net.places()[p].capacity.is_none()
                            && let Some(base) = self.covered_ancestor(top, &c.key)
                        {
                            return Stop::Unbounded { base, top };
                        }
                    }
                }
            }
            s += 1;
            self.summary.expanded = s as u64;
        }
        Stop::Complete
    }

    fn note_peak(&mut self, bytes: usize) {
        self.summary.peak_bytes = self.summary.peak_bytes.max(bytes);
    }

    /// Decodes state `s` into `c.marking` and lists the transitions it
    /// enables in `c.enabled`.
    pub(crate) fn load(&self, s: StateId, c: &mut Cursor) {
        decode(self.visited.get(s), &mut c.marking);
        self.rules
            .enabled_in(&c.marking, &mut c.scratch, &mut c.enabled);
    }

    /// The state reached from the marking in `c` (loaded by
    /// [`SparseSpace::load`]) by firing `t`, when it was stored.
    pub(crate) fn successor(&self, c: &mut Cursor, t: usize) -> Option<StateId> {
        self.rules
            .fire(&c.marking, t, &mut c.key, &mut c.grown)
            .ok()?;
        self.visited.find(&c.key, hash(&c.key)).ok()
    }

    /// The nearest ancestor of `top` (whose encoding is `key`) that `top`
    /// covers, equal in every place with a capacity and smaller in some
    /// place without one that no transition between them resets: the firing
    /// sequence between them can then repeat forever, growing that place.
    fn covered_ancestor(&self, top: StateId, key: &[u8]) -> Option<StateId> {
        let mut high = Vec::new();
        decode(key, &mut high);
        let mut low = Vec::new();
        let mut reset: Vec<u32> = Vec::new();
        let places = self.net.places();
        let mut child = top;
        let mut a = self.parent.get(top as usize);
        while a != ROOT {
            if self.net.has_resets() {
                let t = &self.net.transitions()[self.via.get(child as usize) as usize];
                reset.extend(t.resets.iter().map(|&p| p as u32));
                reset.sort_unstable();
                reset.dedup();
            }
            decode(self.visited.get(a), &mut low);
            if pumps(
                &low,
                &high,
                |p| places[p as usize].capacity.is_some(),
                &reset,
            ) {
                return Some(a);
            }
            child = a;
            a = self.parent.get(a as usize);
        }
        None
    }

    /// The net explored.
    pub fn net(&self) -> &'n PtNet {
        self.net
    }

    /// Number of markings stored.
    pub fn states(&self) -> u64 {
        self.visited.len() as u64
    }

    /// Bytes held by the visited set and the numbers.
    pub fn heap_bytes(&self) -> usize {
        self.visited.heap_bytes() + self.parent.heap_bytes() + self.via.heap_bytes()
    }

    /// The marked places of `state`, as `(place, tokens)` sorted by place.
    pub fn marked(&self, state: StateId) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        self.marked_into(state, &mut out);
        out
    }

    /// Decodes the marked places of `state` into `out`.
    pub(crate) fn marked_into(&self, state: StateId, out: &mut Vec<Marked>) {
        decode(self.visited.get(state), out);
    }

    /// The marking of `state`, one count per place.
    pub fn marking(&self, state: StateId) -> Vec<u32> {
        let mut out = vec![0; self.net.places().len()];
        for (p, m) in self.marked(state) {
            out[p as usize] = m;
        }
        out
    }

    /// The parent of `state` in the breadth-first tree.
    pub fn parent(&self, state: StateId) -> Option<StateId> {
        Some(self.parent.get(state as usize)).filter(|&p| p != ROOT)
    }

    /// A shortest firing sequence from the initial marking to `state`.
    pub fn trace(&self, state: StateId) -> Vec<TransitionId> {
        self.path(None, state)
    }

    /// The firing sequence from `ancestor` to its descendant `state` along
    /// the breadth-first tree (from the initial marking when `None`).
    pub fn path(&self, ancestor: Option<StateId>, state: StateId) -> Vec<TransitionId> {
        let mut steps = Vec::new();
        let mut s = state;
        while Some(s) != ancestor {
            let Some(p) = self.parent(s) else { break };
            steps.push(self.via.get(s as usize) as usize);
            s = p;
        }
        steps.reverse();
        steps
    }
}

impl Markings for SparseSpace<'_> {
    fn marking_of(&self, state: StateId) -> Vec<u32> {
        self.marking(state)
    }

    fn path_to(&self, ancestor: Option<StateId>, state: StateId) -> Vec<TransitionId> {
        self.path(ancestor, state)
    }
}

/// Whether the firings from `low` to `high` (which reset the places of
/// `reset`, sorted) repeat forever: `high` covers `low`, equal in every
/// place `capped` says has a capacity, and larger in some place without a
/// capacity that is not reset.
fn pumps(low: &[Marked], high: &[Marked], capped: impl Fn(u32) -> bool, reset: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    let mut grows = false;
    while i < low.len() || j < high.len() {
        let (p, l, h) = match (low.get(i), high.get(j)) {
            (Some(&(p, l)), Some(&(q, _))) if p < q => {
                i += 1;
                (p, l, 0)
            }
            (Some(&(p, l)), Some(&(q, h))) if p == q => {
                i += 1;
                j += 1;
                (p, l, h)
            }
            (Some(&(p, l)), None) => {
                i += 1;
                (p, l, 0)
            }
            (_, Some(&(q, h))) => {
                j += 1;
                (q, 0, h)
            }
            (None, None) => unreachable!("the loop stops first"),
        };
        if l > h || (l != h && capped(p)) {
            return false;
        }
        grows |= h > l && reset.binary_search(&p).is_err();
    }
    grows
}

#[cfg(test)]
mod tests;
