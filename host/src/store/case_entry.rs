//! Values of the `cases` tree. A transaction that writes a case record
//! usually also logs entries of that case (it started, completed, aborted);
//! the keys of those `events` records go into the case's value instead of
//! `case_events`, so such a transaction writes one key for the case, not two.
//!
//! A value is the [`CaseRecord`] (MessagePack), or, once it holds log keys,
//! `0xC1` (a byte MessagePack never uses, so it starts no record), their
//! count (one byte), the keys (u64 BE each), then the record.

use super::{CaseRecord, StoreError, decode};

/// Leads a value that holds log keys.
const WITH_LOG: u8 = super::NOT_MESSAGEPACK;

/// Most log keys one value holds; further records of the case are indexed
/// in `case_events` (a case record is written only when its status
/// changes, so few cases ever get there).
pub(super) const MAX_LOG_KEYS: usize = 64;

/// A value of the record `record` (encoded) and the log keys `log`.
pub(super) fn encode(record: &[u8], log: &[u64]) -> Vec<u8> {
    if log.is_empty() {
        return record.to_vec();
    }
    debug_assert!(log.len() <= MAX_LOG_KEYS);
    let mut value = Vec::with_capacity(2 + 8 * log.len() + record.len());
    value.push(WITH_LOG);
    value.push(log.len() as u8);
    for key in log {
        value.extend_from_slice(&key.to_be_bytes());
    }
    value.extend_from_slice(record);
    value
}

/// Splits a value into its log keys and its encoded record.
fn split(value: &[u8]) -> Result<(Vec<u64>, &[u8]), StoreError> {
    let malformed = || StoreError::Codec {
        what: "case".into(),
        message: format!("a value led by 0x{WITH_LOG:x} is cut short"),
    };
    let Some((&WITH_LOG, rest)) = value.split_first() else {
        return Ok((Vec::new(), value));
    };
    let (&count, rest) = rest.split_first().ok_or_else(malformed)?;
    let keys_len = 8 * count as usize;
    if rest.len() < keys_len {
        return Err(malformed());
    }
    let (keys, record) = rest.split_at(keys_len);
    let keys = keys
        .chunks_exact(8)
        .map(|k| u64::from_be_bytes(k.try_into().expect("chunks of 8")))
        .collect();
    Ok((keys, record))
}

/// The log keys a value holds, ascending.
pub(super) fn log_keys(value: &[u8]) -> Result<Vec<u64>, StoreError> {
    Ok(split(value)?.0)
}

/// The case record of a value.
pub(super) fn record(value: &[u8]) -> Result<CaseRecord, StoreError> {
    decode("case", split(value)?.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encode as encode_record;

    fn case() -> CaseRecord {
        crate::store::conformance::case("c")
    }

    #[test]
    fn a_value_holds_its_log_keys_before_the_record() {
        let record = encode_record("case", &case()).unwrap();
        let value = encode(&record, &[3, 258]);
        assert_eq!(
            &value[..18],
            b"\xc1\x02\0\0\0\0\0\0\0\x03\0\0\0\0\0\0\x01\x02"
        );
        assert_eq!(log_keys(&value).unwrap(), [3, 258]);
        assert_eq!(self::record(&value).unwrap(), case());
    }

    #[test]
    fn a_record_without_log_keys_is_stored_as_before() {
        let record = encode_record("case", &case()).unwrap();
        assert_eq!(encode(&record, &[]), record);
        assert!(log_keys(&record).unwrap().is_empty());
        assert_eq!(self::record(&record).unwrap(), case());
    }

    #[test]
    fn a_cut_value_is_an_error_not_a_panic() {
        let err = log_keys(b"\xc1\x02\0\0\0").unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
    }
}
