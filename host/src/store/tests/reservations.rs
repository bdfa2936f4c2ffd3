//! Reservations: a first attempt's held on its first input token, the
//! others kept as records.

use super::super::token_entry;
use super::super::*;
use super::{started, token};

fn first_attempt(tokens: &[&StoredToken]) -> Reservation {
    Reservation {
        case: "c".into(),
        transition: "t".into(),
        attempt: 1,
        tokens: tokens.iter().map(|t| t.key()).collect(),
        started_at_ms: 5,
        not_before_ms: 0,
        failures: vec![],
        external: false,
        lease: None,
    }
}

fn reserve(store: &SledStore, firing: u64, r: &Reservation) -> Result<(), StoreError> {
    store.apply(&mut [Change {
        reserve: vec![(firing, r.clone())],
        ..Change::default()
    }])
}

/// Reservation records kept apart (keys of 8 bytes).
fn records(store: &SledStore) -> usize {
    store
        .reservations
        .iter()
        .keys()
        .filter(|k| k.as_ref().unwrap().len() == 8)
        .count()
}

fn release(firing: u64, token: &StoredToken) -> Vec<Release> {
    vec![Release {
        firing,
        token: Some(token.key()),
    }]
}

/// Releases `firing`'s reservation held on `token`, consuming `consume`.
fn settle(
    store: &SledStore,
    firing: u64,
    token: &StoredToken,
    consume: &[&StoredToken],
) -> Result<(), StoreError> {
    store.apply(&mut [Change {
        release: release(firing, token),
        consume: consume.iter().map(|t| t.key()).collect(),
        ..Change::default()
    }])
}

#[test]
fn a_first_attempt_is_reserved_on_its_first_token_and_released_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let (a, b) = (token("c", "a", 1), token("c", "b", 2));
    started(&store, "c", vec![a.clone(), b.clone()]);
    let r = first_attempt(&[&a, &b]);
    assert!(r.on_token());
    reserve(&store, 7, &r).unwrap();
    // Kept on the token, not apart; reads see the payload alone.
    assert_eq!(records(&store), 0);
    assert_eq!(store.reservations().unwrap(), vec![(7, r.clone())]);
    assert_eq!(store.payload(&a.key()).unwrap(), Some(a.payload.clone()));
    assert_eq!(
        store.tokens(&Owner::Case("c".into())).unwrap(),
        vec![a.clone(), b.clone()]
    );
    // Another firing cannot take the token; the one holding it can again
    // (a firing a crash cut off, launched anew).
    let err = reserve(&store, 8, &r).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("is held by firing 7")),
        "{err}"
    );
    reserve(&store, 7, &r).unwrap();
    // It survives a restart.
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.reservations().unwrap(), vec![(7, r.clone())]);
    assert!(
        store
            .reservations
            .contains_key(token_entry::HOLDS_KEY)
            .unwrap()
    );

    // A release that leaves the token (a decline) strips the hold; a
    // second release finds nothing.
    settle(&store, 7, &a, &[]).unwrap();
    assert!(store.reservations().unwrap().is_empty());
    assert_eq!(store.payload(&a.key()).unwrap(), Some(a.payload.clone()));
    let err = settle(&store, 7, &a, &[]).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("firing 7 holds no reservation")),
        "{err}"
    );

    // A retry's reservation replaces the hold with a record.
    reserve(&store, 9, &r).unwrap();
    let retry = Reservation {
        attempt: 2,
        not_before_ms: 100,
        ..r.clone()
    };
    assert!(!retry.on_token());
    reserve(&store, 9, &retry).unwrap();
    assert_eq!(records(&store), 1);
    assert_eq!(store.reservations().unwrap(), vec![(9, retry)]);
    assert_eq!(store.payload(&a.key()).unwrap(), Some(a.payload.clone()));
    settle(&store, 9, &a, &[]).unwrap();

    // Consuming the token releases the hold with it.
    reserve(&store, 10, &r).unwrap();
    store
        .apply(&mut [Change {
            release: release(10, &a),
            consume: vec![a.key(), b.key()],
            produce: vec![token("c", "d", 3)],
            ..Change::default()
        }])
        .unwrap();
    assert!(store.reservations().unwrap().is_empty());
    assert_eq!(
        store.tokens(&Owner::Case("c".into())).unwrap(),
        vec![token("c", "d", 3)]
    );
    // A token that is gone cannot be reserved.
    let err = reserve(&store, 11, &r).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("place `a` seq 1 is gone")),
        "{err}"
    );
    // With no token held, opening drops the marker that makes listing
    // reservations scan the tokens.
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    assert!(
        !store
            .reservations
            .contains_key(token_entry::HOLDS_KEY)
            .unwrap()
    );
    assert!(store.reservations().unwrap().is_empty());
}

#[test]
fn a_first_attempts_reservation_record_leaves_out_its_defaults() {
    let first = Reservation {
        case: "c".into(),
        transition: "t".into(),
        attempt: 1,
        tokens: vec![token("c", "a", 1).key()],
        started_at_ms: 5,
        not_before_ms: 0,
        failures: vec![],
        external: false,
        lease: None,
    };
    let bytes = super::encode("reservation", &first).unwrap();
    let fields: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
        rmp_serde::from_slice(&bytes).unwrap();
    assert_eq!(
        fields.keys().map(String::as_str).collect::<Vec<_>>(),
        ["attempt", "case", "started_at_ms", "tokens", "transition"]
    );
    assert_eq!(
        super::decode::<Reservation>("reservation", &bytes).unwrap(),
        first
    );
}
