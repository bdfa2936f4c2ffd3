//! What the engine hands its shell to run: one firing with its inputs.

use std::sync::Arc;

use super::marking::Input;
use crate::engine::Deployment;
use crate::net::{Performer, Transition};
use crate::store::{AttemptFailure, Reservation, SagaStep, TokenRecord};

/// What a launched firing does.
#[derive(Debug, Clone)]
pub(crate) enum Work {
    /// Fire a transition on its reserved inputs.
    Transition,
    /// Compensate a completed firing of an aborted case.
    Compensation(SagaStep),
}

/// One firing, its inputs reserved and their payloads with it: running it
/// and settling what it decided need no store.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) firing: u64,
    pub(crate) case: String,
    pub(crate) transition: usize,
    pub(crate) dep: Arc<Deployment>,
    /// Reserved inputs, in input-arc order (none for a compensation).
    pub(crate) inputs: Vec<Input>,
    /// When it started (ms since the Unix epoch): the guest's clock.
    pub(crate) started_at_ms: u64,
    pub(crate) attempt: u32,
    /// Failed attempts before this one.
    pub(crate) failures: Vec<AttemptFailure>,
    pub(crate) work: Work,
}

impl Launch {
    /// Its transition.
    pub(crate) fn transition(&self) -> &Transition {
        &self.dep.net.transitions()[self.transition]
    }

    /// A firing of an `external = true` transition, or such a compensation:
    /// offered to workers.
    pub(crate) fn is_external(&self) -> bool {
        matches!(self.transition().performer, Performer::External)
    }

    /// The saga step it performs, if it is a compensation.
    pub(crate) fn compensation(&self) -> Option<&SagaStep> {
        match &self.work {
            Work::Compensation(step) => Some(step),
            Work::Transition => None,
        }
    }

    /// What the guest gets as inputs: the reserved tokens, or for a
    /// compensation the compensated firing's inputs.
    pub(crate) fn input_records(&self) -> Vec<TokenRecord> {
        if let Some(step) = self.compensation() {
            return step.inputs.clone();
        }
        let places = self.dep.net.places();
        self.inputs
            .iter()
            .map(|i| TokenRecord {
                place: places[i.at.place].name.clone(),
                seq: i.at.seq,
                shared: places[i.at.place].shared,
                payload: i.payload.clone(),
            })
            .collect()
    }
}

/// What a [`Launch`] is while its inputs are held: the reservation record.
pub(crate) fn reservation(
    l: &Launch,
    tokens: Vec<crate::store::TokenId>,
    lease: Option<crate::store::Lease>,
) -> Reservation {
    Reservation {
        case: l.case.clone(),
        transition: l.transition().name.clone(),
        attempt: l.attempt,
        tokens,
        started_at_ms: l.started_at_ms,
        not_before_ms: 0,
        failures: l.failures.clone(),
        external: l.is_external(),
        lease,
        compensates: l.compensation().map(|step| step.firing),
    }
}
