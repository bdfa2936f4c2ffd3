//! The plain place/transition net every checked net is translated into.
//!
//! PNML files ([`super::pnml`]) and Petrel net files ([`super::workflow`])
//! both become a [`PtNet`]: named places with an initial marking and an
//! optional capacity, and named transitions with weighted input and output
//! arcs. The state-space engines know nothing else.
//!
//! A transition may also *reset* places: firing it empties them (after
//! consuming its inputs, before producing its outputs). PNML nets never do;
//! the workflow translation uses resets for an aborted case, whose tokens
//! all go at once. Only the sparse engine ([`super::sparse`]) fires them.

use std::collections::HashMap;

/// Index of a place in [`PtNet::places`].
pub type PlaceId = usize;
/// Index of a transition in [`PtNet::transitions`].
pub type TransitionId = usize;

/// A place of a [`PtNet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtPlace {
    /// Unique name (the PNML `id`).
    pub name: String,
    /// Human label (the PNML `<name>`), when it differs from `name`.
    pub label: Option<String>,
    /// Tokens in the initial marking.
    pub initial: u32,
    /// Most tokens the place may hold: a transition whose firing would exceed
    /// it is not enabled. `None` is unlimited.
    pub capacity: Option<u32>,
}

impl PtPlace {
    /// A place called `name` holding `initial` tokens, without label or
    /// capacity.
    pub fn new(name: impl Into<String>, initial: u32) -> PtPlace {
        PtPlace {
            name: name.into(),
            label: None,
            initial,
            capacity: None,
        }
    }
}

/// A transition of a [`PtNet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtTransition {
    /// Unique name (the PNML `id`).
    pub name: String,
    /// Human label (the PNML `<name>`), when it differs from `name`.
    pub label: Option<String>,
    /// Tokens consumed per place, sorted by place, at most one arc per place.
    pub inputs: Vec<(PlaceId, u32)>,
    /// Tokens produced per place, sorted by place, at most one arc per place.
    pub outputs: Vec<(PlaceId, u32)>,
    /// Places emptied by a firing (after the inputs are consumed, before the
    /// outputs are produced), sorted, without repeats.
    pub resets: Vec<PlaceId>,
}

impl PtTransition {
    /// Tokens this transition consumes from `place`.
    pub fn consumes(&self, place: PlaceId) -> u32 {
        weight(&self.inputs, place)
    }

    /// Tokens this transition produces into `place`.
    pub fn produces(&self, place: PlaceId) -> u32 {
        weight(&self.outputs, place)
    }

    /// Whether a firing empties `place`.
    pub fn resets(&self, place: PlaceId) -> bool {
        self.resets.binary_search(&place).is_ok()
    }

    /// Change of the token total per firing, resets aside.
    pub fn effect(&self) -> i64 {
        let sum = |arcs: &[(PlaceId, u32)]| arcs.iter().map(|&(_, w)| i64::from(w)).sum::<i64>();
        sum(&self.outputs) - sum(&self.inputs)
    }
}

fn weight(arcs: &[(PlaceId, u32)], place: PlaceId) -> u32 {
    arcs.binary_search_by_key(&place, |&(p, _)| p)
        .map_or(0, |i| arcs[i].1)
}

/// A place/transition net with an initial marking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PtNet {
    /// Name of the net (the PNML net `id`, or the Petrel net name).
    pub name: String,
    places: Vec<PtPlace>,
    transitions: Vec<PtTransition>,
    names: HashMap<String, Node>,
    /// Whether some transition has resets.
    resetting: bool,
    /// Arcs of every transition (inputs, outputs, resets).
    arcs: usize,
}

/// What a name in a [`PtNet`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// A place.
    Place(PlaceId),
    /// A transition.
    Transition(TransitionId),
}

/// A net that cannot be built: a duplicate name, an unknown node or an arc
/// weight that overflows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Two nodes share a name.
    #[error("duplicate name `{0}` (expected every place and transition name unique)")]
    Duplicate(String),
    /// An arc weight or a token count adds up past `u32::MAX`.
    #[error(
        "arc weights between `{place}` and `{transition}` add up past {}",
        u32::MAX
    )]
    Overflow {
        /// The place.
        place: String,
        /// The transition.
        transition: String,
    },
}

impl PtNet {
    /// An empty net called `name`.
    pub fn new(name: impl Into<String>) -> PtNet {
        PtNet {
            name: name.into(),
            ..PtNet::default()
        }
    }

    /// Adds a place and returns its index.
    pub fn add_place(&mut self, place: PtPlace) -> Result<PlaceId, BuildError> {
        let id = self.places.len();
        self.claim(&place.name, Node::Place(id))?;
        self.places.push(place);
        Ok(id)
    }

    /// Adds a transition with its arcs (in any order; parallel arcs to the same
    /// place add up) and returns its index.
    pub fn add_transition(
        &mut self,
        name: impl Into<String>,
        label: Option<String>,
        inputs: &[(PlaceId, u32)],
        outputs: &[(PlaceId, u32)],
    ) -> Result<TransitionId, BuildError> {
        self.add_resetting_transition(name, label, inputs, outputs, &[])
    }

    /// Adds a transition that also empties the places `resets` when it
    /// fires (see [`PtTransition::resets`]).
    pub fn add_resetting_transition(
        &mut self,
        name: impl Into<String>,
        label: Option<String>,
        inputs: &[(PlaceId, u32)],
        outputs: &[(PlaceId, u32)],
        resets: &[PlaceId],
    ) -> Result<TransitionId, BuildError> {
        let name = name.into();
        let id = self.transitions.len();
        let inputs = self.merge(&name, inputs)?;
        let outputs = self.merge(&name, outputs)?;
        let mut resets = resets.to_vec();
        resets.sort_unstable();
        resets.dedup();
        if let Some(&p) = resets.iter().find(|&&p| p >= self.places.len()) {
            panic!(
                "reset of place {p} of a net with {} places",
                self.places.len()
            );
        }
        self.claim(&name, Node::Transition(id))?;
        self.resetting |= !resets.is_empty();
        self.arcs += inputs.len() + outputs.len() + resets.len();
        self.transitions.push(PtTransition {
            name,
            label,
            inputs,
            outputs,
            resets,
        });
        Ok(id)
    }

    /// Whether some transition resets places.
    pub fn has_resets(&self) -> bool {
        self.resetting
    }

    /// Number of arcs (inputs, outputs and resets of every transition).
    pub fn arcs(&self) -> usize {
        self.arcs
    }

    fn claim(&mut self, name: &str, node: Node) -> Result<(), BuildError> {
        if self.names.insert(name.to_string(), node).is_some() {
            return Err(BuildError::Duplicate(name.to_string()));
        }
        Ok(())
    }

    fn merge(
        &self,
        transition: &str,
        arcs: &[(PlaceId, u32)],
    ) -> Result<Vec<(PlaceId, u32)>, BuildError> {
        let mut out: Vec<(PlaceId, u32)> = arcs.iter().copied().filter(|&(_, w)| w > 0).collect();
        out.sort_unstable_by_key(|&(p, _)| p);
        let mut merged: Vec<(PlaceId, u32)> = Vec::with_capacity(out.len());
        for (p, w) in out {
            assert!(
                p < self.places.len(),
                "arc to place {p} of a net with {} places",
                self.places.len()
            );
            match merged.last_mut() {
                Some((q, v)) if *q == p => {
                    *v = v.checked_add(w).ok_or_else(|| BuildError::Overflow {
                        place: self.places[p].name.clone(),
                        transition: transition.to_string(),
                    })?;
                }
                _ => merged.push((p, w)),
            }
        }
        Ok(merged)
    }

    /// Places, in insertion order.
    pub fn places(&self) -> &[PtPlace] {
        &self.places
    }

    /// Transitions, in insertion order.
    pub fn transitions(&self) -> &[PtTransition] {
        &self.transitions
    }

    /// The place or transition called `name`.
    pub fn node(&self, name: &str) -> Option<Node> {
        self.names.get(name).copied()
    }

    /// The initial marking, one count per place.
    pub fn initial_marking(&self) -> Vec<u32> {
        self.places.iter().map(|p| p.initial).collect()
    }

    /// The places marked initially, as `(place, tokens)` sorted by place.
    pub fn initial_marked(&self) -> Vec<(u32, u32)> {
        self.places
            .iter()
            .enumerate()
            .filter(|(_, p)| p.initial > 0)
            .map(|(i, p)| (i as u32, p.initial))
            .collect()
    }

    /// The net with every arc turned around and no capacities: its firings
    /// are the original's, backwards. A net with resets has no such reverse
    /// (a reset forgets what it emptied): call it on nets without.
    pub fn reversed(&self) -> PtNet {
        debug_assert!(!self.resetting, "a net with resets cannot be reversed");
        let places = self
            .places
            .iter()
            .map(|p| PtPlace {
                capacity: None,
                ..p.clone()
            })
            .collect();
        let transitions = self
            .transitions
            .iter()
            .map(|t| PtTransition {
                inputs: t.outputs.clone(),
                outputs: t.inputs.clone(),
                ..t.clone()
            })
            .collect();
        PtNet {
            name: self.name.clone(),
            places,
            transitions,
            names: self.names.clone(),
            resetting: false,
            arcs: self.arcs,
        }
    }

    /// Whether `transition` may fire in `marking`.
    pub fn enabled(&self, marking: &[u32], transition: TransitionId) -> bool {
        let t = &self.transitions[transition];
        t.inputs.iter().all(|&(p, w)| marking[p] >= w)
            && t.outputs
                .iter()
                .all(|&(p, w)| match self.places[p].capacity {
                    None => true,
                    Some(cap) => {
                        let before = if t.resets(p) {
                            0
                        } else {
                            u64::from(marking[p]) - u64::from(t.consumes(p))
                        };
                        before + u64::from(w) <= u64::from(cap)
                    }
                })
    }

    /// Fires `transition` in `marking` (which must enable it); `None` when a
    /// place would exceed `u32::MAX` tokens.
    pub fn fire(&self, marking: &mut [u32], transition: TransitionId) -> Option<()> {
        let t = &self.transitions[transition];
        for &(p, w) in &t.inputs {
            marking[p] -= w;
        }
        for &p in &t.resets {
            marking[p] = 0;
        }
        for &(p, w) in &t.outputs {
            marking[p] = marking[p].checked_add(w)?;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str, initial: u32) -> PtPlace {
        PtPlace::new(name, initial)
    }

    #[test]
    fn parallel_arcs_add_up_and_sort() {
        let mut net = PtNet::new("n");
        let a = net.add_place(place("a", 1)).unwrap();
        let b = net.add_place(place("b", 0)).unwrap();
        let t = net
            .add_transition("t", None, &[(b, 1), (a, 1), (b, 2)], &[(a, 0)])
            .unwrap();
        assert_eq!(net.transitions()[t].inputs, vec![(a, 1), (b, 3)]);
        assert!(net.transitions()[t].outputs.is_empty());
        assert_eq!(net.transitions()[t].effect(), -4);
    }

    #[test]
    fn names_are_unique_across_places_and_transitions() {
        let mut net = PtNet::new("n");
        net.add_place(place("x", 0)).unwrap();
        assert_eq!(
            net.add_transition("x", None, &[], &[]),
            Err(BuildError::Duplicate("x".into()))
        );
    }

    #[test]
    fn capacity_disables_a_transition() {
        let mut net = PtNet::new("n");
        let a = net.add_place(place("a", 1)).unwrap();
        let b = net
            .add_place(PtPlace {
                capacity: Some(1),
                ..place("b", 1)
            })
            .unwrap();
        let t = net.add_transition("t", None, &[(a, 1)], &[(b, 1)]).unwrap();
        let u = net.add_transition("u", None, &[(b, 1)], &[(b, 1)]).unwrap();
        let m = net.initial_marking();
        assert!(!net.enabled(&m, t));
        assert!(
            net.enabled(&m, u),
            "consuming first frees the capacity it refills"
        );
    }
}
