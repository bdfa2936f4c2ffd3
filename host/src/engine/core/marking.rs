//! The marking as the engine holds it: every loaded case's tokens and the
//! shared tokens of each net version, with their payloads, and which are
//! reserved by firings in flight. The store holds the same tokens durably;
//! the engine loads them once and then keeps both in step through the
//! changes it commits.
//!
//! A case sees one marking: its own places and its version's shared places.
//! [`Marking`] resolves which is which in one place ([`Marking::place`]), so
//! nothing above it branches on "shared or case".

use std::collections::{HashMap, VecDeque};

use crate::net::Arc;
use crate::store::{Owner, TokenId};

/// Where a token lies, as a case sees it: a place of its net and a seq.
/// Whether the place is shared follows from the place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Position {
    /// Index of the place in the net.
    pub(crate) place: usize,
    /// The token's seq (FIFO within its place).
    pub(crate) seq: u64,
}

/// A reserved input: where it lies and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Input {
    pub(crate) at: Position,
    pub(crate) payload: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Slot {
    seq: u64,
    payload: Vec<u8>,
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

    /// Adds a token in its place by age (seqs only grow, so a new token
    /// goes to the back; one put back goes where it was).
    fn insert(&mut self, seq: u64, payload: Vec<u8>) {
        let at = self.slots.partition_point(|s| s.seq < seq);
        let slot = Slot {
            seq,
            payload,
            reserved: false,
        };
        if at == self.slots.len() {
            self.slots.push_back(slot);
        } else if self.slots[at].seq != seq {
            self.slots.insert(at, slot);
        } else {
            return; // already there
        }
        self.free += 1;
    }

    fn find(&self, seq: u64) -> Option<usize> {
        let at = self.slots.partition_point(|s| s.seq < seq);
        (self.slots.get(at)?.seq == seq).then_some(at)
    }

    /// Reserves the `n` oldest free tokens (all or nothing).
    fn reserve(&mut self, place: usize, n: usize, into: &mut Vec<Input>) -> bool {
        if self.free < n {
            return false;
        }
        for slot in self.slots.iter_mut().filter(|s| !s.reserved).take(n) {
            slot.reserved = true;
            into.push(Input {
                at: Position {
                    place,
                    seq: slot.seq,
                },
                payload: slot.payload.clone(),
            });
        }
        self.free -= n;
        true
    }

    /// Reserves the free token `seq`; its payload, or `None` if there is no
    /// such free token.
    fn reserve_seq(&mut self, seq: u64) -> Option<Vec<u8>> {
        let i = self.find(seq)?;
        let slot = &mut self.slots[i];
        if slot.reserved {
            return None;
        }
        slot.reserved = true;
        self.free -= 1;
        Some(slot.payload.clone())
    }

    fn unreserve(&mut self, seq: u64) {
        if let Some(i) = self.find(seq)
            && self.slots[i].reserved
        {
            self.slots[i].reserved = false;
            self.free += 1;
        }
    }

    /// Removes a token (reserved or not); its payload, if it was there.
    fn remove(&mut self, seq: u64) -> Option<Vec<u8>> {
        let i = self.find(seq)?;
        let slot = self.slots.remove(i)?;
        if !slot.reserved {
            self.free -= 1;
        }
        Some(slot.payload)
    }

    fn free_seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.slots.iter().filter(|s| !s.reserved).map(|s| s.seq)
    }
}

/// Tokens of every place of one owner (a case, or a version's shared
/// places); a case's holds nothing in shared places and vice versa.
#[derive(Debug, Clone)]
struct Tokens {
    places: Vec<PlaceTokens>,
}

impl Tokens {
    fn new(places: usize) -> Tokens {
        Tokens {
            places: vec![PlaceTokens::default(); places],
        }
    }
}

/// The shared tokens of one net version, and which places are shared.
#[derive(Debug, Clone)]
struct Version {
    shared: Vec<bool>,
    names: Vec<String>,
    tokens: Tokens,
}

/// What a transition's inputs find in a case's marking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enabled {
    /// Enough free tokens on every input arc.
    Yes,
    /// Enough tokens on every arc, but some are reserved by firings in
    /// flight (of this case or, for shared places, of others).
    Held,
    /// Some input place lacks tokens.
    No,
}

/// Every loaded case's tokens and the shared tokens of their versions.
#[derive(Debug, Default)]
pub(crate) struct Marking {
    cases: HashMap<String, (String, Tokens)>,
    versions: HashMap<String, Version>,
    /// Shared tokens may lie with other hosts: a shared place lacking
    /// tokens here makes a transition wait ([`Enabled::Held`]), not fail.
    remote: bool,
}

/// Whose tokens a case reaches in a place.
enum Side {
    Case,
    Shared,
}

impl Marking {
    /// Knows net version `version`, whose places are `places` (name, shared).
    pub(crate) fn add_version<'a>(
        &mut self,
        version: &str,
        places: impl Iterator<Item = (&'a str, bool)>,
    ) {
        if self.versions.contains_key(version) {
            return;
        }
        let (names, shared): (Vec<String>, Vec<bool>) =
            places.map(|(n, s)| (n.to_string(), s)).unzip();
        let tokens = Tokens::new(names.len());
        self.versions.insert(
            version.to_string(),
            Version {
                shared,
                names,
                tokens,
            },
        );
    }

    /// Whether version `version` is known.
    /// Tokens per place of `version` (by name): its loaded cases' and its
    /// shared ones, reserved or not.
    pub(crate) fn counts(&self, version: &str) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        let Some(v) = self.versions.get(version) else {
            return counts;
        };
        let mut per_place: Vec<usize> = v.tokens.places.iter().map(PlaceTokens::len).collect();
        for (_, tokens) in self.cases.values().filter(|(of, _)| of == version) {
            for (n, place) in per_place.iter_mut().zip(&tokens.places) {
                *n += place.len();
            }
        }
        for (name, n) in v.names.iter().zip(per_place) {
            counts.insert(name.clone(), n);
        }
        counts
    }

    pub(crate) fn has_version(&self, version: &str) -> bool {
        self.versions.contains_key(version)
    }

    /// Adds case `case` of a known version, with no tokens.
    pub(crate) fn add_case(&mut self, case: &str, version: &str) {
        let places = self.versions[version].names.len();
        self.cases
            .insert(case.to_string(), (version.to_string(), Tokens::new(places)));
    }

    /// Forgets case `case` (it ended, or is reloaded).
    pub(crate) fn remove_case(&mut self, case: &str) {
        self.cases.remove(case);
    }

    fn side(&self, case: &str, place: usize) -> Side {
        let version = &self.cases[case].0;
        if self.versions[version].shared[place] {
            Side::Shared
        } else {
            Side::Case
        }
    }

    /// The tokens case `case` reaches in `place` (its own, or shared).
    pub(crate) fn place(&self, case: &str, place: usize) -> &PlaceTokens {
        let (version, tokens) = &self.cases[case];
        match self.side(case, place) {
            Side::Case => &tokens.places[place],
            Side::Shared => &self.versions[version].tokens.places[place],
        }
    }

    fn place_mut(&mut self, case: &str, place: usize) -> &mut PlaceTokens {
        let side = self.side(case, place);
        let (version, tokens) = self.cases.get_mut(case).expect("a loaded case");
        match side {
            Side::Case => &mut tokens.places[place],
            Side::Shared => {
                &mut self
                    .versions
                    .get_mut(version.as_str())
                    .expect("a loaded version")
                    .tokens
                    .places[place]
            }
        }
    }

    /// Whether `place` is a shared place of case `case`'s net.
    pub(crate) fn is_shared(&self, case: &str, place: usize) -> bool {
        matches!(self.side(case, place), Side::Shared)
    }

    /// Where the token at `at` of case `case` lies, as the store names it.
    pub(crate) fn token_id(&self, case: &str, at: Position) -> TokenId {
        let version = &self.cases[case].0;
        let owner = match self.side(case, at.place) {
            Side::Case => Owner::Case(case.to_string()),
            Side::Shared => Owner::Shared(version.clone()),
        };
        TokenId::new(
            owner,
            self.versions[version].names[at.place].clone(),
            at.seq,
        )
    }

    /// Shared tokens may lie with other hosts (see [`Marking`]).
    pub(crate) fn set_remote(&mut self) {
        self.remote = true;
    }

    /// The index of shared place `place` of version `version`.
    pub(crate) fn shared_place(&self, version: &str, place: &str) -> Option<usize> {
        let v = self.versions.get(version)?;
        let i = v.names.iter().position(|n| n == place)?;
        v.shared[i].then_some(i)
    }

    /// Takes the free shared tokens of version `version` out (to give
    /// them to other hosts): (place, seq, payload) each.
    pub(crate) fn take_free_shared(&mut self, version: &str) -> Vec<(String, u64, Vec<u8>)> {
        let Some(v) = self.versions.get_mut(version) else {
            return Vec::new();
        };
        let mut taken = Vec::new();
        for (i, place) in v.tokens.places.iter_mut().enumerate() {
            let free: Vec<u64> = place.free_seqs().collect();
            for seq in free {
                if let Some(payload) = place.remove(seq) {
                    taken.push((v.names[i].clone(), seq, payload));
                }
            }
        }
        taken
    }

    /// Puts a shared token of version `version` in place (loading).
    pub(crate) fn put_shared(&mut self, version: &str, place: usize, seq: u64, payload: Vec<u8>) {
        if let Some(v) = self.versions.get_mut(version) {
            v.tokens.places[place].insert(seq, payload);
        }
    }

    /// Puts a token in case `case`'s marking: produced, loaded, or put back.
    pub(crate) fn put(&mut self, case: &str, at: Position, payload: Vec<u8>) {
        self.place_mut(case, at.place).insert(at.seq, payload);
    }

    /// What `arcs` find in case `case`'s marking.
    pub(crate) fn enabled(&self, case: &str, arcs: &[Arc]) -> Enabled {
        let mut held = false;
        for a in arcs {
            let p = self.place(case, a.place);
            let weight = a.weight as usize;
            if p.len() < weight {
                if self.remote && self.is_shared(case, a.place) {
                    held = true;
                    continue;
                }
                return Enabled::No;
            }
            held |= p.free() < weight;
        }
        if held { Enabled::Held } else { Enabled::Yes }
    }

    /// Reserves the oldest free tokens `arcs` take, all or nothing, in arc
    /// order.
    pub(crate) fn reserve(&mut self, case: &str, arcs: &[Arc]) -> Option<Vec<Input>> {
        if self.enabled(case, arcs) != Enabled::Yes {
            return None;
        }
        let mut inputs = Vec::new();
        for a in arcs {
            let ok = self
                .place_mut(case, a.place)
                .reserve(a.place, a.weight as usize, &mut inputs);
            debug_assert!(ok, "checked free counts");
        }
        Some(inputs)
    }

    /// Reserves the token at `at` (a stored reservation taken over); its
    /// payload, or `None` if it is not there or not free.
    pub(crate) fn reserve_at(&mut self, case: &str, at: Position) -> Option<Vec<u8>> {
        self.place_mut(case, at.place).reserve_seq(at.seq)
    }

    /// For a retry holding `held` (its case tokens): reserves what else
    /// `arcs` take (shared tokens that went back while it waited), and
    /// returns all its inputs in arc order; `None` (nothing reserved) while
    /// those are not free.
    pub(crate) fn reserve_rest(
        &mut self,
        case: &str,
        arcs: &[Arc],
        held: &[Input],
    ) -> Option<Vec<Input>> {
        let missing: Vec<(usize, usize)> = arcs
            .iter()
            .map(|a| {
                let have = held.iter().filter(|h| h.at.place == a.place).count();
                (a.place, (a.weight as usize).saturating_sub(have))
            })
            .collect();
        if missing
            .iter()
            .any(|&(p, n)| n > 0 && self.place(case, p).free() < n)
        {
            return None;
        }
        let mut inputs = Vec::with_capacity(held.len());
        for (a, &(p, n)) in arcs.iter().zip(&missing) {
            inputs.extend(held.iter().filter(|h| h.at.place == a.place).cloned());
            if n > 0 {
                self.place_mut(case, p).reserve(p, n, &mut inputs);
            }
        }
        Some(inputs)
    }

    /// Frees reserved tokens (a decline, a failure's shared inputs).
    pub(crate) fn unreserve(&mut self, case: &str, at: impl IntoIterator<Item = Position>) {
        for at in at {
            self.place_mut(case, at.place).unreserve(at.seq);
        }
    }

    /// Removes tokens (reserved or not): consumed, dead-lettered, dropped.
    pub(crate) fn remove(&mut self, case: &str, at: impl IntoIterator<Item = Position>) {
        for at in at {
            self.place_mut(case, at.place).remove(at.seq);
        }
    }

    /// Case `case`'s own tokens that no firing holds.
    pub(crate) fn free_case_tokens(&self, case: &str) -> Vec<Position> {
        let tokens = &self.cases[case].1;
        let mut free = Vec::new();
        for (place, p) in tokens.places.iter().enumerate() {
            if matches!(self.side(case, place), Side::Case) {
                free.extend(p.free_seqs().map(|seq| Position { place, seq }));
            }
        }
        free
    }

    /// Places where case `case` holds tokens of its own.
    pub(crate) fn marked(&self, case: &str) -> Vec<usize> {
        let tokens = &self.cases[case].1;
        (0..tokens.places.len())
            .filter(|&p| tokens.places[p].len() > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests;
