//! The sled store on a real temp dir: the conformance suite, and what only
//! sled does (its layout, its crash leftovers).

use super::case_entry;
use super::conformance::{Backend, case, conformance_tests, declined, paged, started, token};
use super::*;

mod formats;
mod reservations;

/// sled in a temp dir.
pub(super) struct Sled(tempfile::TempDir);

impl Sled {
    pub(super) fn new() -> Sled {
        Sled(tempfile::tempdir().unwrap())
    }

    pub(super) fn sled(&self) -> SledStore {
        SledStore::open(self.0.path()).unwrap()
    }
}

impl Backend for Sled {
    fn open(&self) -> Box<dyn Store> {
        Box::new(self.sled())
    }
}

conformance_tests!(Sled::new());

pub(super) fn store() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn a_snapshot_a_crash_left_unfinished_does_not_stop_the_store_opening() {
    let (dir, store) = store();
    started(&store, "c", vec![token("c", "a", 1)]);
    store.flush().unwrap();
    drop(store);
    // What a SIGKILL during snapshot generation leaves: a partial file that
    // sorts after every complete snapshot.
    std::fs::write(
        dir.path().join("db/snap.FFFFFFFFFFFFFFF0.generating"),
        [7u8; 64],
    )
    .unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.tokens(&Owner::Case("c".into())).unwrap().len(), 1);
}

#[test]
fn token_payloads_are_bytes_in_the_store_and_decoded_in_json() {
    let payload =
        rmp_serde::to_vec_named(&serde_json::json!({"order": "o-1", "cents": 5})).unwrap();
    let record = TokenRecord {
        place: "p".into(),
        seq: 3,
        shared: false,
        payload: payload.clone(),
    };
    let stored = rmp_serde::to_vec_named(&record).unwrap();
    let back: TokenRecord = rmp_serde::from_slice(&stored).unwrap();
    assert_eq!(back, record);
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(
        json["payload"],
        serde_json::json!({"order": "o-1", "cents": 5})
    );
}

#[test]
fn a_case_written_with_its_entries_indexes_them_in_its_own_value() {
    let (_dir, store) = store();
    started(&store, "a", vec![token("a", "p", 1)]);
    // Entries of `a` in transactions that do not write its record, and in
    // ones that do, more than a value holds: both indexes page as one.
    for i in 0..(case_entry::MAX_LOG_KEYS as u64 + 10) {
        let mut record = case("a");
        record.updated_at_ms = i;
        store
            .apply(&mut [
                Change {
                    events: vec![declined("a", 2 * i)],
                    ..Change::default()
                },
                Change {
                    events: vec![declined("b", 2 * i + 1)],
                    ..Change::default()
                },
            ])
            .unwrap();
        store
            .apply(&mut [Change {
                case: Some(record),
                events: vec![declined("a", 2 * i + 1000)],
                ..Change::default()
            }])
            .unwrap();
    }
    let a: Vec<_> = paged(&store, None, 100)
        .into_iter()
        .filter(|e| e.case.as_deref() == Some("a"))
        .collect();
    assert_eq!(a.len(), 1 + 2 * (case_entry::MAX_LOG_KEYS + 10));
    for limit in [1, 2, 7, 500] {
        assert_eq!(paged(&store, Some("a"), limit), a, "limit {limit}");
    }
    // The record reads back as written; the value holds as many keys as fit.
    assert_eq!(store.case("a").unwrap().unwrap().updated_at_ms, 73);
    let value = store.cases.get("a").unwrap().unwrap();
    assert_eq!(
        case_entry::log_keys(&value).unwrap().len(),
        case_entry::MAX_LOG_KEYS
    );
    // `b`'s record is never written: all its entries are in `case_events`.
    assert_eq!(
        store.case_events.scan_prefix(b"b\0").count(),
        case_entry::MAX_LOG_KEYS + 10
    );
}

#[test]
fn a_store_written_before_the_case_dead_letter_index_is_indexed_on_opening() {
    let dir = tempfile::tempdir().unwrap();
    let letter = DeadLetter {
        id: 4,
        case: "c".into(),
        version: "v1".into(),
        transition: "t".into(),
        kind: DeadLetterKind::Firing,
        tokens: vec![],
        attempts: 1,
        failures: vec![],
        last_decision: None,
        dead_at_ms: 1,
    };
    let store = SledStore::open(dir.path()).unwrap();
    store
        .apply(&mut [Change {
            dead_letter: Some(letter.clone()),
            ..Change::default()
        }])
        .unwrap();
    store.flush().unwrap();
    drop(store);
    // As an earlier version left it: the letter, no index.
    let db = SledStore::sled_config(&dir.path().join("db"))
        .open()
        .unwrap();
    assert!(db.drop_tree("case_dead_letters").unwrap());
    db.flush().unwrap();
    drop(db);
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.case_dead_letters("c").unwrap(), vec![letter]);
}
