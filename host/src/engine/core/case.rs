//! One loaded case: its record and what of it is in flight.

use std::collections::HashSet;
use std::sync::Arc;

use crate::engine::Deployment;
use crate::store::CaseRecord;

/// A case the engine holds: its record (as last committed or about to be)
/// and counters of its firings.
#[derive(Debug)]
pub(crate) struct CaseState {
    pub(crate) record: CaseRecord,
    pub(crate) dep: Arc<Deployment>,
    /// Firings of the case launched or offered and not settled.
    pub(crate) in_flight: usize,
    /// Transitions that declined since the marking last changed.
    pub(crate) blocked: HashSet<usize>,
    /// Retries waiting on their timers (or due, not launched yet).
    pub(crate) retrying: usize,
    /// Dead letters of ordinary firings of this case: id, transition.
    pub(crate) dead_letters: Vec<(u64, String)>,
    /// Whether one of its compensations runs or is offered (one at a
    /// time, also while the case runs on after a region aborted).
    pub(crate) compensating: bool,
}

impl CaseState {
    pub(crate) fn new(record: CaseRecord, dep: Arc<Deployment>) -> CaseState {
        CaseState {
            record,
            dep,
            in_flight: 0,
            blocked: HashSet::new(),
            retrying: 0,
            dead_letters: Vec::new(),
            compensating: false,
        }
    }

    /// Whether nothing of the case runs or waits (a region's compensation
    /// waiting in the dead-letter queue waits on an operator).
    pub(crate) fn is_quiet(&self) -> bool {
        self.in_flight == 0
            && self.retrying == 0
            && self
                .record
                .saga
                .as_ref()
                .is_none_or(|s| s.waiting_letter.is_some())
    }
}
