//! Firing rules of a [`PtNet`] compiled against a [`Layout`]: what the
//! engine runs for every edge of the state space.
//!
//! * Enabling reads each input field once (`tokens >= weight`) and each
//!   bounded output field once (`tokens <= capacity - effect`).
//! * Firing adds one precomputed delta per touched word.
//! * Enumeration only looks at transitions *guarded* by a marked place: every
//!   transition with inputs is filed under one of its input places, and only
//!   the marked places' files are opened, found by walking the set bits of the
//!   packed marking. Transitions without inputs are always looked at, and so
//!   is every transition of a small net.
//!
//! * A marking of one word is tested and fired as a whole: a transition's
//!   input weights, packed like a marking, subtract without a borrow out of
//!   any field exactly when it is enabled, and its output weights then add
//!   without a carry out of any field exactly when no field overflows (see
//!   [`WordRule`]).
//!
//! [`Enabled`] is a resumable enumeration: its [`Enabled::cursor`] is a
//! single `u32` that the depth-first search of [`super::scc`] keeps per frame.

use super::layout::{Layout, mix};
use super::ptnet::PtNet;

/// Nets with at most this many transitions test them all in every marking.
const SCAN_ALL: usize = 48;

/// One field test, done in place: `words[word] & mask` (the field, not
/// shifted down) against `bound` (shifted up the same).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Check {
    /// The place tested.
    pub(crate) place: u32,
    word: u32,
    shift: u32,
    mask: u64,
    /// Inputs: the least tokens needed. Capacities: the most tokens allowed
    /// before the firing. Growing places: the least tokens that overflow.
    bound: u64,
}

impl Check {
    /// Tokens in the tested place.
    #[inline(always)]
    pub(crate) fn value(&self, words: &[u64]) -> u64 {
        (words[self.word as usize] & self.mask) >> self.shift
    }

    #[inline(always)]
    fn field(&self, words: &[u64]) -> u64 {
        words[self.word as usize] & self.mask
    }
}

/// A transition over a one-word layout: its input and output weights packed
/// like a marking. A borrow or carry out of a field shows in the bit just
/// above it (`Rules::boundary`), or as the word's own borrow or carry.
#[derive(Debug, Clone, Copy, Default)]
struct WordRule {
    pre: u64,
    post: u64,
    /// Every output weight fits its field (else every firing overflows).
    fits: bool,
}

/// Firing rules of every transition of a net under one layout.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    /// Per transition, range of `pre` (`at[t]..at[t + 1]`); same for the others.
    pre_at: Vec<u32>,
    pre: Vec<Check>,
    cap_at: Vec<u32>,
    cap: Vec<Check>,
    grow_at: Vec<u32>,
    grow: Vec<Check>,
    delta_at: Vec<u32>,
    delta: Vec<(u32, u64)>,
    /// Per transition, the places it changes and by how much (for the hash).
    change_at: Vec<u32>,
    change: Vec<(Check, i64)>,
    /// Transitions that cannot fire: a capacity keeps them from it, or an
    /// input weight exceeds what the layout's field holds.
    never: Vec<bool>,
    /// Transitions without input places.
    always: Vec<u32>,
    /// Per place, range of `guarded` (`guard_at[p]..guard_at[p + 1]`).
    guard_at: Vec<u32>,
    guarded: Vec<u32>,
    /// Place of each `guarded` entry.
    guard_place: Vec<u32>,
    /// Per transition, its packed weights (empty unless the layout has one word).
    word: Vec<WordRule>,
    /// The bit just above each field that ends below bit 64.
    boundary: u64,
}

fn check(layout: &Layout, place: usize, bound: u64) -> Check {
    let (word, shift) = layout.position(place);
    let bound = bound.min(layout.max(place)) << shift;
    Check {
        place: place as u32,
        word: word as u32,
        shift,
        mask: layout.max(place) << shift,
        bound,
    }
}

impl Rules {
    /// Compiles `net`'s transitions for `layout`.
    pub(crate) fn new(net: &PtNet, layout: &Layout) -> Rules {
        let places = net.places();
        let transitions = net.transitions();
        let mut r = Rules {
            pre_at: vec![0],
            pre: Vec::new(),
            cap_at: vec![0],
            cap: Vec::new(),
            grow_at: vec![0],
            grow: Vec::new(),
            delta_at: vec![0],
            delta: Vec::new(),
            change_at: vec![0],
            change: Vec::new(),
            never: vec![false; transitions.len()],
            always: Vec::new(),
            guard_at: Vec::new(),
            guarded: Vec::new(),
            guard_place: Vec::new(),
            word: Vec::new(),
            boundary: 0,
        };
        let mut consumers = vec![0u32; places.len()];
        for t in transitions {
            for &(p, _) in &t.inputs {
                consumers[p] += 1;
            }
        }
        let mut files: Vec<Vec<u32>> = vec![Vec::new(); places.len()];
        for (i, t) in transitions.iter().enumerate() {
            for &(p, w) in &t.inputs {
                // No stored marking holds more than its fields do.
                r.never[i] |= u64::from(w) > layout.max(p);
                r.pre.push(check(layout, p, u64::from(w)));
            }
            let mut words: Vec<(u32, u64)> = Vec::new();
            let mut touched: Vec<usize> =
                t.inputs.iter().chain(&t.outputs).map(|&(p, _)| p).collect();
            touched.sort_unstable();
            touched.dedup();
            for p in touched {
                let (pre, post) = (i64::from(t.consumes(p)), i64::from(t.produces(p)));
                let d = post - pre;
                if d > 0 {
                    if let Some(c) = places[p].capacity {
                        match (i64::from(c) - d).try_into() {
                            Ok(bound) => r.cap.push(check(layout, p, bound)),
                            Err(_) => r.never[i] = true,
                        }
                    }
                    // Overflow when the field holds at least `max + 1 - d`
                    // already (0 when `d` alone does not fit).
                    let first = (layout.max(p) + 1).saturating_sub(d as u64);
                    r.grow.push(Check {
                        bound: 0,
                        ..check(layout, p, first)
                    });
                    if first > 0 {
                        r.grow.last_mut().expect("pushed").bound = first << layout.position(p).1;
                    }
                }
                if d != 0 {
                    r.change.push((check(layout, p, 0), d));
                    let (word, shift) = layout.position(p);
                    let add = (d as u64).wrapping_shl(shift);
                    match words.iter_mut().find(|(w, _)| *w == word as u32) {
                        Some((_, v)) => *v = v.wrapping_add(add),
                        None => words.push((word as u32, add)),
                    }
                }
            }
            r.delta.extend(words);
            r.pre_at.push(r.pre.len() as u32);
            r.cap_at.push(r.cap.len() as u32);
            r.grow_at.push(r.grow.len() as u32);
            r.delta_at.push(r.delta.len() as u32);
            r.change_at.push(r.change.len() as u32);
            // File under the input place least likely to be marked: fewest
            // initial tokens, then fewest consumers. Small nets test every
            // transition: cheaper than walking the marked places.
            match t
                .inputs
                .iter()
                .min_by_key(|&&(p, _)| (places[p].initial, consumers[p]))
            {
                Some(&(p, _)) if transitions.len() > SCAN_ALL => files[p].push(i as u32),
                _ => r.always.push(i as u32),
            }
        }
        for (p, file) in files.into_iter().enumerate() {
            r.guard_at.push(r.guarded.len() as u32);
            r.guard_place
                .extend(std::iter::repeat_n(p as u32, file.len()));
            r.guarded.extend(file);
        }
        r.guard_at.push(r.guarded.len() as u32);
        if layout.words() == 1 {
            r.compile_words(net, layout);
        }
        r
    }

    /// Fills [`WordRule`]s for a one-word layout.
    fn compile_words(&mut self, net: &PtNet, layout: &Layout) {
        for p in 0..layout.places() {
            let above = layout.above(p);
            self.boundary |= above & above.wrapping_neg();
        }
        self.word = net
            .transitions()
            .iter()
            .map(|t| {
                let pack = |arcs: &[(usize, u32)]| {
                    arcs.iter()
                        .filter(|&&(p, w)| u64::from(w) <= layout.max(p))
                        .map(|&(p, w)| u64::from(w) << layout.position(p).1)
                        .sum()
                };
                WordRule {
                    // An input weight that does not fit makes the transition `never`.
                    pre: pack(&t.inputs),
                    post: pack(&t.outputs),
                    fits: t
                        .outputs
                        .iter()
                        .all(|&(p, w)| u64::from(w) <= layout.max(p)),
                }
            })
            .collect();
    }

    /// Whether transition `t` is enabled in `words`.
    #[inline(always)]
    pub(crate) fn enabled(&self, words: &[u64], t: usize) -> bool {
        if let ([w], Some(rule)) = (words, self.word.get(t)) {
            let (m, borrow) = w.overflowing_sub(rule.pre);
            if borrow || (w ^ rule.pre ^ m) & self.boundary != 0 || self.never[t] {
                return false;
            }
        } else {
            let pre = &self.pre[self.pre_at[t] as usize..self.pre_at[t + 1] as usize];
            if !pre.iter().all(|c| c.field(words) >= c.bound) || self.never[t] {
                return false;
            }
        }
        let cap = &self.cap[self.cap_at[t] as usize..self.cap_at[t + 1] as usize];
        cap.iter().all(|c| c.field(words) <= c.bound)
    }

    /// The places that gain tokens when `t` fires, with the least tokens each
    /// may hold before the firing to overflow its field.
    #[inline]
    pub(crate) fn growing(&self, t: usize) -> &[Check] {
        &self.grow[self.grow_at[t] as usize..self.grow_at[t + 1] as usize]
    }

    /// The first place whose field firing `t` in `words` would overflow.
    #[inline]
    pub(crate) fn overflow(&self, words: &[u64], t: usize) -> Option<&Check> {
        self.growing(t).iter().find(|c| c.field(words) >= c.bound)
    }

    /// The successor of the one-word marking `w` by the enabled transition
    /// `t`, or `None` when a field would overflow ([`Rules::overflow`] names
    /// it). Only for layouts of one word.
    #[inline(always)]
    pub(crate) fn fire_word(&self, w: u64, t: usize) -> Option<u64> {
        let rule = self.word[t];
        let m = w.wrapping_sub(rule.pre);
        let (n, carry) = m.overflowing_add(rule.post);
        (rule.fits && !carry && (m ^ rule.post ^ n) & self.boundary == 0).then_some(n)
    }

    /// Fires `t` in place (enabled, no overflow: the caller checked).
    #[inline]
    pub(crate) fn fire(&self, words: &mut [u64], t: usize) {
        for &(w, add) in &self.delta[self.delta_at[t] as usize..self.delta_at[t + 1] as usize] {
            let w = &mut words[w as usize];
            *w = w.wrapping_add(add);
        }
    }

    /// Fires `t` in place like [`Rules::fire`], turning `hash` (the marking's
    /// [`Layout::hash`]) into the successor's.
    #[inline(always)]
    pub(crate) fn fire_hashed(
        &self,
        layout: &Layout,
        words: &mut [u64],
        t: usize,
        mut hash: u64,
    ) -> u64 {
        if words.len() == 1 {
            self.fire(words, t);
            return mix(words[0]);
        }
        for (c, d) in &self.change[self.change_at[t] as usize..self.change_at[t + 1] as usize] {
            let old = c.value(words);
            let p = c.place as usize;
            hash ^= layout.zobrist(p, old) ^ layout.zobrist(p, old.wrapping_add_signed(*d));
        }
        self.fire(words, t);
        hash
    }

    /// Transitions enabled in `words`, from the start.
    #[inline]
    pub(crate) fn enabled_in<'a>(&'a self, layout: &'a Layout, words: &'a [u64]) -> Enabled<'a> {
        self.resume(layout, words, 0)
    }

    /// Transitions enabled in `words`, from `cursor` (see [`Enabled::cursor`]).
    #[inline]
    pub(crate) fn resume<'a>(
        &'a self,
        layout: &'a Layout,
        words: &'a [u64],
        cursor: u32,
    ) -> Enabled<'a> {
        let always = self.always.len() as u32;
        let mut e = Enabled {
            rules: self,
            layout,
            words,
            next_always: cursor.min(always),
            f: 0,
            fe: 0,
            k: 0,
            bits: 0,
        };
        if cursor <= always {
            e.bits = words[0] & layout.place_bits(0);
        } else {
            let f = cursor - always;
            if (f as usize) < self.guarded.len() {
                let p = self.guard_place[f as usize] as usize;
                e.f = f;
                e.fe = self.guard_at[p + 1];
                let (k, _) = layout.position(p);
                e.k = k;
                e.bits = words[k] & layout.place_bits(k) & layout.above(p);
            } else {
                e.k = words.len();
            }
        }
        e
    }
}

/// Enumeration of the transitions enabled in one packed marking.
pub(crate) struct Enabled<'a> {
    rules: &'a Rules,
    layout: &'a Layout,
    words: &'a [u64],
    next_always: u32,
    /// Next entry of `guarded` to test, and the end of the current place's file.
    f: u32,
    fe: u32,
    /// Current word and its marked bits not looked at yet.
    k: usize,
    bits: u64,
}

impl Enabled<'_> {
    /// Where to resume after the transition last returned.
    pub(crate) fn cursor(&self) -> u32 {
        let always = self.rules.always.len() as u32;
        if self.next_always < always || (self.f == 0 && self.fe == 0 && self.k == 0) {
            self.next_always
        } else {
            always + self.f
        }
    }
}

impl Iterator for Enabled<'_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        let r = self.rules;
        while (self.next_always as usize) < r.always.len() {
            let t = r.always[self.next_always as usize] as usize;
            self.next_always += 1;
            if r.enabled(self.words, t) {
                return Some(t);
            }
        }
        if r.guarded.is_empty() {
            return None;
        }
        loop {
            while self.f < self.fe {
                let t = r.guarded[self.f as usize] as usize;
                self.f += 1;
                if r.enabled(self.words, t) {
                    return Some(t);
                }
            }
            while self.bits == 0 {
                self.k += 1;
                if self.k >= self.words.len() {
                    self.k = self.words.len();
                    return None;
                }
                self.bits = self.words[self.k] & self.layout.place_bits(self.k);
            }
            let p = self.layout.owner(self.k, self.bits);
            self.bits &= self.layout.above(p);
            self.f = r.guard_at[p];
            self.fe = r.guard_at[p + 1];
        }
    }
}
