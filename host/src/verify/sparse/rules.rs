//! Firing rules of a [`PtNet`] over sparse markings.
//!
//! Everything here is proportional to the arcs: per transition, its input
//! weights, its capacity tests and its effect on each place it touches (add
//! a difference, or set a count for a place it resets), all in flat arrays
//! indexed by transition. Enabled transitions are found from the marked
//! places alone: each transition with inputs is filed under one of its input
//! places, and only the files of marked places are opened; transitions
//! without inputs are always tested.
//!
//! Tests read a dense scratch array of token counts ([`Scratch`]) that holds
//! the current marking's marked places and zero elsewhere: filling and
//! clearing it costs the marked places, not the net.

use super::super::ptnet::PtNet;
use super::code::{Encoder, Marked};

/// What firing a transition does to one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Tokens added (removed when negative).
    Add(i64),
    /// The place is emptied, then gets this many tokens.
    Set(u32),
}

/// A capacity test: the tokens `place` holds after the firing stay within
/// `cap`.
#[derive(Debug, Clone, Copy)]
struct Cap {
    place: u32,
    effect: Effect,
    cap: u32,
}

/// Compiled firing rules.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pre_at: Vec<u32>,
    pre: Vec<(u32, u32)>,
    effect_at: Vec<u32>,
    effect: Vec<(u32, Effect)>,
    cap_at: Vec<u32>,
    cap: Vec<Cap>,
    always: Vec<u32>,
    guard_at: Vec<u32>,
    guarded: Vec<u32>,
    places: usize,
}

/// A dense array of token counts, zero but for the marking being looked at.
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    tokens: Vec<u32>,
}

impl Scratch {
    /// A scratch array for a net of `places` places.
    pub(crate) fn new(places: usize) -> Scratch {
        Scratch {
            tokens: vec![0; places],
        }
    }

    /// Places covered.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }
}

impl Rules {
    /// Compiles `net`'s transitions.
    pub(crate) fn new(net: &PtNet) -> Rules {
        let places = net.places();
        let mut r = Rules {
            pre_at: vec![0],
            pre: Vec::new(),
            effect_at: vec![0],
            effect: Vec::new(),
            cap_at: vec![0],
            cap: Vec::new(),
            always: Vec::new(),
            guard_at: Vec::with_capacity(places.len() + 1),
            guarded: Vec::new(),
            places: places.len(),
        };
        let mut consumers = vec![0u32; places.len()];
        for t in net.transitions() {
            for &(p, _) in &t.inputs {
                consumers[p] += 1;
            }
        }
        // Per place, how many transitions are filed under it, then where.
        let mut file_of = Vec::with_capacity(net.transitions().len());
        let mut sizes = vec![0u32; places.len()];
        let mut touched: Vec<usize> = Vec::new();
        for (i, t) in net.transitions().iter().enumerate() {
            r.pre.extend(t.inputs.iter().map(|&(p, w)| (p as u32, w)));
            touched.clear();
            touched.extend(t.inputs.iter().chain(&t.outputs).map(|&(p, _)| p));
            touched.extend(&t.resets);
            touched.sort_unstable();
            touched.dedup();
            for &p in &touched {
                let effect = if t.resets(p) {
                    Effect::Set(t.produces(p))
                } else {
                    match i64::from(t.produces(p)) - i64::from(t.consumes(p)) {
                        0 => continue,
                        d => Effect::Add(d),
                    }
                };
                r.effect.push((p as u32, effect));
                let grows = match effect {
                    Effect::Add(d) => d > 0,
                    Effect::Set(v) => v > 0,
                };
                if let (true, Some(cap)) = (grows, places[p].capacity) {
                    r.cap.push(Cap {
                        place: p as u32,
                        effect,
                        cap,
                    });
                }
            }
            r.pre_at.push(r.pre.len() as u32);
            r.effect_at.push(r.effect.len() as u32);
            r.cap_at.push(r.cap.len() as u32);
            // File under the input place least likely to be marked.
            let file = t
                .inputs
                .iter()
                .min_by_key(|&&(p, _)| (places[p].initial, consumers[p]))
                .map(|&(p, _)| p);
            match file {
                Some(p) => sizes[p] += 1,
                None => r.always.push(i as u32),
            }
            file_of.push(file);
        }
        let mut at = 0u32;
        for &n in &sizes {
            r.guard_at.push(at);
            at += n;
        }
        r.guard_at.push(at);
        r.guarded = vec![0; at as usize];
        let mut fill = r.guard_at.clone();
        for (t, file) in file_of.into_iter().enumerate() {
            if let Some(p) = file {
                r.guarded[fill[p] as usize] = t as u32;
                fill[p] += 1;
            }
        }
        r
    }

    /// Bytes held by the rules (they are as big as the net's arcs).
    pub(crate) fn heap_bytes(&self) -> usize {
        4 * (self.pre_at.len()
            + self.effect_at.len()
            + self.cap_at.len()
            + self.always.len()
            + self.guard_at.len()
            + self.guarded.len())
            + 8 * self.pre.len()
            + 24 * self.effect.len()
            + 24 * self.cap.len()
            + 4 * self.places
    }

    /// The effects of `t`, sorted by place.
    #[inline]
    pub(crate) fn effects(&self, t: usize) -> &[(u32, Effect)] {
        &self.effect[self.effect_at[t] as usize..self.effect_at[t + 1] as usize]
    }

    /// Whether `t` is enabled by the marking in `s`.
    #[inline]
    fn enabled(&self, s: &Scratch, t: usize) -> bool {
        let tokens = &s.tokens;
        self.pre[self.pre_at[t] as usize..self.pre_at[t + 1] as usize]
            .iter()
            .all(|&(p, w)| tokens[p as usize] >= w)
            && self.cap[self.cap_at[t] as usize..self.cap_at[t + 1] as usize]
                .iter()
                .all(|c| {
                    let after = match c.effect {
                        Effect::Add(d) => i64::from(tokens[c.place as usize]) + d,
                        Effect::Set(v) => i64::from(v),
                    };
                    after <= i64::from(c.cap)
                })
    }

    /// The transitions `marking` enables, into `out` (cleared first), in no
    /// particular order but always the same one for the same marking.
    pub(crate) fn enabled_in(&self, marking: &[Marked], s: &mut Scratch, out: &mut Vec<u32>) {
        out.clear();
        for &(p, m) in marking {
            s.tokens[p as usize] = m;
        }
        for &t in &self.always {
            if self.enabled(s, t as usize) {
                out.push(t);
            }
        }
        for &(p, _) in marking {
            let p = p as usize;
            for &t in &self.guarded[self.guard_at[p] as usize..self.guard_at[p + 1] as usize] {
                if self.enabled(s, t as usize) {
                    out.push(t);
                }
            }
        }
        for &(p, _) in marking {
            s.tokens[p as usize] = 0;
        }
    }

    /// Encodes into `out` the marking reached by firing `t` (enabled) in
    /// `marking`, and lists in `grown` the places it raises with their new
    /// counts. `Err(place)` when a place would pass `u32::MAX` tokens.
    pub(crate) fn fire(
        &self,
        marking: &[Marked],
        t: usize,
        out: &mut Vec<u8>,
        grown: &mut Vec<Marked>,
    ) -> Result<(), u32> {
        grown.clear();
        let mut e = Encoder::new(out);
        for (p, old, effect) in merged(marking, self.effects(t)) {
            let new = match effect {
                None => old,
                Some(Effect::Set(v)) => v,
                Some(Effect::Add(d)) => {
                    let n = i64::from(old) + d;
                    debug_assert!(n >= 0, "an enabled transition never borrows");
                    u32::try_from(n).map_err(|_| p)?
                }
            };
            if new > old {
                grown.push((p, new));
            }
            if new > 0 {
                e.push(p, new);
            }
        }
        Ok(())
    }
}

/// Walks a sparse marking and a transition's effects (both sorted by
/// place) together: every place in either, its tokens (0 when unmarked) and
/// its effect, if any.
pub(crate) fn merged<'a>(
    marking: &'a [Marked],
    effects: &'a [(u32, Effect)],
) -> impl Iterator<Item = (u32, u32, Option<Effect>)> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let next = match (marking.get(i), effects.get(j)) {
            (Some(&(p, m)), Some(&(q, f))) if p == q => {
                j += 1;
                (p, m, Some(f))
            }
            (Some(&(p, m)), Some(&(q, _))) if p < q => (p, m, None),
            (Some(&(p, m)), None) => (p, m, None),
            (_, Some(&(q, f))) => {
                j += 1;
                return Some((q, 0, Some(f)));
            }
            (None, None) => return None,
        };
        i += 1;
        Some(next)
    })
}

#[cfg(test)]
mod tests {
    use super::super::code::decode;
    use super::*;
    use crate::verify::ptnet::PtPlace;

    fn place(name: &str, initial: u32, capacity: Option<u32>) -> PtPlace {
        PtPlace {
            capacity,
            ..PtPlace::new(name, initial)
        }
    }

    #[test]
    fn enables_fires_resets_and_respects_capacities() {
        let mut net = PtNet::new("n");
        let a = net.add_place(place("a", 2, None)).unwrap();
        let b = net.add_place(place("b", 0, Some(1))).unwrap();
        let c = net.add_place(place("c", 3, None)).unwrap();
        let ab = net
            .add_transition("ab", None, &[(a, 1)], &[(b, 1)])
            .unwrap();
        let make = net.add_transition("make", None, &[], &[(c, 1)]).unwrap();
        let wipe = net
            .add_resetting_transition("wipe", None, &[(a, 1)], &[(c, 1)], &[a, c])
            .unwrap();
        let rules = Rules::new(&net);
        let mut s = Scratch::new(3);
        let mut on = Vec::new();
        let m = vec![(a as u32, 2), (c as u32, 3)];
        rules.enabled_in(&m, &mut s, &mut on);
        on.sort_unstable();
        assert_eq!(on, vec![ab as u32, make as u32, wipe as u32]);
        let (mut bytes, mut grown, mut back) = (Vec::new(), Vec::new(), Vec::new());
        rules.fire(&m, wipe, &mut bytes, &mut grown).unwrap();
        decode(&bytes, &mut back);
        assert_eq!(back, vec![(c as u32, 1)], "a and c emptied, c refilled");
        assert!(grown.is_empty());
        rules.fire(&m, ab, &mut bytes, &mut grown).unwrap();
        decode(&bytes, &mut back);
        assert_eq!(back, vec![(a as u32, 1), (b as u32, 1), (c as u32, 3)]);
        assert_eq!(grown, vec![(b as u32, 1)]);
        rules.enabled_in(&back, &mut s, &mut on);
        assert!(!on.contains(&(ab as u32)), "b is full");
        assert!(s.tokens.iter().all(|&n| n == 0), "scratch left clean");
        let full = vec![(c as u32, u32::MAX)];
        assert_eq!(
            rules.fire(&full, make, &mut bytes, &mut grown),
            Err(c as u32)
        );
    }
}
