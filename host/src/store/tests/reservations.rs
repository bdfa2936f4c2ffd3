//! sled keeps a first attempt's reservation on its first input token and
//! the others as records; the conformance suite checks what they do, these
//! check where they are.

use super::super::conformance::{first_attempt, reserve, settle, started, token};
use super::super::transaction::kept_on_token;
use super::super::*;
use super::Sled;

/// Reservation records kept apart (keys of 8 bytes).
fn records(store: &SledStore) -> usize {
    store
        .reservations
        .iter()
        .keys()
        .filter(|k| k.as_ref().unwrap().len() == 8)
        .count()
}

fn holds_marker(store: &SledStore) -> bool {
    store
        .reservations
        .contains_key(super::super::token_entry::HOLDS_KEY)
        .unwrap()
}

#[test]
fn a_first_attempt_is_kept_on_its_first_token_and_a_retry_apart() {
    let backend = Sled::new();
    let store = backend.sled();
    let (a, b) = (token("c", "a", 1), token("c", "b", 2));
    started(&store, "c", vec![a.clone(), b.clone()]);
    let r = first_attempt(&[&a, &b]);
    assert!(kept_on_token(&r));
    reserve(&store, 7, &r).unwrap();
    assert_eq!(records(&store), 0);
    assert!(holds_marker(&store));
    drop(store);
    let store = backend.sled();
    assert!(holds_marker(&store), "tokens are held: the marker stays");
    let retry = Reservation {
        attempt: 2,
        not_before_ms: 100,
        ..r.clone()
    };
    assert!(!kept_on_token(&retry));
    reserve(&store, 7, &retry).unwrap();
    assert_eq!(records(&store), 1, "the retry's record replaces the hold");
    assert_eq!(store.reservations().unwrap(), vec![(7, retry.clone())]);
    settle(&store, 7, &retry, &[]).unwrap();
    assert_eq!(records(&store), 0);
    // With no token held, opening drops the marker that makes listing
    // reservations scan the tokens.
    drop(store);
    let store = backend.sled();
    assert!(!holds_marker(&store));
    assert!(store.reservations().unwrap().is_empty());
}

#[test]
fn a_first_attempts_reservation_record_leaves_out_its_defaults() {
    let first = Reservation {
        case: "c".into(),
        transition: "t".into(),
        attempt: 1,
        tokens: vec![token("c", "a", 1).id()],
        started_at_ms: 5,
        not_before_ms: 0,
        failures: vec![],
        external: false,
        lease: None,
        compensates: None,
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
