//! Reading a translated marking case by case, and watching exploration for
//! the first (least deep) deadlock and improper completion.

use super::translate::{Slot, Translation};
use crate::net::Net;
use crate::verify::exploration::{Observer, StateId};

/// Per case, what one marking says of it.
pub(super) struct Cases<'a> {
    t: &'a Translation,
    /// Per P/T place: a final Petrel place.
    finals: Vec<bool>,
    /// Per case (from 0): aborted, tokens, tokens outside final places
    /// (in the dead-letter queue too), and a marked final place.
    aborted: Vec<bool>,
    total: Vec<u64>,
    outside: Vec<bool>,
    final_at: Vec<Option<usize>>,
}

impl<'a> Cases<'a> {
    pub(super) fn new(net: &Net, t: &'a Translation) -> Cases<'a> {
        let finals = t
            .places
            .iter()
            .map(|s| match *s {
                Slot::Place { place, .. } => net.places()[place].is_final,
                _ => false,
            })
            .collect();
        let k = t.cases;
        Cases {
            t,
            finals,
            aborted: vec![false; k],
            total: vec![0; k],
            outside: vec![false; k],
            final_at: vec![None; k],
        }
    }

    /// Reads the sparse marking `marked` (`(place, tokens)`).
    pub(super) fn read(&mut self, marked: &[(u32, u32)]) {
        self.aborted.fill(false);
        self.total.fill(0);
        self.outside.fill(false);
        self.final_at.fill(None);
        for &(p, m) in marked {
            let p = p as usize;
            match self.t.places[p] {
                Slot::Place { case: Some(c), .. } => {
                    self.total[c - 1] += u64::from(m);
                    if self.finals[p] {
                        self.final_at[c - 1].get_or_insert(p);
                    } else {
                        self.outside[c - 1] = true;
                    }
                }
                Slot::Place { case: None, .. } => {}
                Slot::DeadLetter { case, .. } => {
                    self.total[case - 1] += u64::from(m);
                    self.outside[case - 1] = true;
                }
                Slot::Aborted(c) => self.aborted[c - 1] = true,
            }
        }
    }

    /// The cases that did not abort with a token outside the final places
    /// (or in the dead-letter queue), from 1.
    pub(super) fn unfinished(&self) -> impl Iterator<Item = usize> + '_ {
        (1..=self.t.cases).filter(|&c| !self.aborted[c - 1] && self.outside[c - 1])
    }

    /// Whether every case is done: aborted, or no token outside a final
    /// place.
    pub(super) fn done(&self) -> bool {
        self.unfinished().next().is_none()
    }

    /// A case (from 1) with a token in a final place and others besides,
    /// with that final P/T place.
    pub(super) fn improper(&self) -> Option<(usize, usize)> {
        (0..self.t.cases).find_map(|c| match self.final_at[c] {
            Some(p) if self.total[c] > 1 => Some((c + 1, p)),
            _ => None,
        })
    }
}

/// Watches markings for workflow problems: the first (least deep) of each.
pub(super) struct Watch<'a> {
    pub(super) cases: Cases<'a>,
    pub(super) deadlock: Option<StateId>,
    pub(super) improper: Option<(StateId, usize, usize)>,
}

impl Observer for Watch<'_> {
    const MARKINGS: bool = true;

    fn marking(&mut self, state: StateId, marked: &[(u32, u32)], enabled: &[u32]) {
        if self.deadlock.is_some() && self.improper.is_some() {
            return;
        }
        self.cases.read(marked);
        // Aborts and dead letters need an enabled outcome's inputs too, but
        // with no outcome enabled (they would overfill a place, say) and no
        // dead letter to retry, nothing can go on.
        let moves = enabled
            .iter()
            .any(|&t| self.cases.t.origins[t as usize].is_progress());
        if !moves && self.deadlock.is_none() && !self.cases.done() {
            self.deadlock = Some(state);
        }
        if self.improper.is_none()
            && let Some((c, p)) = self.cases.improper()
        {
            self.improper = Some((state, c, p));
        }
    }
}
