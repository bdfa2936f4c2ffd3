//! What one store transaction writes: each change encoded once, outside
//! sled's transaction closure (which sled may run more than once), then
//! applied tree by tree; the log entries as records of up to
//! [`LOG_RECORD_ENTRIES`], indexed by case.

use std::collections::BTreeMap;

use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::keys;
use super::{
    Change, DeadLetter, EventRecord, Release, Reservation, StoreError, TokenId, case_entry, decode,
    encode, token_entry,
};

/// A change with its records encoded once, outside the transaction (sled may
/// run the transaction closure more than once).
pub(super) struct Encoded<'a> {
    change: &'a Change,
    case: Option<Vec<u8>>,
    reserve: Vec<(u64, Vec<u8>)>,
    dead_letter: Option<(u64, &'a str, Vec<u8>)>,
}

pub(super) fn encode_change(change: &Change) -> Result<Encoded<'_>, StoreError> {
    let case = change
        .case
        .as_ref()
        .map(|c| encode("case", c))
        .transpose()?;
    let reserve = change
        .reserve
        .iter()
        .map(|(id, r)| Ok((*id, encode("reservation", r)?)))
        .collect::<Result<_, StoreError>>()?;
    let dead_letter = change
        .dead_letter
        .as_ref()
        .map(|d| Ok::<_, StoreError>((d.id, d.case.as_str(), encode("dead letter", d)?)))
        .transpose()?;
    Ok(Encoded {
        change,
        case,
        reserve,
        dead_letter,
    })
}

/// Most entries in one `events` record. A transaction's entries share
/// records so that a firing does not cost the log a key of its own, but a
/// record stays far below sled's blob threshold (a value sled would
/// otherwise write to a file of its own).
pub(super) const LOG_RECORD_ENTRIES: usize = 32;

/// A run of a transaction's log entries as one `events` record, keyed by
/// their greatest seq, and the cases they concern (each indexed once).
pub(super) struct LogRecord<'a> {
    key: u64,
    bytes: Vec<u8>,
    cases: Vec<&'a str>,
}

pub(super) fn encode_log(changes: &[Change]) -> Result<Vec<LogRecord<'_>>, StoreError> {
    let events: Vec<&EventRecord> = changes.iter().flat_map(|c| &c.events).collect();
    events
        .chunks(LOG_RECORD_ENTRIES)
        .map(|chunk| {
            let mut cases: Vec<&str> = chunk.iter().filter_map(|e| e.case.as_deref()).collect();
            cases.sort_unstable();
            cases.dedup();
            Ok(LogRecord {
                key: chunk.iter().map(|e| e.seq).max().unwrap_or_default(),
                bytes: encode("events", &chunk)?,
                cases,
            })
        })
        .collect()
}

/// The entries of one `events` record.
pub(super) fn decode_log(bytes: &[u8]) -> Result<Vec<EventRecord>, StoreError> {
    decode::<Vec<EventRecord>>("events", bytes)
}

pub(super) type Abort = ConflictableTransactionError<StoreError>;

pub(super) struct Trees<'a> {
    pub(super) tokens: &'a TransactionalTree,
    pub(super) reservations: &'a TransactionalTree,
    pub(super) events: &'a TransactionalTree,
    pub(super) case_events: &'a TransactionalTree,
    pub(super) cases: &'a TransactionalTree,
    pub(super) dead_letters: &'a TransactionalTree,
    /// Each case's live dead letters (`keys::case_dead_letter`), so a
    /// case's view reads only its own.
    pub(super) case_dead_letters: &'a TransactionalTree,
}

pub(super) fn apply_one(t: &Trees<'_>, e: &Encoded<'_>) -> Result<(), Abort> {
    let ch = e.change;
    for r in &ch.release {
        release(t, ch, r)?;
    }
    for ((id, bytes), (_, r)) in e.reserve.iter().zip(&ch.reserve) {
        reserve(t, *id, bytes, r)?;
    }
    if let Some(id) = ch.remove_dead_letter {
        let Some(gone) = t.dead_letters.remove(&id.to_be_bytes())? else {
            return Err(conflict(format!("dead letter {id} is gone")));
        };
        let letter: DeadLetter = decode("dead letter", &gone).map_err(Abort::Abort)?;
        t.case_dead_letters
            .remove(keys::case_dead_letter(&letter.case, id))?;
    }
    if let Some((id, case, bytes)) = &e.dead_letter {
        t.dead_letters.insert(&id.to_be_bytes(), bytes.as_slice())?;
        t.case_dead_letters
            .insert(keys::case_dead_letter(case, *id), &[][..])?;
    }
    for id in &ch.consume {
        if t.tokens.remove(id.key())?.is_none() {
            return Err(conflict(format!("token {id} is gone")));
        }
    }
    for token in &ch.produce {
        t.tokens.insert(token.key(), token.payload.as_slice())?;
    }
    Ok(())
}

fn conflict(message: String) -> Abort {
    Abort::Abort(StoreError::Conflict(message))
}

/// Whether the store keeps reservation `r` on its first input token rather
/// than apart: a first attempt launched now (no failures, no timer, run by
/// the host), the reservation every firing makes (see `token_entry`).
pub(super) fn kept_on_token(r: &Reservation) -> bool {
    r.not_before_ms == 0
        && r.failures.is_empty()
        && !r.external
        && r.lease.is_none()
        && !r.tokens.is_empty()
}

/// Removes a firing's reservation: the hold on its first input token (a
/// token the change consumes goes with it) or its `reservations` record.
fn release(t: &Trees<'_>, ch: &Change, r: &Release) -> Result<(), Abort> {
    if let Some(first) = r.tokens.first()
        && let Some(value) = t.tokens.get(first.key())?
    {
        let entry = token_entry::split(&value);
        if entry.held.is_some_and(|(firing, _)| firing == r.firing) {
            if !ch.consume.contains(first) {
                t.tokens.insert(first.key(), entry.payload)?;
            }
            return Ok(());
        }
    }
    if t.reservations.remove(&r.firing.to_be_bytes())?.is_none() {
        return Err(conflict(format!(
            "firing {} holds no reservation",
            r.firing
        )));
    }
    Ok(())
}

/// Writes firing `id`'s reservation (`bytes` encoded): on its first input
/// token if [`kept_on_token`], else as a record (and a hold of the same
/// firing's it replaces, a retry's first attempt's, goes; an external
/// firing's, an offer or a lease, never held a token).
fn reserve(t: &Trees<'_>, id: u64, bytes: &[u8], r: &Reservation) -> Result<(), Abort> {
    // Not read for an external firing's.
    let first = r.tokens.first().filter(|_| !r.external);
    let key = first.map(TokenId::key);
    let held = key.as_ref().map(|k| t.tokens.get(k)).transpose()?.flatten();
    let entry = held.as_deref().map(token_entry::split);
    if kept_on_token(r) {
        let (key, entry) = key.zip(entry).ok_or_else(|| {
            conflict(format!(
                "token {} is gone",
                first.map_or_else(String::new, ToString::to_string)
            ))
        })?;
        if let Some((other, _)) = entry.held
            && other != id
        {
            return Err(conflict(format!(
                "token {} is held by firing {other}",
                first.map_or_else(String::new, ToString::to_string)
            )));
        }
        t.tokens
            .insert(key, token_entry::held(id, bytes, entry.payload))?;
        return Ok(());
    }
    if let (Some(key), Some(entry)) = (key, entry)
        && entry.held.is_some_and(|(firing, _)| firing == id)
    {
        t.tokens.insert(key, entry.payload)?;
    }
    t.reservations.insert(&id.to_be_bytes(), bytes)?;
    Ok(())
}

/// The case records a transaction writes, each once (a later change's
/// record replaces an earlier one's), by id.
pub(super) fn case_writes<'a>(encoded: &'a [Encoded<'a>]) -> BTreeMap<&'a str, &'a [u8]> {
    encoded
        .iter()
        .filter_map(|e| Some((e.change.case.as_ref()?.id.as_str(), e.case.as_deref()?)))
        .collect()
}

/// Writes the log records and each case's record. A record's entries of a
/// case whose record the transaction writes are indexed in the case's value
/// (it keeps the keys it held, but for the `fresh` cases, compacted by this
/// transaction), other cases' in `case_events`.
pub(super) fn write_log_and_cases(
    t: &Trees<'_>,
    log: &[LogRecord<'_>],
    cases: &BTreeMap<&str, &[u8]>,
    fresh: &[&str],
) -> Result<(), Abort> {
    let mut inline: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for record in log {
        t.events
            .insert(&record.key.to_be_bytes(), record.bytes.as_slice())?;
        for &case in &record.cases {
            if cases.contains_key(case) {
                inline.entry(case).or_default().push(record.key);
            } else {
                t.case_events
                    .insert(keys::case_event(case, record.key), &[][..])?;
            }
        }
    }
    for (&id, &bytes) in cases {
        let mut keys = match t.cases.get(id.as_bytes())? {
            Some(old) if !fresh.contains(&id) => {
                case_entry::log_keys(&old).map_err(Abort::Abort)?
            }
            _ => Vec::new(),
        };
        for key in inline.remove(id).unwrap_or_default() {
            if keys.len() < case_entry::MAX_LOG_KEYS {
                keys.push(key);
            } else {
                t.case_events.insert(keys::case_event(id, key), &[][..])?;
            }
        }
        t.cases
            .insert(id.as_bytes(), case_entry::encode(bytes, &keys))?;
    }
    Ok(())
}

pub(super) fn unwrap_tx(
    result: Result<(), TransactionError<StoreError>>,
) -> Result<(), StoreError> {
    result.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    })
}
