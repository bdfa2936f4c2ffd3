//! sled's side of [`Change::compacts_case`](super::Change::compacts_case):
//! a case's entries leave the `events` records that hold them (a record
//! keeps other cases' entries; one left empty goes), and the case's index
//! entries go with them.
//!
//! The keys are found before the transaction (sled's transactions cannot
//! scan), while the store's commit lock is held, so no commit adds to them
//! meanwhile; inside it each record is read, filtered and written back.

use super::keys;
use super::sled_store::SledStore;
use super::transaction::{Abort, Trees, decode_log};
use super::{CaseRecord, EventRecord, StoreError, case_entry, encode};

/// What compacting one case removes.
pub(super) struct Plan {
    case: String,
    /// The `events` records holding entries of the case.
    records: Vec<u64>,
    /// Its `case_events` keys.
    index: Vec<Vec<u8>>,
}

/// Finds what compacting `case` removes. Call it with the commit lock held.
pub(super) fn plan(store: &SledStore, case: &str) -> Result<Plan, StoreError> {
    let records = store.case_log_keys(case, 0)?;
    let index = store
        .case_events
        .scan_prefix(keys::case_events_prefix(case))
        .keys()
        .map(|k| Ok(k?.to_vec()))
        .collect::<Result<_, StoreError>>()?;
    Ok(Plan {
        case: case.to_string(),
        records,
        index,
    })
}

/// Removes the case's entries and index keys, after checking that the case
/// is stored as `expected` says (same status, same `updated_at_ms`): a case
/// that changed since it was chosen is not compacted.
pub(super) fn apply(t: &Trees<'_>, plan: &Plan, expected: &CaseRecord) -> Result<(), Abort> {
    let conflict = |what: &str| {
        Abort::Abort(StoreError::Conflict(format!(
            "case `{}` {what} since it was chosen for compaction",
            plan.case
        )))
    };
    let stored = t
        .cases
        .get(plan.case.as_bytes())?
        .ok_or_else(|| conflict("went"))?;
    let stored = case_entry::record(&stored).map_err(Abort::Abort)?;
    if stored.status != expected.status || stored.updated_at_ms != expected.updated_at_ms {
        return Err(conflict("changed"));
    }
    for key in &plan.records {
        let key = key.to_be_bytes();
        let Some(bytes) = t.events.get(key)? else {
            continue;
        };
        let entries = decode_log(&bytes).map_err(Abort::Abort)?;
        let kept: Vec<&EventRecord> = entries
            .iter()
            .filter(|e| e.case.as_deref() != Some(plan.case.as_str()))
            .collect();
        if kept.is_empty() {
            t.events.remove(&key)?;
        } else if kept.len() < entries.len() {
            let bytes = encode("events", &kept).map_err(Abort::Abort)?;
            t.events.insert(&key, bytes)?;
        }
    }
    for key in &plan.index {
        t.case_events.remove(key.as_slice())?;
    }
    Ok(())
}

/// The case a plan compacts.
pub(super) fn case(plan: &Plan) -> &str {
    &plan.case
}
