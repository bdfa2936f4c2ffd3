//! sled's index of cases by start time (`case_starts`): keys only,
//! [`key`]: the start time (ms, big-endian) then the case id, written in
//! the transaction that starts the case, so listing cases newest first
//! reads only the page it answers, not every case.

use sled::Tree;

use super::{CaseRecord, StoreError, case_entry};

/// The index key of a case started at `started_at_ms`.
pub(super) fn key(started_at_ms: u64, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + id.len());
    key.extend_from_slice(&started_at_ms.to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// Indexes every case of `cases` when `index` is empty: a store written
/// before the index existed.
pub(super) fn fill_if_empty(cases: &Tree, index: &Tree) -> Result<(), StoreError> {
    if !index.is_empty() {
        return Ok(());
    }
    for kv in cases.iter() {
        let record = case_entry::record(&kv?.1)?;
        index.insert(key(record.started_at_ms, &record.id), &[])?;
    }
    Ok(())
}

/// Up to `limit` cases, newest started first (ties: greater id first),
/// each started before `before` (a start time and id, exclusive).
pub(super) fn newest_first(
    index: &Tree,
    cases: &Tree,
    before: Option<(u64, &str)>,
    limit: usize,
) -> Result<Vec<CaseRecord>, StoreError> {
    let keys = match before {
        Some((ms, id)) => index.range(..key(ms, id)),
        None => index.iter(),
    };
    let mut page = Vec::with_capacity(limit.min(1024));
    for k in keys.keys().rev() {
        if page.len() >= limit {
            break;
        }
        let k = k?;
        let id = k
            .get(8..)
            .ok_or_else(|| StoreError::Bug(format!("malformed case_starts key {k:?}")))?;
        let value = cases.get(id)?.ok_or_else(|| {
            StoreError::Bug(format!(
                "case `{}` is indexed but not stored",
                String::from_utf8_lossy(id)
            ))
        })?;
        page.push(case_entry::record(&value)?);
    }
    Ok(page)
}
