//! Key encodings of the sled trees. Pinned by the snapshot tests below:
//! changing one is a storage-format change.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `tokens` | owner `0x00` place `0x00` seq (u64 BE) | payload (MessagePack); led by `0xC1`, the firing id (u64 BE), a length (u32 BE) and that firing's [`Reservation`](super::Reservation) while a first attempt holds the token as its first input (see `token_entry`) |
//! | `reservations` | firing id (u64 BE); `holds` while tokens may be held | [`Reservation`](super::Reservation) of a retry, an external firing or a lease; empty |
//! | `events` | greatest seq of the record's entries (u64 BE) | up to 32 consecutive [`EventRecord`](super::EventRecord)s of one transaction (array) |
//! | `case_events` | case id `0x00` `events` key (u64 BE) | empty: that record holds entries of the case (one written in a transaction that did not write the case's record) |
//! | `cases` | case id | [`CaseRecord`](super::CaseRecord); led by `0xC1`, a count and that many `events` keys (u64 BE) once records of the case were written in transactions that wrote its record (see `case_entry`) |
//! | `dead_letters` | firing id (u64 BE) | [`DeadLetter`](super::DeadLetter) |
//! | `nets` | `v` version / `n` net name | [`NetRecord`](super::NetRecord) / latest version |
//! | `components` | BLAKE3 hex of the component | component bytes |
//!
//! An owner is `c` + case id for a case's tokens, `s` + net version for the
//! shared (resource) tokens of that version. Names and case ids never contain
//! `0x00` (net names are checked by the net parser, case ids by
//! [`check_case_id`](super::check_case_id)), so the separators are unambiguous
//! and a prefix scan over `owner 0x00` lists exactly one owner's tokens, in
//! place then FIFO order.

/// Whose tokens: a case's, or the shared tokens of a net version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// A case's tokens.
    Case(String),
    /// Shared resource tokens of a net version.
    Shared(String),
}

impl Owner {
    fn push(&self, key: &mut Vec<u8>) {
        match self {
            Owner::Case(id) => {
                key.push(b'c');
                key.extend_from_slice(id.as_bytes());
            }
            Owner::Shared(version) => {
                key.push(b's');
                key.extend_from_slice(version.as_bytes());
            }
        }
        key.push(0);
    }
}

/// Prefix of every token key of `owner`.
pub(crate) fn owner_prefix(owner: &Owner) -> Vec<u8> {
    let mut key = Vec::with_capacity(40);
    owner.push(&mut key);
    key
}

/// Key of one token.
pub(crate) fn token(owner: &Owner, place: &str, seq: u64) -> Vec<u8> {
    let mut key = owner_prefix(owner);
    key.extend_from_slice(place.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// Splits a token key into owner, place and seq.
pub(crate) fn parse_token(key: &[u8]) -> Option<(Owner, String, u64)> {
    let (&kind, rest) = key.split_first()?;
    let nul = rest.iter().position(|&b| b == 0)?;
    let id = std::str::from_utf8(&rest[..nul]).ok()?.to_string();
    let rest = &rest[nul + 1..];
    let nul = rest.iter().position(|&b| b == 0)?;
    let place = std::str::from_utf8(&rest[..nul]).ok()?.to_string();
    let seq = u64::from_be_bytes(rest[nul + 1..].try_into().ok()?);
    let owner = match kind {
        b'c' => Owner::Case(id),
        b's' => Owner::Shared(id),
        _ => return None,
    };
    Some((owner, place, seq))
}

/// Key of a `case_events` index entry.
pub(crate) fn case_event(case: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(case.len() + 9);
    key.extend_from_slice(case.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// A `case_dead_letters` key: like [`case_event`]'s, with the dead
/// letter's id for the seq (so [`case_events_prefix`] scans a case's).
pub(crate) fn case_dead_letter(case: &str, id: u64) -> Vec<u8> {
    case_event(case, id)
}

/// Prefix of one case's `case_events` entries.
pub(crate) fn case_events_prefix(case: &str) -> Vec<u8> {
    let mut key = case.as_bytes().to_vec();
    key.push(0);
    key
}

/// Key of a net version in `nets`.
pub(crate) fn net_version(version: &str) -> Vec<u8> {
    [b"v", version.as_bytes()].concat()
}

/// Key of a net name's latest version in `nets`.
pub(crate) fn net_name(name: &str) -> Vec<u8> {
    [b"n", name.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_keys_are_pinned() {
        let key = token(&Owner::Case("order-7".into()), "approved", 258);
        assert_eq!(key, b"corder-7\0approved\0\0\0\0\0\0\0\x01\x02");
        let key = token(&Owner::Shared("3f2a".into()), "slots", 1);
        assert_eq!(key, b"s3f2a\0slots\0\0\0\0\0\0\0\0\x01");
        assert_eq!(
            parse_token(&key),
            Some((Owner::Shared("3f2a".into()), "slots".into(), 1))
        );
    }

    #[test]
    fn index_keys_are_pinned() {
        assert_eq!(case_event("a", 5), b"a\0\0\0\0\0\0\0\0\x05");
        assert_eq!(net_version("ab12"), b"vab12");
        assert_eq!(net_name("refund"), b"nrefund");
    }

    #[test]
    fn token_keys_sort_by_owner_place_then_seq() {
        let owner = Owner::Case("x".into());
        let mut keys = [
            token(&owner, "b", 1),
            token(&owner, "a", 300),
            token(&owner, "a", 2),
        ];
        keys.sort();
        let parsed: Vec<_> = keys.iter().map(|k| parse_token(k).unwrap()).collect();
        let order: Vec<_> = parsed.iter().map(|(_, p, s)| (p.as_str(), *s)).collect();
        assert_eq!(order, [("a", 2), ("a", 300), ("b", 1)]);
    }
}
