//! The sparse engine's visited set: encoded markings of any length, numbered
//! in the order they are stored.
//!
//! Markings live back to back in an arena of 1 MiB chunks (a marking
//! longer than a chunk gets a chunk of its own), each behind its length as a
//! varint; `at[id]` is where marking `id` starts. An open-addressing index
//! of 64-bit slots finds a marking by hash: a slot holds the hash's top 32
//! bits and the marking's number plus one (zero: empty), so most probes that
//! miss never read the arena, and growing the index re-files every slot from
//! its stored bits alone. Nothing is ever moved or copied once stored.

use super::super::column::Column;
use super::code::take;

/// Bytes per arena chunk.
const CHUNK: usize = 1 << 20;

/// Most of the index used before it doubles: 3/4.
const LOAD_NUM: usize = 3;
const LOAD_DEN: usize = 4;

/// Most slots of the index: a slot's stored hash bits must pick its home.
const MAX_SLOTS: usize = 1 << 32;

/// Encoded markings by number, with a hash index.
#[derive(Debug)]
pub(crate) struct Visited {
    chunks: Vec<Vec<u8>>,
    /// Per marking: chunk index (high 32 bits) and offset in it.
    at: Column<u64>,
    slots: Vec<u64>,
    /// `64 - log2(slots.len())`.
    shift: u32,
    /// Bytes the arena's chunks hold.
    arena: usize,
    /// Bytes of the arena in use.
    used: usize,
}

impl Default for Visited {
    fn default() -> Self {
        Visited::new()
    }
}

impl Visited {
    /// An empty set.
    pub(crate) fn new() -> Visited {
        let slots = 1 << 10;
        Visited {
            chunks: Vec::new(),
            at: Column::default(),
            slots: vec![0; slots],
            shift: 64 - slots.trailing_zeros(),
            arena: 0,
            used: 0,
        }
    }

    /// Markings stored.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.at.len()
    }

    /// The encoding of marking `id`.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> &[u8] {
        let a = self.at.get(id as usize);
        let chunk = &self.chunks[(a >> 32) as usize];
        let mut at = a as u32 as usize;
        let len = take(chunk, &mut at) as usize;
        &chunk[at..at + len]
    }

    /// The number of the marking encoded as `key` (whose [`super::code::hash`]
    /// is `hash`), or the free slot where it belongs.
    #[inline]
    pub(crate) fn find(&self, key: &[u8], hash: u64) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let fp = hash >> 32;
        let mut slot = (hash >> self.shift) as usize;
        loop {
            let s = self.slots[slot];
            if s == 0 {
                return Err(slot);
            }
            if s >> 32 == fp {
                let id = (s as u32) - 1;
                if self.get(id) == key {
                    return Ok(id);
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Whether one more marking needs a bigger index first.
    #[inline]
    pub(crate) fn full(&self) -> bool {
        (self.len() + 1) * LOAD_DEN > self.slots.len() * LOAD_NUM
    }

    /// Bytes the index takes once doubled (`None`: it cannot grow).
    pub(crate) fn grown_index_bytes(&self) -> Option<usize> {
        let slots = self.slots.len() * 2;
        (slots <= MAX_SLOTS).then_some(8 * slots)
    }

    /// Doubles the index.
    pub(crate) fn grow(&mut self) {
        let slots = self.slots.len() * 2;
        let shift = 64 - slots.trailing_zeros();
        let mut next = vec![0u64; slots];
        let mask = slots - 1;
        for &s in &self.slots {
            if s != 0 {
                // The top bits of the hash are the top of the stored 32.
                let mut slot = ((s >> 32) << 32 >> shift) as usize;
                while next[slot] != 0 {
                    slot = (slot + 1) & mask;
                }
                next[slot] = s;
            }
        }
        self.slots = next;
        self.shift = shift;
    }

    /// Stores `key` (hashing to `hash`) in the free `slot` that
    /// [`Visited::find`] returned, as the next number, which it returns.
    /// The caller grows the index first when it is [`Visited::full`].
    pub(crate) fn insert(&mut self, slot: usize, key: &[u8], hash: u64) -> u32 {
        let id = self.len() as u32;
        let (head, n) = varint(key.len() as u64);
        let head = &head[..n];
        let need = n + key.len();
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= need);
        if !fits {
            self.chunks.push(Vec::with_capacity(need.max(CHUNK)));
            self.arena += need.max(CHUNK);
        }
        let k = self.chunks.len() - 1;
        let chunk = &mut self.chunks[k];
        let offset = chunk.len();
        chunk.extend_from_slice(head);
        chunk.extend_from_slice(key);
        self.used += need;
        self.at.push((k as u64) << 32 | offset as u64);
        self.slots[slot] = (hash >> 32) << 32 | (u64::from(id) + 1);
        id
    }

    /// Mean bytes of a stored marking, its length included.
    pub(crate) fn mean_bytes(&self) -> usize {
        self.used / self.len().max(1)
    }

    /// Bytes allocated.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena + 24 * self.chunks.capacity() + self.at.heap_bytes() + 8 * self.slots.len()
    }

    /// Bytes allocated once a marking of `bytes` bytes more is stored
    /// (the index not counted: see [`Visited::grown_index_bytes`]).
    pub(crate) fn heap_bytes_after(&self, bytes: usize) -> usize {
        let chunk = self.chunks.last().map_or(0, |c| c.capacity() - c.len());
        let arena = if chunk >= bytes + 10 {
            0
        } else {
            (bytes + 10).max(CHUNK)
        };
        self.heap_bytes() + arena + self.at.heap_bytes_after(1) - self.at.heap_bytes()
    }
}

/// `v` as a LEB128 varint: its bytes and their number.
fn varint(mut v: u64) -> ([u8; 10], usize) {
    let mut out = [0u8; 10];
    let mut n = 0;
    while v >= 0x80 {
        out[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    out[n] = v as u8;
    (out, n + 1)
}

#[cfg(test)]
mod tests {
    use super::super::code::hash;
    use super::*;

    #[test]
    fn finds_what_it_stores_across_growth_and_long_markings() {
        let mut v = Visited::new();
        let long = vec![7u8; CHUNK + 5];
        let keys: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| {
                if i == 77 {
                    long.clone()
                } else {
                    i.to_le_bytes().to_vec()
                }
            })
            .collect();
        for (i, k) in keys.iter().enumerate() {
            let h = hash(k);
            let slot = v.find(k, h).expect_err("new");
            let slot = if v.full() {
                v.grow();
                v.find(k, h).expect_err("still new")
            } else {
                slot
            };
            assert_eq!(v.insert(slot, k, h), i as u32);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(v.find(k, hash(k)), Ok(i as u32));
            assert_eq!(v.get(i as u32), &k[..]);
        }
        assert!(v.find(b"absent", hash(b"absent")).is_err());
        assert!(v.heap_bytes() > CHUNK);
    }
}
