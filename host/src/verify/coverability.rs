//! Karp–Miller coverability: which places are unbounded, with a firing
//! sequence that pumps each.
//!
//! Markings here may hold ω ("as many as you like") in a place. Breadth
//! first from the initial marking, each successor is compared with the
//! markings on its path: when it covers one and is larger somewhere, the
//! sequence between them can repeat forever, so the larger places become ω.
//! Identical markings are explored once. Places with a capacity never
//! become ω: a loop that grows one cannot repeat forever.
//!
//! The construction terminates on every net but may be large, so it runs
//! under a node budget; the engine only calls it when plain exploration
//! stopped on a pump or a bound.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::ptnet::{PlaceId, PtNet, TransitionId};

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
    marking: Vec<u32>,
    parent: u32,
    via: u32,
}

/// The unbounded places of `net` (empty when it is bounded), or `None` when
/// the construction needs more than `budget` nodes.
pub fn unbounded_places(net: &PtNet, budget: usize) -> Option<Vec<Unbounded>> {
    let capped: Vec<bool> = net.places().iter().map(|p| p.capacity.is_some()).collect();
    let mut nodes = vec![Node {
        marking: net.initial_marking(),
        parent: u32::MAX,
        via: u32::MAX,
    }];
    let mut seen: HashMap<Vec<u32>, u32> = HashMap::new();
    seen.insert(nodes[0].marking.clone(), 0);
    let mut found: Vec<Option<Unbounded>> = vec![None; net.places().len()];
    let mut i = 0;
    while i < nodes.len() {
        for t in 0..net.transitions().len() {
            if !enabled(net, &nodes[i].marking, t) {
                continue;
            }
            let mut m = nodes[i].marking.clone();
            fire(net, &mut m, t);
            accelerate(&nodes, i, t, &mut m, &capped, &mut found);
            if let Entry::Vacant(v) = seen.entry(m.clone()) {
                if nodes.len() >= budget {
                    return None;
                }
                v.insert(nodes.len() as u32);
                nodes.push(Node {
                    marking: m,
                    parent: i as u32,
                    via: t as u32,
                });
            }
        }
        i += 1;
    }
    Some(found.into_iter().flatten().collect())
}

fn enabled(net: &PtNet, m: &[u32], t: TransitionId) -> bool {
    let tr = &net.transitions()[t];
    tr.inputs.iter().all(|&(p, w)| m[p] == OMEGA || m[p] >= w)
        && tr
            .outputs
            .iter()
            .all(|&(p, w)| match net.places()[p].capacity {
                None => true,
                Some(cap) => {
                    u64::from(m[p]) - u64::from(tr.consumes(p)) + u64::from(w) <= u64::from(cap)
                }
            })
}

fn fire(net: &PtNet, m: &mut [u32], t: TransitionId) {
    let tr = &net.transitions()[t];
    for &(p, w) in &tr.inputs {
        if m[p] != OMEGA {
            m[p] -= w;
        }
    }
    for &(p, w) in &tr.outputs {
        if m[p] != OMEGA {
            // A finite count this large is as good as ω for every question asked.
            m[p] = m[p].saturating_add(w).min(OMEGA - 1);
        }
    }
}

/// Turns into ω every place of `m` (the successor of node `at` by `t`) that
/// strictly grows over an ancestor it covers, recording the pump.
fn accelerate(
    nodes: &[Node],
    at: usize,
    t: usize,
    m: &mut [u32],
    capped: &[bool],
    found: &mut [Option<Unbounded>],
) {
    loop {
        let mut changed = false;
        let mut a = at as u32;
        while a != u32::MAX {
            let base = &nodes[a as usize].marking;
            let covers = base
                .iter()
                .zip(m.iter())
                .all(|(&b, &x)| x == OMEGA || (b != OMEGA && b <= x));
            let capped_same = base
                .iter()
                .zip(m.iter())
                .zip(capped)
                .all(|((&b, &x), &c)| !c || b == x);
            if covers && capped_same && base.as_slice() != &*m {
                for p in 0..m.len() {
                    if m[p] != OMEGA && m[p] > base[p] {
                        m[p] = OMEGA;
                        changed = true;
                        if found[p].is_none() {
                            let mut pump = path(nodes, a, at);
                            pump.push(t);
                            found[p] = Some(Unbounded {
                                place: p,
                                prefix: path(nodes, u32::MAX, a as usize),
                                pump,
                            });
                        }
                    }
                }
            }
            a = nodes[a as usize].parent;
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
