//! sled's index of each case's live dead letters (`case_dead_letters`):
//! keys only, `keys::case_dead_letter`, written in the transaction that
//! stores or removes a letter (`transaction`), so a case's view reads only
//! its own letters, not the queue nor the case's log.

use sled::Tree;

use super::{DeadLetter, StoreError, decode, keys};

/// Indexes every letter of `dead_letters` when `index` is empty: a store
/// written before the index existed.
pub(super) fn fill_if_empty(dead_letters: &Tree, index: &Tree) -> Result<(), StoreError> {
    if !index.is_empty() {
        return Ok(());
    }
    for kv in dead_letters.iter() {
        let letter: DeadLetter = decode("dead letter", &kv?.1)?;
        index.insert(keys::case_dead_letter(&letter.case, letter.id), &[])?;
    }
    Ok(())
}

/// The ids of case `case`'s live dead letters, ascending.
pub(super) fn ids(index: &Tree, case: &str) -> Result<Vec<u64>, StoreError> {
    index
        .scan_prefix(keys::case_events_prefix(case))
        .keys()
        .map(|key| {
            let key = key?;
            key.len()
                .checked_sub(8)
                .and_then(|at| key[at..].try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError::Bug("a short case_dead_letters key".into()))
        })
        .collect()
}
