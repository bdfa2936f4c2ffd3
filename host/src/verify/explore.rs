//! Breadth-first exploration of the reachable markings.
//!
//! States are numbered in discovery order, which is breadth-first order, so
//! the queue is just a cursor over the numbers and the first state found with
//! a property is one at the least depth: following parent pointers gives a
//! shortest firing sequence to it. Per state the engine keeps its packed
//! marking in the [`Table`] (`order[id]` is its slot) and its parent's number;
//! the transition that led to it is recomputed when a trace is asked for.
//!
//! Boundedness is watched on the way at almost no cost: a new marking that
//! raises a place past its largest count so far (two tokens or more) is
//! compared with its ancestors; one it covers proves the net unbounded, and
//! the path between them is a sequence that pumps every place it grows.

use std::time::Instant;

use super::column::Column;
use super::exploration::{MAX_STATES, Observer, Options, ROOT, StateId, Stop, Summary};
use super::invariants::place_bounds;
use super::layout::{Layout, bits_for, mix};
use super::progress::Progress;
use super::ptnet::PtNet;
use super::reversibility::Descents;
use super::rules::Rules;
use super::table::{Batch, Table};

/// Markings expanded together (see [`StateSpace::run`]).
const BLOCK: usize = 32;

/// Blocks expanded between looks at the clock.
const CLOCK_EVERY: usize = 64;

/// Markings stored between checks of the memory bound (columns grow by
/// chunks in between).
const MEMORY_EVERY: usize = 1 << 12;

/// Bytes the columns may grow by between two checks of the memory bound.
const COLUMN_SLACK: usize = 3 << 18;

/// Successors of a block of markings, computed and hashed.
#[derive(Debug, Default)]
struct Block {
    from: usize,
    to: usize,
    batch: Batch,
    /// Per marking of the block, its successors in `batch`.
    spans: Vec<(usize, usize)>,
}

/// The explored state space of a net.
#[derive(Debug)]
pub struct StateSpace<'n> {
    net: &'n PtNet,
    pub(crate) layout: Layout,
    pub(crate) rules: Rules,
    pub(crate) table: Table,
    /// Slot of each state.
    pub(super) order: Column,
    /// Parent of each state ([`ROOT`] for the initial marking).
    pub(super) parent: Column,
    /// Which states have a successor numbered below them.
    descents: Descents,
    /// Markings re-encoded so far by widenings.
    reencoded: usize,
    /// Per place, the state that last raised its maximum.
    maxed_at: Vec<StateId>,
    /// What exploration saw.
    pub summary: Summary,
}

impl<'n> StateSpace<'n> {
    /// Explores the markings reachable in `net`, breadth first, showing each
    /// to `observer`.
    pub fn explore<O: Observer>(
        net: &'n PtNet,
        options: &Options,
        observer: &mut O,
    ) -> StateSpace<'n> {
        let start = Instant::now();
        let initial = net.initial_marking();
        // Fields as wide as a capacity or a place invariant allows; places
        // with neither start at their initial count and grow on demand.
        let bounds = place_bounds(net);
        let widths: Vec<u8> = net
            .places()
            .iter()
            .zip(&bounds)
            .map(|(p, b)| {
                let most = match (p.capacity, b) {
                    (Some(c), Some(b)) => u64::from(c).min(*b),
                    (Some(c), None) => u64::from(c),
                    (None, Some(b)) => *b,
                    (None, None) => u64::from(p.initial),
                };
                bits_for(most.max(u64::from(p.initial)))
            })
            .collect();
        let layout = Layout::new(&widths);
        let rules = Rules::new(net, &layout);
        let max_states = options.max_states.clamp(1, MAX_STATES) as usize;
        let mut space = StateSpace {
            net,
            table: Table::start(&layout, max_states, options.max_memory),
            layout,
            rules,
            order: Column::default(),
            parent: Column::default(),
            descents: Descents::default(),
            reencoded: 0,
            maxed_at: vec![0; net.places().len()],
            summary: Summary::start(initial.clone(), net.transitions().len()),
        };
        let mut key = vec![0u64; space.layout.words()];
        space.layout.encode(&initial, &mut key);
        let at = space
            .table
            .find(&key, space.layout.hash(&key))
            .expect_err("empty table");
        space.table.insert_at(at, &key);
        space.order.push(at as u32);
        space.parent.push(ROOT);
        space.summary.stop = if options.fits(space.heap_bytes()) {
            space.run(
                max_states,
                options,
                observer,
                &mut Progress::new(options.progress),
            )
        } else {
            Stop::Memory
        };
        let (states, heap, bytes) = (space.states(), space.heap_bytes(), space.layout.bytes());
        space.summary.close(states, heap, bytes, start);
        space
    }

    /// The breadth-first loop, a block of markings at a time, software
    /// pipelined: block `k + 1` is expanded (successors computed, hashed, home
    /// slots touched) before block `k`'s lookups run, so the cache misses of
    /// the lookups are already on their way.
    fn run<O: Observer>(
        &mut self,
        max_states: usize,
        options: &Options,
        observer: &mut O,
        progress: &mut Progress,
    ) -> Stop {
        let mut pending = Block::default();
        let mut spare = Block::default();
        let mut has_pending = false;
        let mut cur = vec![0u64; self.layout.words()];
        let mut unfired = self.summary.fired.len();
        let mut i = 0usize;
        let mut blocks = 0usize;
        loop {
            blocks += 1;
            if blocks.is_multiple_of(CLOCK_EVERY) && options.late() {
                return Stop::Time;
            }
            let mut expanded = false;
            if i < self.order.len() {
                let to = (i + BLOCK).min(self.order.len());
                match self.expand(&mut spare, i, to, &mut cur, &mut unfired) {
                    Ok(()) => expanded = true,
                    Err((place, need)) => {
                        // The pending block was computed under the old layout.
                        if has_pending {
                            has_pending = false;
                            if let Err(stop) =
                                self.commit(&pending, max_states, options, observer, &mut cur)
                            {
                                return stop;
                            }
                        }
                        if let Err(stop) = self.widen(place, need, options) {
                            return stop;
                        }
                        cur.resize(self.layout.words(), 0);
                        continue;
                    }
                }
            }
            let committed = has_pending;
            if has_pending {
                has_pending = false;
                if let Err(stop) = self.commit(&pending, max_states, options, observer, &mut cur) {
                    return stop;
                }
                if pending.to >> 16 != pending.from >> 16 {
                    progress.tick(pending.to, self.order.len());
                }
            }
            if expanded {
                std::mem::swap(&mut pending, &mut spare);
                has_pending = true;
                i = pending.to;
            } else if !committed {
                return Stop::Complete;
            }
        }
    }

    /// Computes the successors of markings `from..to` into `block`, or
    /// returns the place (and count) whose field a firing would overflow.
    fn expand(
        &mut self,
        block: &mut Block,
        from: usize,
        to: usize,
        cur: &mut [u64],
        unfired: &mut usize,
    ) -> Result<(), (usize, u64)> {
        let ahead = (to + BLOCK).min(self.order.len());
        if to < ahead {
            self.table
                .touch_slots(self.order.run(to, ahead).iter().copied());
        }
        block.from = from;
        block.to = to;
        block.batch.clear(self.layout.words());
        block.spans.clear();
        for s in from..to {
            self.table.load(self.order.get(s) as usize, cur);
            let start = block.batch.len();
            if let [w] = *cur {
                for t in self.rules.enabled_in(&self.layout, cur) {
                    if *unfired > 0 && !self.summary.fired[t] {
                        self.summary.fired[t] = true;
                        *unfired -= 1;
                    }
                    let Some(next) = self.rules.fire_word(w, t) else {
                        return Err(self.overflow(cur, t));
                    };
                    block.batch.push_word(next, t, mix(next));
                }
                block.spans.push((start, block.batch.len()));
                let total = self.layout.total(cur);
                self.summary.max_per_marking = self.summary.max_per_marking.max(total);
                continue;
            }
            let hash = self.layout.hash(cur);
            for t in self.rules.enabled_in(&self.layout, cur) {
                if *unfired > 0 && !self.summary.fired[t] {
                    self.summary.fired[t] = true;
                    *unfired -= 1;
                }
                if self.rules.overflow(cur, t).is_some() {
                    return Err(self.overflow(cur, t));
                }
                let next = block.batch.push(cur, t);
                let h = self.rules.fire_hashed(&self.layout, next, t, hash);
                block.batch.push_hash(h);
            }
            block.spans.push((start, block.batch.len()));
            let total = self.layout.total(cur);
            self.summary.max_per_marking = self.summary.max_per_marking.max(total);
        }
        block.batch.touch(&self.table);
        Ok(())
    }

    /// The place whose field firing `t` in `cur` overflows, and the count
    /// it needs to hold.
    fn overflow(&self, cur: &[u64], t: usize) -> (usize, u64) {
        let c = self
            .rules
            .overflow(cur, t)
            .expect("a firing that does not fit overflows some field");
        let p = c.place as usize;
        let tr = &self.net.transitions()[t];
        (p, c.value(cur) + u64::from(tr.produces(p) - tr.consumes(p)))
    }

    /// Looks up the successors of an expanded block, storing the new ones.
    fn commit<O: Observer>(
        &mut self,
        block: &Block,
        max_states: usize,
        options: &Options,
        observer: &mut O,
        cur: &mut [u64],
    ) -> Result<(), Stop> {
        let (mut marked, mut enabled) = (Vec::new(), Vec::new());
        for (s, &(start, stop)) in (block.from..block.to).zip(&block.spans) {
            let mut down = false;
            for j in start..stop {
                let (t, h, next) = block.batch.get(j);
                let mut at = match self.table.find(next, h) {
                    Ok(at) => {
                        down |= self.descents.done(at);
                        continue;
                    }
                    Err(at) => at,
                };
                if self.order.len() >= max_states {
                    return Err(Stop::Limit);
                }
                if self.order.len().is_multiple_of(MEMORY_EVERY)
                    && !options.fits(self.heap_bytes() + COLUMN_SLACK)
                {
                    return Err(Stop::Memory);
                }
                if self.table.full() {
                    let states = self.table.capacity();
                    let bigger = Table::bytes_for(&self.layout, states);
                    let peak = self.heap_bytes() + bigger;
                    if !options.fits(peak) {
                        return Err(Stop::Memory);
                    }
                    self.summary.peak_bytes = self.summary.peak_bytes.max(peak);
                    self.table.rebuild(&mut self.order, &self.layout, states);
                    self.descents.moved(&self.order, s);
                    at = self.table.find(next, h).expect_err("still new");
                }
                self.table.insert_at(at, next);
                self.order.push(at as u32);
                self.parent.push(s as u32);
                let top = (self.order.len() - 1) as StateId;
                for c in self.rules.growing(t) {
                    let v = c.value(next) as u32;
                    let p = c.place as usize;
                    if v > self.summary.max_in_place[p] {
                        self.summary.max_in_place[p] = v;
                        self.maxed_at[p] = top;
                        if v >= 2
                            && self.net.places()[p].capacity.is_none()
                            && let Some(base) = self.covered_ancestor(s as StateId, next)
                        {
                            return Err(Stop::Unbounded { base, top });
                        }
                    }
                }
            }
            self.descents.finish(s, self.order.get(s) as usize, down);
            self.summary.edges += (stop - start) as u64;
            if stop == start && self.summary.first_deadlock.is_none() {
                self.summary.first_deadlock = Some(s as StateId);
            }
            if O::MARKINGS {
                self.table.load(self.order.get(s) as usize, cur);
                marked.clear();
                self.layout
                    .for_each_marked(cur, |p, m| marked.push((p as u32, m)));
                enabled.clear();
                enabled.extend((start..stop).map(|j| block.batch.get(j).0 as u32));
                observer.marking(s as StateId, &marked, &enabled);
            }
        }
        self.summary.expanded = block.to as u64;
        Ok(())
    }

    /// Widens `place` to hold `need` tokens and re-encodes every marking.
    ///
    /// Each re-encoding costs a pass over the stored markings, so late ones
    /// get a spare bit, and once re-encoding has cost more than twice the
    /// markings stored, every place that filled its field recently (in the
    /// later half of the markings stored) is widened in the same pass.
    fn widen(&mut self, place: usize, need: u64, options: &Options) -> Result<(), Stop> {
        let n = self.order.len();
        let mut needs = vec![(place, need)];
        self.reencoded += n;
        if self.reencoded > 2 * n {
            let net = self.net;
            let growable = |q: usize| {
                net.places()[q].capacity.is_none()
                    && net
                        .transitions()
                        .iter()
                        .any(|t| t.produces(q) > t.consumes(q))
            };
            needs.extend(
                (0..self.layout.places())
                    .filter(|&q| {
                        q != place
                            && self.maxed_at[q] as usize >= n / 2
                            && u64::from(self.summary.max_in_place[q]) == self.layout.max(q)
                            && growable(q)
                    })
                    .map(|q| (q, self.layout.max(q) + 1)),
            );
        }
        let headroom = u8::from(n >= 1 << 16);
        let layout = self
            .layout
            .widen(&needs, headroom)
            .ok_or(Stop::TooManyTokens { place })?;
        // The old table and the new one are both held while it is filled.
        let old = self.heap_bytes();
        let peak = old + Table::slot_bytes(&layout, self.table.capacity());
        if !options.fits(peak) {
            return Err(Stop::Memory);
        }
        if self.layout.words() == 1 || layout.words() == 1 {
            self.table.relayout(&mut self.order, &self.layout, &layout);
            self.descents
                .moved(&self.order, self.summary.expanded as usize);
        } else {
            self.table = self.table.reencode(&self.layout, &layout);
        }
        self.summary.peak_bytes = self.summary.peak_bytes.max(peak);
        self.rules = Rules::new(self.net, &layout);
        self.layout = layout;
        Ok(())
    }

    /// The nearest ancestor of `from` (inclusive) that `top` covers.
    fn covered_ancestor(&self, from: StateId, top: &[u64]) -> Option<StateId> {
        let mut words = vec![0u64; self.layout.words()];
        let mut a = from;
        while a != ROOT {
            self.table
                .load(self.order.get(a as usize) as usize, &mut words);
            if self.layout.covered(&words, top) {
                return Some(a);
            }
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
        self.order.len() as u64
    }

    /// Bytes currently held by the visited set, parents and queue.
    pub fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
            + self.order.heap_bytes()
            + self.parent.heap_bytes()
            + self.descents.heap_bytes()
    }

    /// The marking of `state`, one count per place.
    pub fn marking(&self, state: StateId) -> Vec<u32> {
        let mut words = vec![0u64; self.layout.words()];
        self.table
            .load(self.order.get(state as usize) as usize, &mut words);
        let mut out = vec![0u32; self.layout.places()];
        self.layout.decode(&words, &mut out);
        out
    }

    /// Slot of the initial marking in the visited set.
    pub(crate) fn root_slot(&self) -> usize {
        self.order.get(0) as usize
    }

    /// Gives up the parents, keeping the visited set, the slot of each state
    /// and the descents for [`super::reversibility`] and [`super::scc`].
    pub(crate) fn into_parts(self) -> (Layout, Rules, Table, Column, Descents) {
        (
            self.layout,
            self.rules,
            self.table,
            self.order,
            self.descents,
        )
    }
}
