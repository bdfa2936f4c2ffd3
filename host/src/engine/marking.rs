//! The engine's in-memory index of the marking: token seqs per place, and
//! which are reserved by firings in flight. The store holds the payloads;
//! this index is rebuilt from it at the start of every run.

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy)]
struct Slot {
    seq: u64,
    reserved: bool,
}

/// Tokens of one place, oldest first.
#[derive(Debug, Default, Clone)]
pub(crate) struct PlaceTokens {
    slots: VecDeque<Slot>,
    free: usize,
}

impl PlaceTokens {
    /// Tokens in the place, reserved or not.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Tokens not reserved by a firing in flight.
    pub(crate) fn free(&self) -> usize {
        self.free
    }

    /// Adds a token (seqs only grow, so the back is the newest).
    pub(crate) fn push(&mut self, seq: u64) {
        self.slots.push_back(Slot {
            seq,
            reserved: false,
        });
        self.free += 1;
    }

    /// Puts back a token that left the place earlier (a retried dead
    /// letter), in its place by age.
    pub(crate) fn restore(&mut self, seq: u64) {
        let at = self.slots.partition_point(|s| s.seq < seq);
        self.slots.insert(
            at,
            Slot {
                seq,
                reserved: false,
            },
        );
        self.free += 1;
    }

    /// Reserves the `n` oldest free tokens; `None` (and nothing reserved) if fewer are free.
    pub(crate) fn reserve(&mut self, n: usize) -> Option<Vec<u64>> {
        if self.free < n {
            return None;
        }
        let mut taken = Vec::with_capacity(n);
        for slot in self.slots.iter_mut().filter(|s| !s.reserved).take(n) {
            slot.reserved = true;
            taken.push(slot.seq);
        }
        self.free -= n;
        Some(taken)
    }

    /// Reserves the free token `seq`; false if there is no such free token.
    pub(crate) fn reserve_seq(&mut self, seq: u64) -> bool {
        match self.slots.iter_mut().find(|s| s.seq == seq && !s.reserved) {
            Some(slot) => {
                slot.reserved = true;
                self.free -= 1;
                true
            }
            None => false,
        }
    }

    /// Frees a reserved token.
    pub(crate) fn unreserve(&mut self, seq: u64) {
        if let Some(slot) = self.slots.iter_mut().find(|s| s.seq == seq && s.reserved) {
            slot.reserved = false;
            self.free += 1;
        }
    }

    /// Removes a token (reserved or not).
    pub(crate) fn remove(&mut self, seq: u64) {
        if let Some(i) = self.slots.iter().position(|s| s.seq == seq) {
            if !self.slots[i].reserved {
                self.free -= 1;
            }
            self.slots.remove(i);
        }
    }

    /// Seqs of the free tokens.
    pub(crate) fn free_seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.slots.iter().filter(|s| !s.reserved).map(|s| s.seq)
    }
}

/// Tokens of every place of one owner (a case, or a version's shared places).
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    places: Vec<PlaceTokens>,
}

impl Tokens {
    pub(crate) fn new(places: usize) -> Tokens {
        Tokens {
            places: vec![PlaceTokens::default(); places],
        }
    }

    pub(crate) fn place(&self, index: usize) -> &PlaceTokens {
        &self.places[index]
    }

    pub(crate) fn place_mut(&mut self, index: usize) -> &mut PlaceTokens {
        &mut self.places[index]
    }

    /// Indices of places holding at least one token.
    pub(crate) fn marked(&self) -> impl Iterator<Item = usize> + '_ {
        self.places
            .iter()
            .enumerate()
            .filter(|(_, p)| p.len() > 0)
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserves_oldest_free_tokens_first_and_all_or_nothing() {
        let mut p = PlaceTokens::default();
        for seq in [3, 5, 9] {
            p.push(seq);
        }
        assert_eq!(p.reserve(2), Some(vec![3, 5]));
        assert_eq!(p.reserve(2), None);
        assert_eq!(p.free(), 1);
        p.unreserve(3);
        assert_eq!(p.reserve(2), Some(vec![3, 9]));
        p.remove(5);
        assert_eq!((p.len(), p.free()), (2, 0));
        p.unreserve(9);
        assert!(p.reserve_seq(9));
        assert!(!p.reserve_seq(9), "already reserved");
        assert!(!p.reserve_seq(5), "gone");
        assert_eq!(p.free(), 0);
    }
}
