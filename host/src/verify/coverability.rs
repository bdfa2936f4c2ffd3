//! Karp–Miller coverability: which places are unbounded, with a firing
//! sequence that pumps each.
//!
//! Markings here may hold ω ("as many as you like") in a place. Breadth
//! first from the initial marking, each successor is compared with the
//! markings on its path: when it covers one and is larger somewhere, the
//! sequence between them can repeat forever, so the larger places become ω.
//! Identical markings are explored once. Places with a capacity never
//! become ω: a loop that grows one cannot repeat forever; nor does a place
//! that a transition of the sequence resets (the repeat empties it again).
//!
//! Markings are sparse (marked places only) and transitions are found from
//! the marked places, so a node costs its marked places, not the net. The
//! construction terminates on every net but may be large, so it runs under
//! a node budget and a byte budget; the engine only calls it when plain
//! exploration stopped on a pump or a bound.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::ptnet::{PlaceId, PtNet, TransitionId};
use super::sparse::{Effect, Marked, Rules, Scratch, merged};

/// ω: unbounded.
const OMEGA: u32 = u32::MAX;

/// An unbounded place and how to pump it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbounded {
    /// The place.
    pub place: PlaceId,
    /// A firing sequence from the initial marking to where the pump starts.
    /// Where it passes an earlier pump, that pump must be repeated enough
    /// times first.
    pub prefix: Vec<TransitionId>,
    /// A firing sequence that can repeat forever, adding tokens to `place`.
    pub pump: Vec<TransitionId>,
}

struct Node {
    marking: Box<[Marked]>,
    parent: u32,
    via: u32,
}

/// Bytes a node of `n` marked places costs (its marking twice: the node
/// and the index's key).
fn node_bytes(n: usize) -> usize {
    16 * n + 96
}

/// The unbounded places of `net` (empty when it is bounded), or `None` when
/// the construction needs more than `budget` nodes or `max_bytes` bytes.
pub fn unbounded_places(net: &PtNet, budget: usize, max_bytes: usize) -> Option<Vec<Unbounded>> {
    let rules = Rules::new(net);
    let capped: Vec<bool> = net.places().iter().map(|p| p.capacity.is_some()).collect();
    let initial: Box<[Marked]> = net.initial_marked().into_boxed_slice();
    let mut bytes = rules.heap_bytes() + 8 * net.places().len() + node_bytes(initial.len());
    let mut seen: HashMap<Box<[Marked]>, u32> = HashMap::new();
    seen.insert(initial.clone(), 0);
    let mut nodes = vec![Node {
        marking: initial,
        parent: u32::MAX,
        via: u32::MAX,
    }];
    let mut found: HashMap<usize, Unbounded> = HashMap::new();
    let mut scratch = Scratch::new(net.places().len());
    let mut enabled = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        rules.enabled_in(&nodes[i].marking, &mut scratch, &mut enabled);
        for &t in &enabled {
            let t = t as usize;
            let mut m = fire(&rules, &nodes[i].marking, t);
            accelerate(net, &nodes, i, t, &mut m, &capped, &mut found);
            if let Entry::Vacant(v) = seen.entry(m.clone().into_boxed_slice()) {
                bytes += node_bytes(m.len());
                if nodes.len() >= budget || bytes > max_bytes {
                    return None;
                }
                v.insert(nodes.len() as u32);
                nodes.push(Node {
                    marking: m.into_boxed_slice(),
                    parent: i as u32,
                    via: t as u32,
                });
            }
        }
        i += 1;
    }
    let mut found: Vec<Unbounded> = found.into_values().collect();
    found.sort_by_key(|u| u.place);
    Some(found)
}

/// The marking reached by firing `t` (enabled) in `m`: ω stays ω, except in
/// a place `t` resets; a finite count that would pass `u32::MAX - 1` is as
/// good as ω for every question asked and stops there.
fn fire(rules: &Rules, m: &[Marked], t: usize) -> Vec<Marked> {
    let mut out = Vec::with_capacity(m.len() + rules.effects(t).len());
    for (p, old, effect) in merged(m, rules.effects(t)) {
        let new = match effect {
            None => old,
            Some(Effect::Set(v)) => v,
            Some(Effect::Add(_)) if old == OMEGA => OMEGA,
            Some(Effect::Add(d)) => (i64::from(old) + d).clamp(0, i64::from(OMEGA - 1)) as u32,
        };
        if new > 0 {
            out.push((p, new));
        }
    }
    out
}

/// The count of `p` in sparse `m`.
fn count(m: &[Marked], p: u32) -> u32 {
    m.binary_search_by_key(&p, |&(q, _)| q)
        .map_or(0, |i| m[i].1)
}

/// Turns into ω every place of `m` (the successor of node `at` by `t`) that
/// strictly grows over an ancestor it covers, unless a transition in between
/// resets it, recording the pump.
fn accelerate(
    net: &PtNet,
    nodes: &[Node],
    at: usize,
    t: usize,
    m: &mut [Marked],
    capped: &[bool],
    found: &mut HashMap<usize, Unbounded>,
) {
    loop {
        let mut changed = false;
        let mut a = at as u32;
        let mut reset: Vec<usize> = net.transitions()[t].resets.clone();
        while a != u32::MAX {
            let base = &nodes[a as usize].marking;
            let covers = base.iter().all(|&(p, b)| {
                let x = count(m, p);
                x == OMEGA || (b != OMEGA && b <= x)
            });
            let capped_same = base
                .iter()
                .chain(m.iter())
                .all(|&(p, _)| !capped[p as usize] || count(base, p) == count(m, p));
            if covers && capped_same {
                for (p, x) in m.iter_mut() {
                    let b = count(base, *p);
                    let p = *p as usize;
                    if *x != OMEGA && *x > b && !capped[p] && !reset.contains(&p) {
                        *x = OMEGA;
                        changed = true;
                        if let Entry::Vacant(v) = found.entry(p) {
                            let mut pump = path(nodes, a, at);
                            pump.push(t);
                            v.insert(Unbounded {
                                place: p,
                                prefix: path(nodes, u32::MAX, a as usize),
                                pump,
                            });
                        }
                    }
                }
            }
            let node = &nodes[a as usize];
            if node.via != u32::MAX {
                reset.extend(&net.transitions()[node.via as usize].resets);
            }
            a = node.parent;
        }
        if !changed {
            return;
        }
    }
}

/// Transitions from node `from` (exclusive; `u32::MAX` for the root's
/// parent) down to node `to`.
fn path(nodes: &[Node], from: u32, to: usize) -> Vec<TransitionId> {
    let mut steps = Vec::new();
    let mut n = to as u32;
    while n != from && n != u32::MAX {
        let node = &nodes[n as usize];
        if node.via != u32::MAX {
            steps.push(node.via as usize);
        }
        n = node.parent;
    }
    steps.reverse();
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::ptnet::PtPlace;

    fn place(name: &str, initial: u32) -> PtPlace {
        PtPlace::new(name, initial)
    }

    #[test]
    fn finds_a_pump_and_ignores_one_a_reset_undoes() {
        let mut net = PtNet::new("n");
        let a = net.add_place(place("a", 1)).unwrap();
        let log = net.add_place(place("log", 0)).unwrap();
        let spin = net
            .add_transition("spin", None, &[(a, 1)], &[(a, 1), (log, 1)])
            .unwrap();
        assert_eq!(
            unbounded_places(&net, 1000, 1 << 20),
            Some(vec![Unbounded {
                place: log,
                prefix: vec![],
                pump: vec![spin],
            }])
        );
        let mut net = PtNet::new("n");
        let a = net.add_place(place("a", 1)).unwrap();
        let b = net.add_place(place("b", 0)).unwrap();
        let tmp = net.add_place(place("tmp", 0)).unwrap();
        // fill then drain: {a} → {b, tmp} → {a, tmp}, which covers {a} and
        // is larger in `tmp`, but drain empties `tmp` before refilling it.
        net.add_transition("fill", None, &[(a, 1)], &[(b, 1), (tmp, 1)])
            .unwrap();
        net.add_resetting_transition("drain", None, &[(b, 1)], &[(a, 1), (tmp, 1)], &[tmp])
            .unwrap();
        assert_eq!(unbounded_places(&net, 1000, 1 << 20), Some(vec![]));
        assert_eq!(unbounded_places(&net, 1, 1 << 20), None, "node budget");
    }
}
