//! A Petrel net as a P/T net for `k` concurrent cases, with every choice
//! the host lets a guest, a worker or a failure make.
//!
//! Every place that is not `shared` is replicated per case (`name#c`, or
//! just `name` for one case); shared places hold their resource tokens once,
//! for all cases. A case starts with one token in each `start` place. Per
//! case, every transition (compensations aside: they run outside the
//! marking, when a case aborts) becomes one P/T transition per move:
//!
//! * each declared **outcome** (`transition.outcome#c`), the `on_timeout`
//!   route included: consume the inputs, produce the outcome's outputs;
//! * **abort** (`transition!abort#c`), for a guest (which may return
//!   `abort` whatever it is asked) and for a transition whose `retry`
//!   policy ends in `on_exhausted = "abort"`: the case's tokens all go (a
//!   reset of every place of the case) and the shared tokens the firing
//!   held go back, and the case is marked aborted;
//! * **branch abort** (`transition!abort-region#c`) instead, for such a
//!   transition of a region (`[regions.NAME]`): the region's places and
//!   the dead-letter places of its transitions are reset, the shared tokens
//!   the firing held go back, and one token goes to the region's
//!   `on_abort` place; the case runs on;
//! * **dead letter** (`transition!dead-letter#c`), for a transition whose
//!   retry policy ends in the dead-letter queue (the default: any guest can
//!   trap or answer nonsense, any worker can fail): the case inputs move to
//!   the queue (places `!dead-letter:transition:place#c`), the shared ones
//!   go back;
//! * **operator retry** (`transition!retry#c`) of such a dead letter
//!   (`petrel dlq retry`): its tokens go back where they came from, for a
//!   fresh attempt.
//!
//! A decline leaves the marking as it was, so it adds no marking; a retry
//! that succeeds is the same firing, later. Both are covered by the
//! interleavings of the moves above.

use crate::net::{Net, OnExhausted, Performer};
use crate::verify::ptnet::{PlaceId, PtNet, PtPlace};

/// What a P/T transition of a translation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Fires the outcome with this index in the transition's outcomes.
    Outcome(usize),
    /// Aborts the case.
    Abort,
    /// Aborts the transition's region; the case runs on.
    AbortRegion,
    /// Moves the case inputs to the dead-letter queue.
    DeadLetter,
    /// An operator puts a dead letter's tokens back.
    Retry,
}

/// What a P/T transition of a translation stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// Index of the Petrel transition.
    pub transition: usize,
    /// The move.
    pub kind: Move,
    /// The case, from 1.
    pub case: usize,
}

impl Origin {
    /// Whether this is a declared outcome (not an abort or a dead letter).
    pub fn is_outcome(&self) -> bool {
        matches!(self.kind, Move::Outcome(_))
    }

    /// Whether completing a case may count on this move: an outcome, or an
    /// operator's retry; not an abort or a dead letter.
    pub fn is_progress(&self) -> bool {
        matches!(self.kind, Move::Outcome(_) | Move::Retry)
    }
}

/// What a P/T place of a translation stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A Petrel place, and its case (`None`: shared).
    Place {
        /// Index of the Petrel place.
        place: usize,
        /// The case, from 1 (`None`: a shared place).
        case: Option<usize>,
    },
    /// Marked once the case aborted.
    Aborted(usize),
    /// Tokens of a case place in the dead-letter queue, from a transition.
    DeadLetter {
        /// Index of the Petrel transition that failed for good.
        transition: usize,
        /// Index of the Petrel place the tokens came from.
        place: usize,
        /// The case, from 1.
        case: usize,
    },
}

/// A Petrel net as a P/T net for a number of concurrent cases.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The P/T net.
    pub net: PtNet,
    /// Number of cases.
    pub cases: usize,
    /// Per P/T transition, what it stands for.
    pub origins: Vec<Origin>,
    /// Per P/T place, what it stands for.
    pub places: Vec<Slot>,
}

/// Whether transition `t` of `net` may abort its case.
pub fn may_abort(net: &Net, t: usize) -> bool {
    let t = &net.transitions()[t];
    matches!(t.performer, Performer::Guest { .. }) || t.retry.on_exhausted == OnExhausted::Abort
}

/// Whether transition `t` of `net` may dead-letter its inputs.
pub fn may_dead_letter(net: &Net, t: usize) -> bool {
    net.transitions()[t].retry.on_exhausted == OnExhausted::DeadLetter
}

/// Translates `net` for `cases` concurrent cases (at least one).
pub fn translate(net: &Net, cases: usize) -> Translation {
    let cases = cases.max(1);
    let mut pt = PtNet::new(net.name());
    let mut places = Vec::new();
    let mut add = |pt: &mut PtNet, name: String, initial: u32, capacity, slot| {
        places.push(slot);
        // Petrel names are ASCII letters, digits, `_` and `-`: the `#` and
        // `!` of the names made here never clash with them.
        pt.add_place(PtPlace {
            name,
            label: None,
            initial,
            capacity,
        })
        .expect("translated names are unique")
    };
    // index[place][case - 1] (shared places: one entry)
    let mut index: Vec<Vec<PlaceId>> = Vec::with_capacity(net.places().len());
    for (i, p) in net.places().iter().enumerate() {
        let copies = if p.shared { 1 } else { cases };
        let ids = (1..=copies)
            .map(|c| {
                let name = if p.shared || cases == 1 {
                    p.name.clone()
                } else {
                    format!("{}#{c}", p.name)
                };
                let initial = if p.shared {
                    u32::try_from(p.initial.len()).unwrap_or(u32::MAX)
                } else {
                    u32::from(p.start)
                };
                let case = (!p.shared).then_some(c);
                add(
                    &mut pt,
                    name,
                    initial,
                    p.capacity,
                    Slot::Place { place: i, case },
                )
            })
            .collect();
        index.push(ids);
    }
    let mut aborted = Vec::with_capacity(cases);
    for c in 1..=cases {
        aborted.push(add(
            &mut pt,
            format!("!aborted#{c}"),
            0,
            None,
            Slot::Aborted(c),
        ));
    }
    // parked[c - 1][t]: per case input place of transition t, its queue place.
    let mut parked: Vec<Vec<Vec<(PlaceId, PlaceId, u32)>>> = Vec::with_capacity(cases);
    let at = |place: usize, case: usize| {
        let ids = &index[place];
        if ids.len() == 1 {
            ids[0]
        } else {
            ids[case - 1]
        }
    };
    for c in 1..=cases {
        let mut per_transition = Vec::with_capacity(net.transitions().len());
        for (ti, t) in net.transitions().iter().enumerate() {
            let mut queue = Vec::new();
            if !t.compensation && may_dead_letter(net, ti) {
                for a in t.inputs.iter().filter(|a| !net.places()[a.place].shared) {
                    let suffix = if cases == 1 {
                        String::new()
                    } else {
                        format!("#{c}")
                    };
                    let name = format!(
                        "!dead-letter:{}:{}{suffix}",
                        t.name,
                        net.places()[a.place].name
                    );
                    let slot = Slot::DeadLetter {
                        transition: ti,
                        place: a.place,
                        case: c,
                    };
                    let q = add(&mut pt, name, 0, None, slot);
                    queue.push((at(a.place, c), q, a.weight));
                }
            }
            per_transition.push(queue);
        }
        parked.push(per_transition);
    }
    let mut origins = Vec::new();
    for c in 1..=cases {
        let suffix = if cases == 1 {
            String::new()
        } else {
            format!("#{c}")
        };
        let case_places: Vec<PlaceId> = net
            .places()
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.shared)
            .map(|(i, _)| at(i, c))
            .collect();
        for (ti, t) in net.transitions().iter().enumerate() {
            if t.compensation {
                continue;
            }
            let inputs: Vec<(PlaceId, u32)> = t
                .inputs
                .iter()
                .map(|a| (at(a.place, c), a.weight))
                .collect();
            let shared_back: Vec<(PlaceId, u32)> = t
                .inputs
                .iter()
                .filter(|a| net.places()[a.place].shared)
                .map(|a| (at(a.place, c), a.weight))
                .collect();
            let mut push = |pt: &mut PtNet,
                            name: String,
                            inputs: &[(PlaceId, u32)],
                            outputs: &[(PlaceId, u32)],
                            resets: &[PlaceId],
                            kind| {
                pt.add_resetting_transition(name, None, inputs, outputs, resets)
                    .expect("unique names, weights fit");
                origins.push(Origin {
                    transition: ti,
                    kind,
                    case: c,
                });
            };
            for (oi, o) in t.outcomes.iter().enumerate() {
                let outputs: Vec<(PlaceId, u32)> = o
                    .outputs
                    .iter()
                    .map(|a| (at(a.place, c), a.weight))
                    .collect();
                let name = format!("{}.{}{suffix}", t.name, o.name);
                push(&mut pt, name, &inputs, &outputs, &[], Move::Outcome(oi));
            }
            match t.region.map(|r| &net.regions()[r]) {
                Some(region) if may_abort(net, ti) => {
                    let mut outputs = shared_back.clone();
                    outputs.push((at(region.on_abort, c), 1));
                    let mut resets: Vec<PlaceId> =
                        region.places.iter().map(|&p| at(p, c)).collect();
                    for (tj, u) in net.transitions().iter().enumerate() {
                        if u.region == t.region {
                            resets.extend(parked[c - 1][tj].iter().map(|&(_, q, _)| q));
                        }
                    }
                    let name = format!("{}!abort-region{suffix}", t.name);
                    push(&mut pt, name, &inputs, &outputs, &resets, Move::AbortRegion);
                }
                _ if may_abort(net, ti) => {
                    let mut outputs = shared_back.clone();
                    outputs.push((aborted[c - 1], 1));
                    let name = format!("{}!abort{suffix}", t.name);
                    push(&mut pt, name, &inputs, &outputs, &case_places, Move::Abort);
                }
                _ => {}
            }
            let queue = &parked[c - 1][ti];
            if may_dead_letter(net, ti) && !queue.is_empty() {
                let mut outputs = shared_back.clone();
                outputs.extend(queue.iter().map(|&(_, q, w)| (q, w)));
                let name = format!("{}!dead-letter{suffix}", t.name);
                push(&mut pt, name, &inputs, &outputs, &[], Move::DeadLetter);
                let back: Vec<(PlaceId, u32)> = queue.iter().map(|&(p, _, w)| (p, w)).collect();
                let held: Vec<(PlaceId, u32)> = queue.iter().map(|&(_, q, w)| (q, w)).collect();
                let name = format!("{}!retry{suffix}", t.name);
                push(&mut pt, name, &held, &back, &[], Move::Retry);
            }
        }
    }
    Translation {
        net: pt,
        cases,
        origins,
        places,
    }
}
