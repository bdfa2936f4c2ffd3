//! Sparse markings and their byte encoding.
//!
//! A sparse marking lists the marked places only, as `(place, tokens)`
//! pairs sorted by place, every count above zero. Its stored form is a run of
//! LEB128 varints, one or two per marked place: the gap from the previous
//! marked place shifted left once, with the low bit set when the place holds
//! more than one token, then (only then) the count less two. A 1-safe
//! marking of a net of a million places costs at most three bytes per token.
//! Equal markings have equal encodings, so the visited set compares bytes.

/// A marked place and its tokens (at least one).
pub(crate) type Marked = (u32, u32);

/// Appends `v` as a LEB128 varint.
#[inline]
pub(crate) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint at `*at`, moving `*at` past it.
#[inline]
pub(crate) fn take(bytes: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Builds the encoding of a marking one marked place at a time, in place
/// order.
pub(crate) struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    next: u32,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `out` (cleared first).
    #[inline]
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Encoder<'a> {
        out.clear();
        Encoder { out, next: 0 }
    }

    /// Appends `tokens` (at least one) in `place`, above every place so far.
    #[inline]
    pub(crate) fn push(&mut self, place: u32, tokens: u32) {
        debug_assert!(place >= self.next && tokens > 0);
        let gap = u64::from(place - self.next);
        put(self.out, gap << 1 | u64::from(tokens > 1));
        if tokens > 1 {
            put(self.out, u64::from(tokens - 2));
        }
        self.next = place + 1;
    }
}

/// Encodes `marking` into `out`.
pub(crate) fn encode(marking: &[Marked], out: &mut Vec<u8>) {
    let mut e = Encoder::new(out);
    for &(p, m) in marking {
        e.push(p, m);
    }
}

/// Decodes `bytes` into `out` (cleared first).
pub(crate) fn decode(bytes: &[u8], out: &mut Vec<Marked>) {
    out.clear();
    let (mut at, mut next) = (0, 0u64);
    while at < bytes.len() {
        let head = take(bytes, &mut at);
        let place = next + (head >> 1);
        let tokens = if head & 1 == 1 {
            take(bytes, &mut at) + 2
        } else {
            1
        };
        out.push((place as u32, tokens as u32));
        next = place + 1;
    }
}

/// A hash of an encoded marking: 64-bit words folded by multiplication,
/// then mixed so every byte moves the top bits (which pick a slot).
#[inline]
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let mut h = 0x243f_6a88_85a3_08d3 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    let rest = chunks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    super::super::layout::mix(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markings_round_trip_and_one_tokens_cost_the_gap_alone() {
        let marking = vec![(0, 1), (1, 7), (63, 1), (64, 300), (1_000_000, 1)];
        let mut bytes = Vec::new();
        encode(&marking, &mut bytes);
        let mut back = Vec::new();
        decode(&bytes, &mut back);
        assert_eq!(back, marking);
        encode(&[(5, 1)], &mut bytes);
        assert_eq!(bytes, vec![10], "gap 5, one token");
        encode(&[], &mut bytes);
        assert!(bytes.is_empty());
        assert_ne!(hash(&[]), hash(&[0]));
        assert_ne!(hash(&[1, 2, 3]), hash(&[1, 2, 4]));
    }
}
