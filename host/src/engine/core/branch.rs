//! Aborting one region of a case (`[regions.NAME]`, a branch of a fork):
//! its tokens and its firings' dead letters go, its waiting retries and
//! offers are withdrawn, the completed compensable firings of its
//! transitions are compensated (newest first, beside the rest of the case),
//! and one token goes to the region's `on_abort` place. Firings of the
//! region still running are discarded when they return: the case record
//! keeps, per region, the id drawn when it last aborted.

use super::{Core, EngineError, Launch};
use crate::engine::encode_json;
use crate::net::Net;
use crate::store::{CaseRecord, Change, Event, LogLine, Saga};

/// Whether firing `firing` of transition `t` is void: its region aborted
/// after it launched.
pub(super) fn voided(record: &CaseRecord, net: &Net, t: usize, firing: u64) -> bool {
    net.transitions()[t].region.is_some_and(|r| {
        record
            .region_aborts
            .get(&net.regions()[r].name)
            .is_some_and(|&mark| firing < mark)
    })
}

impl Core {
    /// Aborts the region of `launch`'s transition (region index `region`)
    /// because its guest or its retry policy said so.
    pub(super) fn abort_region(
        &mut self,
        launch: Launch,
        region: usize,
        reason: String,
        log: Vec<LogLine>,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let id = launch.case.clone();
        let dep = launch.dep.clone();
        let net = &dep.net;
        let r = &net.regions()[region];
        let t = launch.transition().name.clone();
        let mark = self.next_id()?;
        let mut release = vec![self.release(&launch)];
        let mut held: Vec<_> = launch.inputs.iter().map(|i| i.at).collect();
        let (more_release, more_held) = self.withdraw(&id, Some(region))?;
        release.extend(more_release);
        held.extend(more_held);
        let (mut consume, mut consumed) = self.drop_inputs(&id, held);
        let free: Vec<_> = self
            .marking
            .free_case_tokens(&id)
            .into_iter()
            .filter(|at| r.places.contains(&at.place))
            .collect();
        let (more, more_refs) = self.drop_inputs(&id, free);
        consume.extend(more);
        consumed.extend(more_refs);
        let in_region = |name: &str| {
            net.transition_index(name)
                .is_some_and(|i| net.transitions()[i].region == Some(region))
        };
        let case = self.case_mut(&id)?;
        let (discarded, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut case.dead_letters)
            .into_iter()
            .partition(|(_, transition)| in_region(transition));
        case.dead_letters = kept;
        case.blocked.clear();
        let record = &mut case.record;
        let (mut steps, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut record.compensable)
            .into_iter()
            .partition(|s| in_region(&s.transition));
        record.compensable = kept;
        steps.reverse();
        let compensations: Vec<u64> = steps.iter().map(|s| s.firing).collect();
        if !steps.is_empty() {
            let saga = record
                .saga
                .get_or_insert_with(|| Saga::new(&reason, Vec::new()));
            saga.steps.extend(steps);
            if !saga.regions.contains(&r.name) {
                saga.regions.push(r.name.clone());
            }
        }
        record.region_aborts.insert(r.name.clone(), mark);
        record.updated_at_ms = now_ms;
        let payload = encode_json(&serde_json::json!({
            "region": r.name,
            "transition": t,
            "reason": reason,
        }))?;
        let (produce, produced) = self.produce(&id, net, vec![(r.on_abort, payload)])?;
        let record = self.cases[&id].record.clone();
        tracing::warn!(case = %id, region = %r.name, transition = %t, reason = %reason, "region aborted; the case runs on");
        let discarded: Vec<u64> = discarded.into_iter().map(|(d, _)| d).collect();
        let event = Event::RegionAborted {
            firing: launch.firing,
            transition: t,
            region: r.name.clone(),
            reason,
            consumed,
            discarded: discarded.clone(),
            compensations,
            produced,
            log,
        };
        self.outbox.push(Change {
            release,
            consume,
            produce,
            case: Some(record),
            events: vec![Core::event(now_ms, &id, event)],
            ..Change::default()
        });
        self.remove_dead_letters(discarded);
        self.wake_waiting(dep.version());
        self.mark_dirty(&id);
        Ok(())
    }
}
