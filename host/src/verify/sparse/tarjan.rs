//! Strongly connected components of an explored state space.
//!
//! An iterative Tarjan search in Pearce's one-array form: `rindex[s]` is
//! the depth-first number of state `s` while it is open, lowered to the
//! least number it reaches, and [`FINISHED`] once its component is done.
//! Edges are not stored: a frame's successors are recomputed when it is
//! pushed and kept on a shared stack until it is popped. Components complete
//! in reverse topological order (every component a member reaches is done
//! first), which is what lets [`Components`] fold facts backwards: whether a
//! state reaches a goal, whether a component is a bottom one.
//!
//! The search holds 4 bytes per state plus its stacks, checks them against
//! [`Options::max_memory`] as they grow, and watches the deadline.

use std::ops::ControlFlow;

use super::super::exploration::{Options, StateId};
use super::{Cursor, SparseSpace};

const FINISHED: u32 = u32::MAX;

/// Frames pushed between looks at the clock.
const CLOCK_EVERY: u32 = 4096;

/// What a search is told, in order.
pub(crate) trait Components {
    /// State `v` has an edge to `w`. `finished`: `w`'s component is complete
    /// (so it is not `v`'s); otherwise both end in one component.
    fn edge(&mut self, v: StateId, w: StateId, finished: bool) -> ControlFlow<()>;

    /// A complete component; the components its members reach came before.
    fn component(&mut self, space: &SparseSpace<'_>, members: &[StateId]) -> ControlFlow<()>;
}

/// How a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Searched {
    /// Every state reachable from the initial one was seen.
    Done,
    /// The visitor said stop.
    Stopped,
    /// Going on would pass [`Options::max_memory`].
    Memory,
    /// [`Options::deadline`] passed.
    Time,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    state: StateId,
    index: u32,
    /// Next successor to look at, in `succ`; this frame's run starts at `from`.
    next: usize,
    from: usize,
    root: bool,
}

/// Runs the search over `space` (completely explored), following only the
/// transitions `follow` accepts, from every state. `held` is what
/// the caller holds already, in bytes, for the memory bound; the search's
/// own peak is returned with how it ended.
pub(crate) fn components(
    space: &SparseSpace<'_>,
    follow: &dyn Fn(usize) -> bool,
    visitor: &mut dyn Components,
    options: &Options,
    held: usize,
) -> (Searched, usize) {
    let n = space.states() as usize;
    let mut peak = held + 4 * n;
    if !options.fits(peak) || n == 0 {
        return (
            if n == 0 {
                Searched::Done
            } else {
                Searched::Memory
            },
            peak,
        );
    }
    let mut rindex = vec![0u32; n];
    let mut frames: Vec<Frame> = Vec::new();
    let mut succ: Vec<StateId> = Vec::new();
    let mut stack: Vec<StateId> = Vec::new();
    let mut cursor = space.cursor();
    let mut counter = 1u32;
    let bytes = |f: usize, s: usize, st: usize| held + 4 * n + 32 * f + 4 * s + 4 * st;
    // Pushes a frame for `v`, with its successors; false when out of memory.
    let mut open = |v: StateId,
                    rindex: &mut Vec<u32>,
                    frames: &mut Vec<Frame>,
                    succ: &mut Vec<StateId>,
                    counter: &mut u32| {
        rindex[v as usize] = *counter;
        let from = succ.len();
        space.load(v, &mut cursor);
        for i in 0..cursor.enabled.len() {
            let t = cursor.enabled[i] as usize;
            if follow(t)
                && let Some(w) = space.successor(&mut cursor, t)
            {
                succ.push(w);
            }
        }
        frames.push(Frame {
            state: v,
            index: *counter,
            next: from,
            from,
            root: true,
        });
        *counter += 1;
    };
    // Every state is a root in turn (those `follow` does not reach from the
    // initial marking too), in breadth-first order.
    let mut root = 0usize;
    loop {
        if frames.is_empty() {
            while root < n && rindex[root] != 0 {
                root += 1;
            }
            if root == n {
                break;
            }
            open(
                root as StateId,
                &mut rindex,
                &mut frames,
                &mut succ,
                &mut counter,
            );
        }
        let top = *frames.last().expect("a frame");
        let grown = frames.len() == frames.capacity()
            || succ.capacity() - succ.len() < 64
            || stack.len() == stack.capacity();
        if grown {
            let b = bytes(
                2 * frames.capacity().max(4),
                2 * succ.capacity().max(64),
                2 * stack.capacity().max(4),
            );
            if !options.fits(b) {
                return (Searched::Memory, peak);
            }
            peak = peak.max(b);
        }
        if counter.is_multiple_of(CLOCK_EVERY) && options.late() {
            return (Searched::Time, peak);
        }
        let v = top.state;
        if top.next < succ.len() {
            let w = succ[top.next];
            frames.last_mut().expect("a frame").next += 1;
            match rindex[w as usize] {
                0 => open(w, &mut rindex, &mut frames, &mut succ, &mut counter),
                FINISHED => {
                    if visitor.edge(v, w, true).is_break() {
                        return (Searched::Stopped, peak);
                    }
                }
                r => {
                    if visitor.edge(v, w, false).is_break() {
                        return (Searched::Stopped, peak);
                    }
                    if r < rindex[v as usize] {
                        rindex[v as usize] = r;
                        frames.last_mut().expect("a frame").root = false;
                    }
                }
            }
            continue;
        }
        let done = frames.pop().expect("a frame");
        succ.truncate(done.from);
        if done.root {
            let mut k = stack.len();
            while k > 0 && rindex[stack[k - 1] as usize] >= done.index {
                k -= 1;
            }
            stack.push(v);
            for &m in &stack[k..] {
                rindex[m as usize] = FINISHED;
            }
            if visitor.component(space, &stack[k..]).is_break() {
                return (Searched::Stopped, peak);
            }
            stack.truncate(k);
        } else {
            stack.push(v);
        }
        if let Some(parent) = frames.last_mut() {
            let p = parent.state;
            if visitor.edge(p, v, done.root).is_break() {
                return (Searched::Stopped, peak);
            }
            if !done.root && rindex[v as usize] < rindex[p as usize] {
                rindex[p as usize] = rindex[v as usize];
                parent.root = false;
            }
        }
    }
    (Searched::Done, peak)
}

/// Liveness: whether every bottom component (one no edge leaves) enables
/// every transition. From any marking some bottom component is reachable,
/// and inside one every transition it enables fires again and again.
pub(crate) struct Liveness {
    /// Per state: an edge leaves its component.
    exits: Vec<u64>,
    /// Per transition: the last bottom component that enabled it.
    seen: Vec<u32>,
    stamp: u32,
    cursor: Cursor,
    /// The answer so far.
    pub(crate) live: bool,
}

impl Liveness {
    /// A fresh fold for `space`.
    pub(crate) fn new(space: &SparseSpace<'_>) -> Liveness {
        Liveness {
            exits: vec![0; (space.states() as usize).div_ceil(64)],
            seen: vec![0; space.net().transitions().len()],
            stamp: 0,
            cursor: space.cursor(),
            live: true,
        }
    }

    /// Bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        8 * self.exits.len() + 4 * self.seen.len() + 4 * self.cursor.places()
    }
}

impl Components for Liveness {
    fn edge(&mut self, v: StateId, _: StateId, finished: bool) -> ControlFlow<()> {
        if finished {
            self.exits[v as usize / 64] |= 1 << (v % 64);
        }
        ControlFlow::Continue(())
    }

    fn component(&mut self, space: &SparseSpace<'_>, members: &[StateId]) -> ControlFlow<()> {
        if members
            .iter()
            .any(|&m| self.exits[m as usize / 64] >> (m % 64) & 1 == 1)
        {
            return ControlFlow::Continue(());
        }
        self.stamp += 1;
        let mut enabled = 0;
        for &m in members {
            space.load(m, &mut self.cursor);
            for &t in &self.cursor.enabled {
                let seen = &mut self.seen[t as usize];
                if *seen != self.stamp {
                    *seen = self.stamp;
                    enabled += 1;
                }
            }
        }
        if enabled < self.seen.len() {
            self.live = false;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}
