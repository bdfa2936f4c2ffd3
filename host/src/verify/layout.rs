//! Bit-packed markings.
//!
//! A marking is stored as a little run of 64-bit words. Bit 0 of word 0 is
//! always set (it tells an occupied slot of the visited-set table from an
//! empty one); then each place, in index order, gets a field of `width` bits
//! wide enough for the most tokens seen in it so far. Fields never straddle a
//! word, so one shift and one mask read a place, and adding a transition's
//! precomputed per-word delta fires it (no carry can cross a field as long as
//! every field stays in range, which the engine checks first).
//!
//! When a firing would overflow a field the engine widens that place
//! ([`Layout::widen`]) and re-encodes every stored marking
//! ([`Layout::transcode`]).
//!
//! A marking of one word (most nets, with invariant-derived widths) hashes
//! as that word, mixed ([`mix`]): a few instructions, recomputed after each
//! firing. A longer marking's hash does not depend on the layout: it is the
//! XOR of one pseudo-random word per marked place and count (Zobrist
//! hashing). Firing a transition updates it from the places it changes
//! alone, and widening a field of a marking that stays longer than a word
//! moves no marking to another slot of the visited set.

use std::sync::Arc;

/// Where each place lives in a packed marking.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Field width of each place, in bits (1..=32).
    width: Vec<u8>,
    /// Bit offset of each place's field from the start of the marking.
    offset: Vec<u32>,
    /// How many times each place has been widened.
    widened: Vec<u8>,
    /// Place owning each bit, or [`NO_PLACE`].
    owner: Vec<u32>,
    /// Per word: the bits that belong to some place.
    place_bits: Vec<u64>,
    /// Per word, per bit significance `j`: the bits worth `2^j` tokens.
    planes: Vec<Vec<u64>>,
    /// Zobrist words of small counts: `zobrist[p * ZOBRIST + m]` for `m < ZOBRIST`.
    zobrist: Arc<[u64]>,
    /// Words per marking.
    words: usize,
    /// Bytes a stored marking needs (the rest of the last word is zero).
    bytes: usize,
}

/// `owner` of the occupancy bit and of padding.
pub(crate) const NO_PLACE: u32 = u32::MAX;

/// Counts below this have their Zobrist word in a table.
const ZOBRIST: usize = 8;

/// The Zobrist word of `count` tokens in `place` (0 for no token): a strong
/// mix of both (splitmix64's finalizer).
fn zobrist(place: usize, count: u64) -> u64 {
    if count == 0 {
        return 0;
    }
    let mut z = ((place as u64) << 32 ^ count).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hash of a one-word marking: the word, mixed so that every bit moves
/// the top bits, which pick a slot of the visited set (murmur3's finalizer).
#[inline(always)]
pub(crate) fn mix(mut w: u64) -> u64 {
    w ^= w >> 33;
    w = w.wrapping_mul(0xff51_afd7_ed55_8ccd);
    w ^= w >> 33;
    w = w.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    w ^ (w >> 33)
}

/// Bits needed to hold `n`.
pub(crate) fn bits_for(n: u64) -> u8 {
    (64 - n.leading_zeros()).max(1) as u8
}

impl Layout {
    /// A layout with the given field widths (each clamped to 1..=32).
    pub(crate) fn new(widths: &[u8]) -> Layout {
        let zobrist = (0..widths.len() * ZOBRIST)
            .map(|i| zobrist(i / ZOBRIST, (i % ZOBRIST) as u64))
            .collect();
        Layout::with_history(
            widths.iter().map(|&w| w.clamp(1, 32)).collect(),
            vec![0; widths.len()],
            zobrist,
        )
    }

    fn with_history(width: Vec<u8>, widened: Vec<u8>, zobrist: Arc<[u64]>) -> Layout {
        let mut offset = Vec::with_capacity(width.len());
        let mut cursor = 1u32; // bit 0: occupied
        for &w in &width {
            let w = u32::from(w);
            if cursor % 64 + w > 64 {
                cursor = cursor.next_multiple_of(64);
            }
            offset.push(cursor);
            cursor += w;
        }
        let words = (cursor as usize).div_ceil(64);
        let bytes = (cursor as usize).div_ceil(8);
        let mut owner = vec![NO_PLACE; words * 64];
        let mut place_bits = vec![0u64; words];
        let mut planes = vec![Vec::new(); words];
        for (p, (&o, &w)) in offset.iter().zip(&width).enumerate() {
            let k = o as usize / 64;
            if planes[k].len() < w as usize {
                planes[k].resize(w as usize, 0);
            }
            for j in 0..u32::from(w) {
                let b = o + j;
                owner[b as usize] = p as u32;
                place_bits[k] |= 1 << (b % 64);
                planes[k][j as usize] |= 1 << (b % 64);
            }
        }
        Layout {
            width,
            offset,
            widened,
            owner,
            place_bits,
            planes,
            zobrist,
            words,
            bytes,
        }
    }

    /// Words per marking.
    pub(crate) fn words(&self) -> usize {
        self.words
    }

    /// Bytes per stored marking.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of places.
    pub(crate) fn places(&self) -> usize {
        self.width.len()
    }

    /// Word index and shift of `place`'s field.
    #[inline]
    pub(crate) fn position(&self, place: usize) -> (usize, u32) {
        let o = self.offset[place];
        ((o / 64) as usize, o % 64)
    }

    /// Largest count `place`'s field holds.
    #[inline]
    pub(crate) fn max(&self, place: usize) -> u64 {
        (1u64 << self.width[place]) - 1
    }

    /// Tokens in `place`.
    #[inline]
    pub(crate) fn get(&self, words: &[u64], place: usize) -> u32 {
        let (w, s) = self.position(place);
        ((words[w] >> s) & self.max(place)) as u32
    }

    /// Packs `marking` (which must fit) into `out`, occupancy bit included.
    pub(crate) fn encode(&self, marking: &[u32], out: &mut [u64]) {
        out.fill(0);
        out[0] = 1;
        for (p, &m) in marking.iter().enumerate() {
            debug_assert!(u64::from(m) <= self.max(p));
            let (w, s) = self.position(p);
            out[w] |= u64::from(m) << s;
        }
    }

    /// Unpacks `words` into one count per place.
    pub(crate) fn decode(&self, words: &[u64], out: &mut [u32]) {
        for (p, m) in out.iter_mut().enumerate() {
            *m = self.get(words, p);
        }
    }

    /// Calls `f(place, tokens)` for every marked place, in place order, in
    /// time proportional to the set bits rather than the places.
    #[inline]
    pub(crate) fn for_each_marked(&self, words: &[u64], mut f: impl FnMut(usize, u32)) {
        for (k, &word) in words.iter().enumerate() {
            let mut bits = word & self.place_bits[k];
            while bits != 0 {
                let p = self.owner[k * 64 + bits.trailing_zeros() as usize] as usize;
                let (_, s) = self.position(p);
                f(p, ((word >> s) & self.max(p)) as u32);
                bits &= self.above(p);
            }
        }
    }

    /// Mask of the bits of `place`'s word above its field.
    #[inline]
    pub(crate) fn above(&self, place: usize) -> u64 {
        let end = self.offset[place] % 64 + u32::from(self.width[place]);
        if end >= 64 { 0 } else { !0u64 << end }
    }

    /// The place whose field holds the lowest set bit of `bits` in word `k`.
    #[inline]
    pub(crate) fn owner(&self, k: usize, bits: u64) -> usize {
        self.owner[k * 64 + bits.trailing_zeros() as usize] as usize
    }

    /// Per word: the bits that belong to some place.
    #[inline]
    pub(crate) fn place_bits(&self, k: usize) -> u64 {
        self.place_bits[k]
    }

    /// The Zobrist word of `count` tokens in `place`.
    #[inline(always)]
    pub(crate) fn zobrist(&self, place: usize, count: u64) -> u64 {
        if count < ZOBRIST as u64 {
            self.zobrist[place * ZOBRIST + count as usize]
        } else {
            zobrist(place, count)
        }
    }

    /// Hash of a packed marking: [`mix`] of its word when it has one, else
    /// the XOR of the Zobrist words of its marked places, the same under
    /// every layout of more than one word.
    #[inline]
    pub(crate) fn hash(&self, words: &[u64]) -> u64 {
        if let [w] = words {
            return mix(*w);
        }
        let mut h = 0;
        self.for_each_marked(words, |p, m| h ^= self.zobrist(p, u64::from(m)));
        h
    }

    /// Total tokens of a packed marking: one population count per word and
    /// bit significance.
    #[inline]
    pub(crate) fn total(&self, words: &[u64]) -> u64 {
        let mut sum = 0u64;
        for (w, planes) in words.iter().zip(&self.planes) {
            for (j, plane) in planes.iter().enumerate() {
                sum += u64::from((w & plane).count_ones()) << j;
            }
        }
        sum
    }

    /// Whether every place holds no more tokens in `low` than in `high`.
    pub(crate) fn covered(&self, low: &[u64], high: &[u64]) -> bool {
        let mut ok = true;
        self.for_each_marked(low, |p, m| ok &= m <= self.get(high, p));
        ok
    }

    /// A layout where each listed place holds at least its count of tokens,
    /// with `headroom` spare bits; a place widened twice already at least
    /// doubles its width, so counters settle in a few steps. `None` when a
    /// count needs more than 32 bits.
    pub(crate) fn widen(&self, needs: &[(usize, u64)], headroom: u8) -> Option<Layout> {
        let mut width = self.width.clone();
        let mut widened = self.widened.clone();
        for &(p, need) in needs {
            let exact = bits_for(need);
            if exact > 32 {
                return None;
            }
            let mut w = exact + headroom;
            if widened[p] >= 2 {
                w = w.max(width[p] * 2);
            }
            width[p] = w.clamp(width[p], 32);
            widened[p] = widened[p].saturating_add(1);
        }
        Some(Layout::with_history(width, widened, self.zobrist.clone()))
    }

    /// Re-encodes `words` (packed by `self`) for `to`, whose fields are at
    /// least as wide.
    pub(crate) fn transcode(&self, words: &[u64], to: &Layout, out: &mut [u64]) {
        out.fill(0);
        out[0] = 1;
        self.for_each_marked(words, |p, m| {
            let (w, s) = to.position(p);
            out[w] |= u64::from(m) << s;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_straddle_words() {
        let layout = Layout::new(&[32, 32, 20, 3]);
        assert_eq!(layout.position(0), (0, 1));
        assert_eq!(layout.position(1), (1, 0), "1+32+32 > 64: starts word 1");
        assert_eq!(layout.position(2), (1, 32));
        assert_eq!(layout.position(3), (1, 52));
        assert_eq!(layout.words(), 2);
        assert_eq!(layout.bytes(), 15, "119 bits");
    }

    #[test]
    fn encode_decode_round_trip_and_marked_iteration() {
        let layout = Layout::new(&[3, 1, 5, 2]);
        let marking = [5, 0, 17, 3];
        let mut words = vec![0; layout.words()];
        layout.encode(&marking, &mut words);
        let mut back = vec![0; 4];
        layout.decode(&words, &mut back);
        assert_eq!(back, marking);
        let mut seen = Vec::new();
        layout.for_each_marked(&words, |p, m| seen.push((p, m)));
        assert_eq!(seen, vec![(0, 5), (2, 17), (3, 3)]);
        assert_eq!(layout.total(&words), 25);
    }

    #[test]
    fn widening_transcodes_and_doubles_after_two_steps() {
        let layout = Layout::new(&[1, 1]);
        let mut words = vec![0; 1];
        layout.encode(&[1, 1], &mut words);
        let wider = layout.widen(&[(0, 2)], 0).unwrap();
        assert_eq!(wider.max(0), 3);
        let wider = wider
            .widen(&[(0, 4)], 0)
            .unwrap()
            .widen(&[(0, 8)], 0)
            .unwrap();
        assert_eq!(wider.max(0), (1 << 6) - 1, "third widening doubles 3 bits");
        assert_eq!(
            layout.widen(&[(1, 2)], 1).unwrap().max(1),
            7,
            "one bit of headroom"
        );
        let mut out = vec![0; wider.words()];
        layout.transcode(&words, &wider, &mut out);
        assert_eq!((wider.get(&out, 0), wider.get(&out, 1)), (1, 1));
        assert!(layout.widen(&[(0, 1 << 33)], 0).is_none());
        assert_eq!(layout.hash(&words), mix(words[0]), "one word: mixed");
        assert_ne!(layout.hash(&words), 0);
    }

    #[test]
    fn hashes_of_markings_longer_than_a_word_do_not_depend_on_the_layout() {
        let layout = Layout::new(&[32, 32, 3]);
        let mut words = vec![0; layout.words()];
        layout.encode(&[7, 1, 2], &mut words);
        let wider = layout.widen(&[(2, 300)], 0).unwrap();
        let mut out = vec![0; wider.words()];
        layout.transcode(&words, &wider, &mut out);
        assert_eq!(layout.hash(&words), wider.hash(&out));
        assert_ne!(layout.hash(&words), 0);
    }
}
