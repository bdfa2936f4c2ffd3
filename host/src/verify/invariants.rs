//! Place invariants: token bounds known before exploring.
//!
//! A P-semiflow is a weighting `y ≥ 0` of the places that no firing
//! changes: `y · m = y · m0` in every reachable marking `m`, so a place `p`
//! it weighs never holds more than `y · m0 / y[p]` tokens. The engine sizes
//! the fields of bounded places from these bounds, which spares it the
//! re-encodings of growing a field during exploration.
//!
//! The semiflows come from Farkas' algorithm on the incidence matrix,
//! eliminating one transition at a time (the one that creates the fewest
//! rows first) and keeping only rows of minimal support. The algorithm can
//! blow up on large nets, so it runs under a row budget and gives up cleanly:
//! places it did not bound simply grow on demand.

use super::ptnet::PtNet;

/// Support comparisons allowed before giving up.
const WORK: usize = 50_000_000;

/// Columns and rows looked at, choosing columns, before giving up (each a
/// count, far cheaper than a support comparison).
const SCAN: usize = 400_000_000;

/// A row of the Farkas tableau: place weights and what a firing of each
/// transition changes of the weighted sum.
#[derive(Debug, Clone)]
struct Row {
    /// Place weights, sorted by place.
    y: Vec<(u32, u64)>,
    /// Non-zero effects, sorted by transition.
    c: Vec<(u32, i64)>,
}

impl Row {
    fn effect(&self, t: u32) -> i64 {
        self.c
            .binary_search_by_key(&t, |&(u, _)| u)
            .map_or(0, |i| self.c[i].1)
    }

    /// Whether the places of `self` include every place of `other`.
    fn covers(&self, other: &Row) -> bool {
        let mut it = self.y.iter().map(|&(p, _)| p);
        other.y.iter().all(|&(p, _)| it.any(|q| q == p))
    }
}

/// `a * x + b * y` over sorted sparse vectors, dropping zeros; `None` on overflow.
fn combine<T: Copy + Default + PartialEq + TryFrom<i128>>(
    x: &[(u32, T)],
    a: i128,
    y: &[(u32, T)],
    b: i128,
) -> Option<Vec<(u32, T)>>
where
    i128: From<T>,
{
    let mut out = Vec::with_capacity(x.len() + y.len());
    let (mut i, mut j) = (0, 0);
    while i < x.len() || j < y.len() {
        let (k, v) = match (x.get(i), y.get(j)) {
            (Some(&(k, u)), Some(&(l, _))) if k < l => (k, a * i128::from(u)),
            (Some(&(k, _)), Some(&(l, w))) if l < k => (l, b * i128::from(w)),
            (Some(&(k, u)), Some(&(_, w))) => (k, a * i128::from(u) + b * i128::from(w)),
            (Some(&(k, u)), None) => (k, a * i128::from(u)),
            (None, Some(&(l, w))) => (l, b * i128::from(w)),
            (None, None) => unreachable!(),
        };
        match (x.get(i), y.get(j)) {
            (Some(&(k, _)), Some(&(l, _))) if k < l => i += 1,
            (Some(&(k, _)), Some(&(l, _))) if l < k => j += 1,
            (Some(_), Some(_)) => {
                i += 1;
                j += 1;
            }
            (Some(_), None) => i += 1,
            _ => j += 1,
        }
        if v != 0 {
            out.push((k, T::try_from(v).ok()?));
        }
    }
    Some(out)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The largest count each place can hold by some P-semiflow, `None` where no
/// semiflow found within the budget weighs the place.
pub(crate) fn place_bounds(net: &PtNet) -> Vec<Option<u64>> {
    let places = net.places().len();
    let mut bounds = vec![None; places];
    let Some(flows) = semiflows(net, 4 * places + 256) else {
        return bounds;
    };
    let m0 = net.initial_marking();
    for y in flows {
        let total: u128 = y
            .iter()
            .map(|&(p, w)| u128::from(w) * u128::from(m0[p as usize]))
            .sum();
        for &(p, w) in &y {
            let b = u64::try_from(total / u128::from(w)).unwrap_or(u64::MAX);
            let slot = &mut bounds[p as usize];
            *slot = Some(slot.map_or(b, |old: u64| old.min(b)));
        }
    }
    bounds
}

/// Minimal-support P-semiflows, or `None` when the tableau would exceed
/// `budget` rows or a weight would overflow.
fn semiflows(net: &PtNet, budget: usize) -> Option<Vec<Vec<(u32, u64)>>> {
    let mut effects: Vec<Vec<(u32, i64)>> = vec![Vec::new(); net.places().len()];
    for (t, tr) in net.transitions().iter().enumerate() {
        let mut touched: Vec<usize> = tr
            .inputs
            .iter()
            .chain(&tr.outputs)
            .map(|&(p, _)| p)
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for p in touched {
            let d = i64::from(tr.produces(p)) - i64::from(tr.consumes(p));
            if d != 0 {
                effects[p].push((t as u32, d));
            }
        }
    }
    let mut rows: Vec<Row> = effects
        .into_iter()
        .enumerate()
        .map(|(p, c)| Row {
            y: vec![(p as u32, 1)],
            c,
        })
        .collect();
    let mut done = vec![false; net.transitions().len()];
    let mut work = 0usize;
    let mut scanned = 0usize;
    loop {
        // Choosing the next column looks at every column and row: on nets
        // of many transitions that alone can exhaust its own budget.
        scanned += done.len() + rows.len();
        if scanned > SCAN {
            return None;
        }
        // The column whose elimination adds the fewest rows.
        let mut pos = vec![0usize; done.len()];
        let mut neg = vec![0usize; done.len()];
        for r in &rows {
            for &(t, v) in &r.c {
                if v > 0 {
                    pos[t as usize] += 1
                } else {
                    neg[t as usize] += 1
                }
            }
        }
        let Some(j) = (0..done.len())
            .filter(|&t| !done[t] && pos[t] + neg[t] > 0)
            .min_by_key(|&t| (pos[t] * neg[t]) as i64 - (pos[t] + neg[t]) as i64)
        else {
            break;
        };
        done[j] = true;
        if pos[j] * neg[j] > budget {
            return None;
        }
        let j = j as u32;
        let (mut keep, rest): (Vec<Row>, Vec<Row>) =
            rows.into_iter().partition(|r| r.effect(j) == 0);
        let (plus, minus): (Vec<Row>, Vec<Row>) = rest.into_iter().partition(|r| r.effect(j) > 0);
        for a in &plus {
            for b in &minus {
                let (ca, cb) = (i128::from(a.effect(j)), i128::from(-b.effect(j)));
                let y = combine(&a.y, cb, &b.y, ca)?;
                // Minimal supports only: a combination covering another row is redundant.
                let candidate = Row { y, c: Vec::new() };
                work += keep.len() * candidate.y.len();
                if work > WORK || keep.iter().any(|k| candidate.covers(k)) {
                    if work > WORK {
                        return None;
                    }
                    continue;
                }
                let mut row = Row {
                    y: candidate.y,
                    c: combine(&a.c, cb, &b.c, ca)?,
                };
                let g = row.y.iter().fold(0, |g, &(_, w)| gcd(g, w));
                let g = row.c.iter().fold(g, |g, &(_, v)| gcd(g, v.unsigned_abs()));
                if g > 1 {
                    row.y.iter_mut().for_each(|(_, w)| *w /= g);
                    row.c.iter_mut().for_each(|(_, v)| *v /= g as i64);
                }
                keep.retain(|k| !k.covers(&row));
                keep.push(row);
                if keep.len() > budget {
                    return None;
                }
            }
        }
        rows = keep;
    }
    Some(rows.into_iter().map(|r| r.y).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::ptnet::PtPlace;

    fn place(name: &str, initial: u32) -> PtPlace {
        PtPlace::new(name, initial)
    }

    #[test]
    fn bounds_a_cycle_and_a_weighted_exchange() {
        let mut net = PtNet::new("n");
        let a = net.add_place(place("a", 3)).unwrap();
        let b = net.add_place(place("b", 0)).unwrap();
        let c = net.add_place(place("c", 0)).unwrap();
        let free = net.add_place(place("free", 0)).unwrap();
        net.add_transition("ab", None, &[(a, 1)], &[(b, 2)])
            .unwrap();
        net.add_transition("ba", None, &[(b, 2)], &[(a, 1)])
            .unwrap();
        net.add_transition("bc", None, &[(b, 1)], &[(c, 1)])
            .unwrap();
        net.add_transition("cb", None, &[(c, 1)], &[(b, 1)])
            .unwrap();
        net.add_transition("gen", None, &[(c, 1)], &[(c, 1), (free, 1)])
            .unwrap();
        let bounds = place_bounds(&net);
        // 2a + b + c = 6 is invariant.
        assert_eq!(bounds[a], Some(3));
        assert_eq!(bounds[b], Some(6));
        assert_eq!(bounds[c], Some(6));
        assert_eq!(bounds[free], None, "`gen` pumps `free`");
    }
}
