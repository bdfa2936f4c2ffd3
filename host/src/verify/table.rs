//! The visited set: packed markings stored inline in an open-addressing
//! table.
//!
//! Each slot is the first [`Layout::bytes`] bytes of a packed marking; bit 0
//! of its first byte is set in every stored marking, so a zero byte is an
//! empty slot. Lookups hash the words, then probe linearly comparing the
//! stored bytes themselves: a hit costs one cache miss, and a marking costs
//! its packed size divided by the load factor (kept between 0.4 and 0.8).
//!
//! Slots are addressed by position. A position is stable until the table
//! grows ([`Table::rebuild`], which remaps the caller's list of slots). A new
//! layout of more than one word re-encodes every slot where it is
//! ([`Table::reencode`]), since such a marking's hash does not depend on the
//! layout; a layout change from or to one word moves every marking
//! ([`Table::relayout`]).
//!
//! Lookups come in batches: the home slots of a batch are prefetched
//! ([`Batch::touch`]) well before they are probed, so that many cache misses
//! are in flight at once.

use super::column::Column;
use super::layout::Layout;

/// Most of the capacity used before the table doubles: 4/5.
const LOAD_NUM: usize = 4;
const LOAD_DEN: usize = 5;

/// Packed markings by slot.
#[derive(Debug)]
pub(crate) struct Table {
    slots: Vec<u8>,
    stride: usize,
    words: usize,
    /// Mask of the bytes of the last word that belong to the marking.
    tail: u64,
    /// Number of slots, a power of two.
    cap: usize,
    /// `64 - log2(cap)`: a hash's top bits pick the home slot.
    shift: u32,
    len: usize,
}

/// Bytes of address space a fresh visited set starts with. Pages are only
/// committed when touched, so small state spaces cost little of it, and
/// state spaces up to a few million markings never pay for growing.
const START_BYTES: usize = 32 << 20;

impl Table {
    /// An empty table for a fresh exploration: as many slots as
    /// [`START_BYTES`] hold (a power of two; a quarter of `max_bytes` when
    /// that is less), at most room for `max_states`.
    pub(crate) fn start(layout: &Layout, max_states: usize, max_bytes: u64) -> Table {
        let room = START_BYTES.min(usize::try_from(max_bytes / 4).unwrap_or(usize::MAX));
        let slots = (room / layout.bytes()).max(64);
        let slots = if slots.is_power_of_two() {
            slots
        } else {
            slots.next_power_of_two() / 2
        };
        Table::with_slots(layout, Table::slots_for(max_states).min(slots))
    }

    /// Slots of a table with room for `states` before growing.
    fn slots_for(states: usize) -> usize {
        (states.saturating_mul(LOAD_DEN) / LOAD_NUM + 1)
            .next_power_of_two()
            .max(64)
    }

    /// Bytes of a table with room for `states` before growing (what
    /// [`Table::new`] would allocate).
    pub(crate) fn bytes_for(layout: &Layout, states: usize) -> usize {
        Table::slot_bytes(layout, Table::slots_for(states))
    }

    /// Bytes of a table of `slots` slots for `layout`.
    pub(crate) fn slot_bytes(layout: &Layout, slots: usize) -> usize {
        slots.saturating_mul(layout.bytes()).saturating_add(8)
    }

    /// An empty table for markings of `layout` with room for `states` before growing.
    pub(crate) fn new(layout: &Layout, states: usize) -> Table {
        Table::with_slots(layout, Table::slots_for(states))
    }

    /// An empty table of `cap` slots (a power of two).
    fn with_slots(layout: &Layout, cap: usize) -> Table {
        let stride = layout.bytes();
        let words = layout.words();
        let tail_bytes = stride - 8 * (words - 1);
        let tail = if tail_bytes >= 8 {
            !0
        } else {
            (1u64 << (8 * tail_bytes)) - 1
        };
        Table {
            slots: vec![0; cap * stride + 8],
            stride,
            words,
            tail,
            cap,
            shift: 64 - cap.trailing_zeros(),
            len: 0,
        }
    }

    /// Stored markings.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Number of slots.
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// Bytes allocated.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity()
    }

    /// Whether one more insertion would pass the load limit.
    #[inline]
    pub(crate) fn full(&self) -> bool {
        (self.len + 1) * LOAD_DEN > self.cap * LOAD_NUM
    }

    #[inline]
    fn word(&self, slot: usize, k: usize) -> u64 {
        let at = slot * self.stride + 8 * k;
        let w = u64::from_le_bytes(self.slots[at..at + 8].try_into().expect("8 bytes"));
        if k + 1 == self.words {
            w & self.tail
        } else {
            w
        }
    }

    /// Copies the marking in `slot` into `out`.
    #[inline]
    pub(crate) fn load(&self, slot: usize, out: &mut [u64]) {
        if let [w] = out {
            *w = self.word(slot, 0);
            return;
        }
        for (k, w) in out.iter_mut().enumerate() {
            *w = self.word(slot, k);
        }
    }

    #[inline]
    fn occupied(&self, slot: usize) -> bool {
        self.slots[slot * self.stride] & 1 != 0
    }

    #[inline]
    fn matches(&self, slot: usize, key: &[u64]) -> bool {
        key.iter()
            .enumerate()
            .all(|(k, &w)| self.word(slot, k) == w)
    }

    /// Prefetches `slot`, both cache lines when it straddles two.
    #[inline(always)]
    fn prefetch_slot(&self, slot: usize) {
        let at = slot * self.stride;
        prefetch(&self.slots, at);
        if at % 64 + self.stride > 64 {
            prefetch(&self.slots, at + self.stride - 1);
        }
    }

    /// Prefetches `hash`'s home slot.
    #[inline(always)]
    pub(crate) fn touch(&self, hash: u64) {
        self.prefetch_slot((hash >> self.shift) as usize);
    }

    /// Prefetches each of `slots`, to have them cached soon.
    #[inline]
    pub(crate) fn touch_slots(&self, slots: impl IntoIterator<Item = u32>) {
        for s in slots {
            self.prefetch_slot(s as usize);
        }
    }

    /// The slot holding `key` (`Ok`) or the empty slot where it belongs (`Err`).
    #[inline(always)]
    pub(crate) fn find(&self, key: &[u64], hash: u64) -> Result<usize, usize> {
        let mask = self.cap - 1;
        let mut slot = (hash >> self.shift) as usize;
        if let [key] = key {
            // One word: a stored marking is the first word of its slot, and
            // its occupancy bit is bit 0 of that word.
            loop {
                let at = slot * self.stride;
                let w = u64::from_le_bytes(self.slots[at..at + 8].try_into().expect("8 bytes"))
                    & self.tail;
                if w & 1 == 0 {
                    return Err(slot);
                }
                if w == *key {
                    return Ok(slot);
                }
                slot = (slot + 1) & mask;
            }
        }
        loop {
            if !self.occupied(slot) {
                return Err(slot);
            }
            if self.matches(slot, key) {
                return Ok(slot);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Stores `key` in the empty `slot` returned by [`Table::find`].
    #[inline]
    pub(crate) fn insert_at(&mut self, slot: usize, key: &[u64]) {
        self.store(slot, key);
        self.len += 1;
    }

    #[inline]
    fn store(&mut self, slot: usize, key: &[u64]) {
        let at = slot * self.stride;
        let mut rest = self.stride;
        for (k, &w) in key.iter().enumerate() {
            let n = rest.min(8);
            self.slots[at + 8 * k..at + 8 * k + n].copy_from_slice(&w.to_le_bytes()[..n]);
            rest -= n;
        }
    }

    /// Re-stores every marking in a table with room for at least `states`,
    /// in the order `order` lists their slots, rewriting `order` with the
    /// new slots.
    pub(crate) fn rebuild(&mut self, order: &mut Column, layout: &Layout, states: usize) {
        let next = Table::new(layout, states.max(self.len));
        self.rebuild_into(order, None, layout, next);
    }

    /// Re-stores every marking, packed by `from`, re-encoded for `to` (fields
    /// at least as wide), remapping `order` like [`Table::rebuild`]: for a
    /// change of layout that changes hashes, from or to one word. The table
    /// keeps its number of slots.
    pub(crate) fn relayout(&mut self, order: &mut Column, from: &Layout, to: &Layout) {
        let next = Table::with_slots(to, self.cap);
        self.rebuild_into(order, Some(from), to, next);
    }

    /// Fills the empty table `next` with every marking, in `order`,
    /// transcoding from the layout `from` when given, and becomes it.
    fn rebuild_into(
        &mut self,
        order: &mut Column,
        from: Option<&Layout>,
        layout: &Layout,
        mut next: Table,
    ) {
        let mut batch = Batch::default();
        let mut old = vec![0u64; self.words];
        for chunk in order.runs_mut().flat_map(|run| run.chunks_mut(64)) {
            self.touch_slots(chunk.iter().copied());
            batch.clear(next.words);
            for slot in chunk.iter() {
                let key = batch.push_key();
                match from {
                    Some(from) => {
                        self.load(*slot as usize, &mut old);
                        from.transcode(&old, layout, key);
                    }
                    None => self.load(*slot as usize, key),
                }
                let h = layout.hash(key);
                batch.push_hash(h);
            }
            batch.touch(&next);
            for (j, slot) in chunk.iter_mut().enumerate() {
                let (_, h, key) = batch.get(j);
                let at = next.find(key, h).expect_err("stored markings are distinct");
                next.insert_at(at, key);
                *slot = at as u32;
            }
        }
        *self = next;
    }

    /// The same markings, re-encoded for `to` (fields at least as wide as
    /// `from`'s), each in the slot it had: hashes of markings longer than a
    /// word do not depend on layouts. One sequential pass, no lookups.
    pub(crate) fn reencode(&self, from: &Layout, to: &Layout) -> Table {
        debug_assert!(from.words() > 1 && to.words() > 1, "use relayout");
        let mut next = Table::with_slots(to, self.cap);
        next.len = self.len;
        let mut old = vec![0u64; self.words];
        let mut new = vec![0u64; next.words];
        for slot in 0..self.cap {
            if self.occupied(slot) {
                self.load(slot, &mut old);
                from.transcode(&old, to, &mut new);
                next.store(slot, &new);
            }
        }
        next
    }
}

/// Asks for the cache line holding `bytes[at]` without waiting for it.
#[inline(always)]
fn prefetch(bytes: &[u8], at: usize) {
    let line = &bytes[at..];
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it cannot fault and changes nothing the
    // program can observe; the address is inside `bytes`, and SSE, which
    // the instruction needs, is part of every x86-64 target.
    #[allow(unsafe_code)]
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::hint::black_box(line[0]);
}

/// A batch of markings to look up, with their hashes: touching all their
/// home slots first lets the cache misses overlap.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    words: usize,
    keys: Vec<u64>,
    hashes: Vec<u64>,
    via: Vec<usize>,
    /// Markings whose home slot was touched.
    touched: usize,
}

impl Batch {
    /// Empties the batch for markings of `words` words.
    pub(crate) fn clear(&mut self, words: usize) {
        self.words = words;
        self.keys.clear();
        self.hashes.clear();
        self.via.clear();
        self.touched = 0;
    }

    /// Appends a copy of `from` as the successor by `t`, to be fired in place.
    #[inline]
    pub(crate) fn push(&mut self, from: &[u64], t: usize) -> &mut [u64] {
        let at = self.keys.len();
        match from {
            [w] => self.keys.push(*w),
            _ => self.keys.extend_from_slice(from),
        }
        self.via.push(t);
        &mut self.keys[at..]
    }

    /// Appends the one-word marking `key`, the successor by `t`, with its hash.
    #[inline(always)]
    pub(crate) fn push_word(&mut self, key: u64, t: usize, hash: u64) {
        self.keys.push(key);
        self.via.push(t);
        self.hashes.push(hash);
    }

    /// Appends an all-zero marking to be filled in place.
    #[inline]
    pub(crate) fn push_key(&mut self) -> &mut [u64] {
        let at = self.keys.len();
        self.keys.resize(at + self.words, 0);
        self.via.push(0);
        &mut self.keys[at..]
    }

    /// Records the hash of the marking pushed last.
    #[inline]
    pub(crate) fn push_hash(&mut self, hash: u64) {
        self.hashes.push(hash);
    }

    /// Prefetches the home slot in `table` of every marking not touched yet.
    #[inline]
    pub(crate) fn touch(&mut self, table: &Table) {
        for &h in &self.hashes[self.touched..] {
            table.touch(h);
        }
        self.touched = self.hashes.len();
    }

    /// Markings in the batch.
    pub(crate) fn len(&self) -> usize {
        self.via.len()
    }

    /// Transition, hash and words of marking `j`.
    #[inline]
    pub(crate) fn get(&self, j: usize) -> (usize, u64, &[u64]) {
        (
            self.via[j],
            self.hashes[j],
            &self.keys[j * self.words..(j + 1) * self.words],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stores 256 markings of `widths` (a table that grows on the way),
    /// widens place 2 to hold `need`, and finds every marking again.
    fn store_grow_and_widen(widths: &[u8], need: u64) {
        let layout = Layout::new(widths);
        let mut table = Table::new(&layout, 4);
        let mut order = Column::default();
        let mut key = vec![0u64; layout.words()];
        for a in 0..16 {
            for b in 0..16 {
                layout.encode(&[a, b, 3], &mut key);
                let h = layout.hash(&key);
                let at = table.find(&key, h).expect_err("new");
                if table.full() {
                    let cap = table.capacity() * 2;
                    table.rebuild(&mut order, &layout, cap);
                    let at = table.find(&key, h).expect_err("new");
                    table.insert_at(at, &key);
                    order.push(at as u32);
                } else {
                    table.insert_at(at, &key);
                    order.push(at as u32);
                }
            }
        }
        assert_eq!(table.len(), 256);
        let wide = layout.widen(&[(2, need)], 0).unwrap();
        let slots = table.capacity();
        if layout.words() == 1 || wide.words() == 1 {
            table.relayout(&mut order, &layout, &wide);
        } else {
            table = table.reencode(&layout, &wide);
        }
        assert_eq!(table.capacity(), slots, "widening does not grow the table");
        let mut out = vec![0u64; wide.words()];
        for i in 0..order.len() {
            let slot = order.get(i);
            table.load(slot as usize, &mut out);
            assert_eq!(
                (wide.get(&out, 0), wide.get(&out, 1), wide.get(&out, 2)),
                ((i / 16) as u32, (i % 16) as u32, 3)
            );
            assert_eq!(table.find(&out, wide.hash(&out)), Ok(slot as usize));
        }
    }

    #[test]
    fn finds_what_it_stores_across_growth_and_widening() {
        store_grow_and_widen(&[4, 4, 4], 300);
    }

    #[test]
    fn finds_what_it_stores_when_widening_outgrows_a_word() {
        store_grow_and_widen(&[4, 30, 4], 1 << 31);
    }

    #[test]
    fn finds_what_it_stores_when_markings_of_two_words_widen() {
        store_grow_and_widen(&[32, 32, 4], 300);
    }
}
