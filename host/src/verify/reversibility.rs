//! Reversibility: whether every reachable marking can reach the initial
//! marking back. Then the reachability graph is one strongly connected
//! component, and the net is live exactly when it is quasi-live.
//!
//! Exploration numbers the markings breadth first and notes which of them
//! *step down*, having a successor numbered below them ([`Descents`]): the
//! bit per slot of "successors looked up already" tells it for free while
//! the successors are looked up. By induction on the numbers, every marking
//! reaches the initial one as soon as every marking that does not step down
//! (an *ascending* marking) reaches one numbered below it. Most markings of
//! a reversible net step down, so [`settle`] only searches forward from the
//! ascending ones, in order of their numbers, for a marking numbered below
//! the search's start or already shown to reach back (every marking on the
//! path of a search that succeeded is). A search that runs out of markings
//! proves the net irreversible; one that grows too long gives up, and
//! [`reversible`] decides with a breadth-first search over the reversed net
//! from the initial marking, which visits every marking.

use std::collections::VecDeque;

use super::column::Column;
use super::layout::{Layout, mix};
use super::ptnet::PtNet;
use super::rules::Rules;
use super::table::{Batch, Table};

/// Markings expanded together by [`reversible`].
const BLOCK: usize = 32;

/// Queue entry of a search's start (it has no predecessor in the queue).
const START: u32 = u32::MAX;

/// What exploration notes about descents, for [`settle`].
#[derive(Debug, Default)]
pub(crate) struct Descents {
    /// By slot: the markings whose successors were looked up, which are
    /// exactly those numbered below the marking being looked at.
    done: Vec<u64>,
    /// By number: the markings, bar the initial one, with no successor
    /// numbered below them.
    ascending: Vec<u64>,
    /// Markings in `ascending`.
    count: usize,
}

impl Descents {
    /// Whether the marking in `slot` had its successors looked up already.
    #[inline]
    pub(crate) fn done(&self, slot: usize) -> bool {
        self.done
            .get(slot / 64)
            .is_some_and(|w| w >> (slot % 64) & 1 != 0)
    }

    /// Records that marking `number`, in `slot`, had its successors looked
    /// up; `down` when one of them is numbered below it.
    #[inline]
    pub(crate) fn finish(&mut self, number: usize, slot: usize, down: bool) {
        set(&mut self.done, slot);
        if !down && number > 0 {
            set(&mut self.ascending, number);
            self.count += 1;
        }
    }

    /// Notes the slots of the first `upto` markings of `order` as done again,
    /// after the visited set moved its markings.
    pub(crate) fn moved(&mut self, order: &Column, upto: usize) {
        self.done.clear();
        for i in 0..upto {
            set(&mut self.done, order.get(i) as usize);
        }
    }

    /// Bytes allocated.
    pub(crate) fn heap_bytes(&self) -> usize {
        8 * (self.done.capacity() + self.ascending.capacity())
    }
}

#[inline]
fn set(bits: &mut Vec<u64>, i: usize) {
    if i / 64 >= bits.len() {
        bits.resize(i / 64 + 1, 0);
    }
    bits[i / 64] |= 1 << (i % 64);
}

#[inline]
fn test(bits: &[u64], i: usize) -> bool {
    bits[i / 64] >> (i % 64) & 1 != 0
}

/// The indices of the set bits of `bits`, in increasing order.
fn ones(bits: &[u64]) -> impl Iterator<Item = usize> + '_ {
    bits.iter().enumerate().flat_map(|(k, &w)| {
        let mut w = w;
        std::iter::from_fn(move || {
            (w != 0).then(|| {
                let i = w.trailing_zeros() as usize;
                w &= w - 1;
                64 * k + i
            })
        })
    })
}

/// What [`settle`] found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settlement {
    /// Whether every marking reaches the initial one back; `None` when the
    /// searches gave up.
    pub(crate) reversible: Option<bool>,
    /// Peak bytes of the searches.
    pub(crate) peak_bytes: usize,
}

/// How one search from an ascending marking ended.
enum Search {
    /// Queue entry `i` has a successor that reaches the initial marking.
    Found(usize),
    /// Every marking reachable from the start was looked at: none does.
    Exhausted,
    /// Too long.
    GaveUp,
}

/// Decides reversibility from the ascending markings of `descents` alone,
/// when forward searches from them are short (see the module docs): `order`
/// lists the slot of each marking of `table` by number.
pub(crate) fn settle(
    layout: &Layout,
    rules: &Rules,
    table: &Table,
    order: &Column,
    descents: &Descents,
) -> Settlement {
    let states = order.len();
    let bits = table.capacity().div_ceil(64);
    // By slot: markings known to reach the initial one (those numbered
    // below the current search's start, and those on the path of a search
    // that succeeded); markings queued by the current search.
    let (mut reach, mut seen) = (vec![0u64; bits], vec![0u64; bits]);
    let mut below = 0;
    let mut queue: Vec<(u32, u32)> = Vec::new();
    // Searches expand at most half as many markings as a breadth-first
    // search; they give up early when what those so far cost, extrapolated
    // to every ascending marking, is twice that (later ones cost less, as
    // more markings are known to reach back); one search expands at most a
    // 256th of it.
    let budget = (states / 2).max(1 << 12);
    let mut spent = 0usize;
    let mut words = vec![0u64; layout.words()];
    let mut batch = Batch::default();
    let mut reversible = Some(true);
    for (searched, f) in ones(&descents.ascending).enumerate() {
        if searched % 64 == 63
            && spent > budget / 16
            && spent.saturating_mul(descents.count) / searched > 2 * budget
        {
            reversible = None;
            break;
        }
        while below < f {
            set(&mut reach, order.get(below) as usize);
            below += 1;
        }
        let start = order.get(f) as usize;
        if test(&reach, start) {
            continue;
        }
        queue.clear();
        queue.push((start as u32, START));
        set(&mut seen, start);
        let search = 'search: {
            for head in 0.. {
                let Some(&(slot, _)) = queue.get(head) else {
                    break 'search Search::Exhausted;
                };
                if spent == budget || head > (budget / 256).max(1 << 10) {
                    break 'search Search::GaveUp;
                }
                spent += 1;
                table.load(slot as usize, &mut words);
                let hash = layout.hash(&words);
                batch.clear(layout.words());
                for t in rules.enabled_in(layout, &words) {
                    let h = rules.fire_hashed(layout, batch.push(&words, t), t, hash);
                    batch.push_hash(h);
                }
                batch.touch(table);
                for j in 0..batch.len() {
                    let (_, h, key) = batch.get(j);
                    let at = table
                        .find(key, h)
                        .expect("successors are reachable markings");
                    if test(&reach, at) {
                        break 'search Search::Found(head);
                    }
                    if !test(&seen, at) {
                        set(&mut seen, at);
                        queue.push((at as u32, head as u32));
                    }
                }
            }
            unreachable!("a search ends")
        };
        for &(s, _) in &queue {
            seen[s as usize / 64] &= !(1 << (s % 64));
        }
        match search {
            Search::Found(mut i) => loop {
                let (s, from) = queue[i];
                set(&mut reach, s as usize);
                if from == START {
                    break;
                }
                i = from as usize;
            },
            Search::Exhausted => {
                // `f` (not the initial marking) reaches only markings
                // numbered above it.
                reversible = Some(false);
                break;
            }
            Search::GaveUp => {
                reversible = None;
                break;
            }
        }
    }
    Settlement {
        reversible,
        peak_bytes: 16 * bits + 8 * queue.capacity(),
    }
}

/// Whether the initial marking (in slot `root`) can be reached back from
/// each of the `states` markings in `table`: then the reachability graph is
/// one strongly connected component, and the net is live exactly when it is
/// quasi-live. A breadth-first search over the reversed net, with the
/// visited set of markings as the universe, one bit per slot.
pub(crate) fn reversible(
    net: &PtNet,
    layout: &Layout,
    table: &Table,
    root: usize,
    states: usize,
) -> Reversibility {
    let reversed = net.reversed();
    let rules = Rules::new(&reversed, layout);
    let mut seen = vec![0u64; table.capacity().div_ceil(64)];
    let mut queue = VecDeque::from([root as u32]);
    seen[root / 64] |= 1 << (root % 64);
    let mut reached = 1usize;
    let mut words = vec![0u64; layout.words()];
    let mut batch = Batch::default();
    let mut peak = 0usize;
    // As in exploration: a block's lookups are issued together, and the next
    // block is expanded before this one's lookups run.
    let mut pending = Batch::default();
    let mut has_pending = false;
    loop {
        let expanded = !queue.is_empty();
        if expanded {
            batch.clear(layout.words());
            for _ in 0..BLOCK.min(queue.len()) {
                let slot = queue.pop_front().expect("not empty");
                table.load(slot as usize, &mut words);
                if let [w] = words[..] {
                    for t in rules.enabled_in(layout, &words) {
                        // A predecessor that does not fit the layout was never stored.
                        if let Some(n) = rules.fire_word(w, t) {
                            batch.push_word(n, t, mix(n));
                        }
                    }
                    continue;
                }
                let hash = layout.hash(&words);
                for t in rules.enabled_in(layout, &words) {
                    // A predecessor that does not fit the layout was never stored.
                    if rules.overflow(&words, t).is_none() {
                        let h = rules.fire_hashed(layout, batch.push(&words, t), t, hash);
                        batch.push_hash(h);
                    }
                }
            }
            table.touch_slots(queue.iter().take(BLOCK).copied());
            batch.touch(table);
        }
        let committed = has_pending;
        if has_pending {
            has_pending = false;
            for j in 0..pending.len() {
                let (_, h, key) = pending.get(j);
                if let Ok(at) = table.find(key, h)
                    && seen[at / 64] & (1 << (at % 64)) == 0
                {
                    seen[at / 64] |= 1 << (at % 64);
                    reached += 1;
                    if queue.len() == queue.capacity() {
                        peak = peak.max(4 * queue.len());
                    }
                    queue.push_back(at as u32);
                }
            }
            if reached == states {
                break;
            }
        }
        if expanded {
            std::mem::swap(&mut pending, &mut batch);
            has_pending = true;
        } else if !committed {
            break;
        }
    }
    Reversibility {
        reversible: reached == states,
        peak_bytes: 8 * seen.len() + peak.max(4 * queue.capacity()),
    }
}

/// What [`reversible`] found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reversibility {
    /// Every reachable marking can reach the initial marking back.
    pub(crate) reversible: bool,
    /// Peak bytes of the search.
    pub(crate) peak_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::exploration::Options;
    use crate::verify::explore::StateSpace;
    use crate::verify::ptnet::PtPlace;

    /// A net of `initial.len()` places holding `initial` tokens, with a
    /// transition moving one token for each `(from, to)` of `moves`.
    fn tokens(initial: &[u32], moves: &[(usize, usize)]) -> PtNet {
        let mut net = PtNet::new("t");
        for (p, &initial) in initial.iter().enumerate() {
            net.add_place(PtPlace::new(format!("p{p}"), initial))
                .unwrap();
        }
        for (i, &(from, to)) in moves.iter().enumerate() {
            net.add_transition(format!("t{i}"), None, &[(from, 1)], &[(to, 1)])
                .unwrap();
        }
        net
    }

    /// A ring of `n` places with one token.
    fn ring(n: usize) -> PtNet {
        let mut initial = vec![0; n];
        initial[0] = 1;
        let moves: Vec<_> = (0..n).map(|p| (p, (p + 1) % n)).collect();
        tokens(&initial, &moves)
    }

    /// What [`settle`] and [`reversible`] decide for `net`, after checking
    /// the ascending markings exploration noted against a recount.
    fn decide(net: &PtNet) -> (Option<bool>, bool) {
        let space = StateSpace::explore(net, &Options::default(), &mut ());
        let root = space.root_slot();
        let (layout, rules, table, order, descents) = space.into_parts();
        let states = order.len();
        let mut number = vec![usize::MAX; table.capacity()];
        for i in 0..states {
            number[order.get(i) as usize] = i;
        }
        let mut words = vec![0u64; layout.words()];
        for i in 1..states {
            table.load(order.get(i) as usize, &mut words);
            let down = rules.enabled_in(&layout, &words).any(|t| {
                let mut next = words.clone();
                let h = rules.fire_hashed(&layout, &mut next, t, layout.hash(&words));
                number[table.find(&next, h).unwrap()] < i
            });
            let ascending = descents
                .ascending
                .get(i / 64)
                .is_some_and(|w| w >> (i % 64) & 1 != 0);
            assert_eq!(ascending, !down, "marking {i}");
        }
        let settled = settle(&layout, &rules, &table, &order, &descents);
        let r = reversible(net, &layout, &table, root, states);
        (settled.reversible, r.reversible)
    }

    #[test]
    fn a_ring_settles_from_its_ascending_markings() {
        // p0 -> p1 -> p2 -> p0: the marking with the token in p1 steps up.
        assert_eq!(decide(&ring(3)), (Some(true), true));
    }

    #[test]
    fn a_marking_that_reaches_only_higher_numbers_is_irreversible() {
        // p0 -> p1 <-> p2: nothing leads back to p0.
        let net = tokens(&[1, 0, 0], &[(0, 1), (1, 2), (2, 1)]);
        assert_eq!(decide(&net), (Some(false), false));
    }

    #[test]
    fn a_long_way_back_is_left_to_the_reversed_search() {
        assert_eq!(decide(&ring(3000)), (None, true));
    }

    #[test]
    fn descents_survive_widening() {
        // Two tokens on a ring; a dead transition producing into p1 leaves
        // every place without an invariant, so p0 and p2 start one bit wide.
        // p0 comes first, so widening it moves the other fields.
        let mut net = tokens(&[0, 2, 0, 0], &[(1, 0), (0, 2), (2, 1)]);
        net.add_transition("gen", None, &[(3, 1)], &[(3, 1), (1, 1)])
            .unwrap();
        assert_eq!(decide(&net), (Some(true), true));
    }
}
