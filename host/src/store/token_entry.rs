//! Values of the `tokens` tree. A token's value is its payload
//! (MessagePack), or, while a first attempt of a firing holds the token as
//! its first input, that firing's reservation in front of the payload: the
//! reservation then costs the transaction that makes it one write and the
//! one that consumes the token none (a `reservations` key would cost an
//! insert and a remove). Retries, external firings and leases keep their
//! reservations in the `reservations` tree.
//!
//! Finding the reservations held on tokens takes a scan of the `tokens`
//! tree, which only a store that may hold one pays: the first transaction
//! that holds a token stores [`HOLDS_KEY`], and opening a store that has it
//! scans once and drops it if no token is held (a clean stop releases all).
//!
//! A held token's value is `0xC1` (a byte MessagePack never uses, and the
//! engine refuses payloads that are not MessagePack, so no payload starts
//! with it), the firing id (u64 BE), the reservation's length (u32 BE), the
//! reservation (MessagePack), then the payload.

/// Stored in the `reservations` tree (whose record keys are 8 bytes long)
/// while tokens may be held.
pub(super) const HOLDS_KEY: &[u8] = b"holds";

/// The records of the `reservations` tree (`reservations`), by firing id,
/// encoded; the holds marker is not one.
pub(super) fn records(
    reservations: &sled::Tree,
) -> impl Iterator<Item = Result<(u64, sled::IVec), super::StoreError>> + '_ {
    reservations.iter().filter_map(|kv| {
        let (k, v) = match kv {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e.into())),
        };
        if k == HOLDS_KEY {
            return None;
        }
        Some(
            <[u8; 8]>::try_from(k.as_ref())
                .map(|id| (u64::from_be_bytes(id), v))
                .map_err(|_| super::StoreError::Bug(format!("malformed reservation key {k:?}"))),
        )
    })
}

/// The reservations held on tokens (`tokens` is the tree), by firing,
/// decoded as the scan reaches them.
pub(super) fn holds(
    tokens: &sled::Tree,
) -> impl Iterator<Item = Result<(u64, super::Reservation), super::StoreError>> + '_ {
    tokens.iter().filter_map(|kv| {
        let value = match kv {
            Ok((_, value)) => value,
            Err(e) => return Some(Err(e.into())),
        };
        let (id, bytes) = split(&value).held?;
        Some(super::decode("reservation", bytes).map(|r| (id, r)))
    })
}

/// Leads the value of a token a firing holds.
const HELD: u8 = super::NOT_MESSAGEPACK;
/// Lead byte, firing id, reservation length.
const HEADER: usize = 1 + 8 + 4;

/// A token's value, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry<'a> {
    /// The firing holding the token and its reservation (encoded), if one does.
    pub(super) held: Option<(u64, &'a [u8])>,
    /// The payload.
    pub(super) payload: &'a [u8],
}

/// Splits a stored value: a value without the held layout is all payload.
pub(super) fn split(value: &[u8]) -> Entry<'_> {
    let plain = Entry {
        held: None,
        payload: value,
    };
    if value.len() < HEADER || value[0] != HELD {
        return plain;
    }
    let firing = u64::from_be_bytes(value[1..9].try_into().expect("8 bytes"));
    let len = u32::from_be_bytes(value[9..HEADER].try_into().expect("4 bytes")) as usize;
    let Some(reservation) = value.get(HEADER..HEADER + len) else {
        return plain;
    };
    // A reservation is a MessagePack map.
    if !matches!(reservation.first(), Some(0x80..=0x8f | 0xde | 0xdf)) {
        return plain;
    }
    Entry {
        held: Some((firing, reservation)),
        payload: &value[HEADER + len..],
    }
}

/// The value of a token holding `payload`, held by `firing` whose encoded
/// reservation is `reservation`.
pub(super) fn held(firing: u64, reservation: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(HEADER + reservation.len() + payload.len());
    value.push(HELD);
    value.extend_from_slice(&firing.to_be_bytes());
    value.extend_from_slice(&(reservation.len() as u32).to_be_bytes());
    value.extend_from_slice(reservation);
    value.extend_from_slice(payload);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_value_splits_back_into_firing_reservation_and_payload() {
        let value = held(42, &[0x81, 0xa1, b'a', 0x01], &[0x93, 1, 2, 3]);
        assert_eq!(
            split(&value),
            Entry {
                held: Some((42, &[0x81, 0xa1, b'a', 0x01][..])),
                payload: &[0x93, 1, 2, 3],
            }
        );
    }

    #[test]
    fn values_without_the_held_layout_are_all_payload() {
        for value in [
            &[0x93, 1, 2, 3][..],
            &[][..],
            // Led by 0xC1 but cut short, or not holding a map.
            &[HELD, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 0x81][..],
            &[HELD, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x01][..],
        ] {
            assert_eq!(
                split(value),
                Entry {
                    held: None,
                    payload: value
                }
            );
        }
    }
}
