//! The sled store on a real temp dir.

use super::case_entry;
use super::*;

mod formats;
mod reservations;

pub(super) fn store() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    (dir, store)
}

pub(super) fn case(id: &str) -> CaseRecord {
    CaseRecord {
        id: id.into(),
        net: "n".into(),
        version: "v1".into(),
        status: CaseStatus::Running,
        started_at_ms: 1,
        updated_at_ms: 1,
        saga: None,
    }
}

pub(super) fn token(case: &str, place: &str, seq: u64) -> StoredToken {
    StoredToken {
        owner: Owner::Case(case.into()),
        place: place.into(),
        seq,
        payload: vec![0xc0],
    }
}

fn event(case: &str, event: Event) -> EventRecord {
    EventRecord {
        seq: 0, // numbered by the store when it commits
        at_ms: 2,
        case: Some(case.into()),
        event,
    }
}

/// A `FiringDeclined` entry of `case`.
fn declined(case: &str, firing: u64) -> EventRecord {
    event(
        case,
        Event::FiringDeclined {
            firing,
            transition: "t".into(),
            attempt: 1,
            log: vec![],
        },
    )
}

pub(super) fn started(store: &SledStore, id: &str, tokens: Vec<StoredToken>) {
    let records = tokens
        .iter()
        .map(|t| TokenRecord {
            place: t.place.clone(),
            seq: t.seq,
            shared: false,
            payload: t.payload.clone(),
        })
        .collect();
    let ev = event(
        id,
        Event::CaseStarted {
            net: "n".into(),
            version: "v1".into(),
            tokens: records,
        },
    );
    store
        .start_case(&mut Change {
            produce: tokens,
            case: Some(case(id)),
            events: vec![ev],
            ..Change::default()
        })
        .unwrap();
}

#[test]
fn a_change_consuming_a_missing_token_applies_nothing() {
    let (_dir, store) = store();
    started(&store, "c", vec![token("c", "a", 1)]);
    store
        .apply(&mut [Change {
            reserve: vec![(
                7,
                Reservation {
                    case: "c".into(),
                    transition: "t".into(),
                    attempt: 1,
                    tokens: vec![],
                    started_at_ms: 0,
                    not_before_ms: 0,
                    failures: vec![],
                    external: false,
                    lease: None,
                },
            )],
            ..Change::default()
        }])
        .unwrap();
    let good = Change {
        release: vec![Release {
            firing: 7,
            token: None,
        }],
        consume: vec![token("c", "a", 1).key()],
        produce: vec![token("c", "b", 2)],
        ..Change::default()
    };
    let bad = Change {
        consume: vec![token("c", "a", 99).key()],
        ..Change::default()
    };
    let err = store.apply(&mut [good.clone(), bad]).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("place `a` seq 99 is gone")),
        "{err}"
    );
    // The whole transaction rolled back: the good change did not half-apply.
    assert_eq!(
        store.tokens(&Owner::Case("c".into())).unwrap(),
        vec![token("c", "a", 1)]
    );
    assert_eq!(store.reservations().unwrap().len(), 1);

    store.apply(&mut [good.clone()]).unwrap();
    assert_eq!(
        store.tokens(&Owner::Case("c".into())).unwrap(),
        vec![token("c", "b", 2)]
    );
    // Applying it twice is a conflict (the reservation and token are gone), never a duplicate.
    assert!(matches!(
        store.apply(&mut [good]),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.tokens(&Owner::Case("c".into())).unwrap().len(), 1);
}

#[test]
fn case_ids_are_unique_and_a_refused_start_writes_nothing() {
    let (_dir, store) = store();
    started(&store, "c", vec![token("c", "a", 1)]);
    let mut again = Change {
        produce: vec![token("c", "a", 2)],
        case: Some(case("c")),
        ..Change::default()
    };
    assert!(matches!(store.start_case(&mut again), Err(StoreError::CaseExists(id)) if id == "c"));
    assert_eq!(store.tokens(&Owner::Case("c".into())).unwrap().len(), 1);
}

#[test]
fn events_page_per_case_and_round_trip() {
    let (_dir, store) = store();
    started(&store, "a", vec![token("a", "p", 1)]);
    started(&store, "b", vec![token("b", "p", 2)]);
    let completed = event(
        "a",
        Event::FiringCompleted {
            firing: 9,
            transition: "t".into(),
            attempt: 1,
            outcome: "o".into(),
            timed_out: false,
            consumed: vec![TokenRef {
                place: "p".into(),
                seq: 1,
                shared: false,
            }],
            produced: vec![TokenRecord {
                place: "q".into(),
                seq: 3,
                shared: false,
                payload: vec![1, 2, 250],
            }],
            log: vec![crate::sandbox::LogLine {
                level: "info".into(),
                message: "hi".into(),
            }],
            elapsed_us: 5,
        },
    );
    let mut batch = [Change {
        events: vec![completed],
        ..Change::default()
    }];
    store.apply(&mut batch).unwrap();
    let completed = batch[0].events[0].clone();

    let a = store.events(Some("a"), 0, 10).unwrap();
    assert_eq!(a.len(), 2);
    assert!(a[0].seq < completed.seq, "numbered in commit order");
    assert_eq!(a[1], completed, "MessagePack round trip");
    let after_first = store.events(Some("a"), a[0].seq, 10).unwrap();
    assert_eq!(after_first, vec![completed]);
    assert_eq!(store.events(Some("b"), 0, 10).unwrap().len(), 1);
    assert_eq!(
        store.events(None, 0, 2).unwrap().len(),
        2,
        "limit applies to the global log"
    );
}

/// Every entry once, in seq order, paging with `limit` from `after = 0`.
fn paged(store: &SledStore, case: Option<&str>, limit: usize) -> Vec<EventRecord> {
    let mut out: Vec<EventRecord> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.seq);
        let page = store.events(case, after, limit).unwrap();
        assert!(page.len() <= limit);
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

#[test]
fn a_transaction_logs_one_batch_that_pages_in_commit_order() {
    let (_dir, store) = store();
    // Made first, committed last: numbered when committed.
    let late = declined("a", 100);
    // More entries than one record holds: the transaction writes several.
    let mut first: Vec<Change> = (0..40u64)
        .map(|i| Change {
            events: vec![declined(if i % 2 == 0 { "a" } else { "b" }, i)],
            ..Change::default()
        })
        .collect();
    store.apply(&mut first).unwrap();
    let mut second = [Change {
        events: vec![late, declined("b", 101)],
        ..Change::default()
    }];
    store.apply(&mut second).unwrap();

    let all = paged(&store, None, 2);
    let firings: Vec<u64> = all
        .iter()
        .map(|e| match e.event {
            Event::FiringDeclined { firing, .. } => firing,
            _ => unreachable!(),
        })
        .collect();
    let expected: Vec<u64> = (0..40).chain([100, 101]).collect();
    assert_eq!(firings, expected);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    for limit in [1, 3, 32, 33, 100] {
        assert_eq!(paged(&store, None, limit), all);
        let a: Vec<_> = all
            .iter()
            .filter(|e| e.case.as_deref() == Some("a"))
            .cloned()
            .collect();
        assert_eq!(paged(&store, Some("a"), limit), a, "limit {limit}");
        assert_eq!(paged(&store, Some("b"), limit).len(), all.len() - a.len());
    }
    assert!(store.events(None, 0, 0).unwrap().is_empty());
}

#[test]
fn replay_rebuilds_the_marking_and_names_a_token_the_log_never_produced() {
    let (_dir, store) = store();
    started(&store, "a", vec![token("a", "p", 1)]);
    let report = replay(&store).unwrap();
    assert_eq!((report.tokens, report.mismatches.len()), (1, 0));

    // A token written behind the log's back.
    store
        .apply(&mut [Change {
            produce: vec![token("a", "x", 5)],
            ..Change::default()
        }])
        .unwrap();
    let report = replay(&store).unwrap();
    assert_eq!(
        report.mismatches,
        vec!["store has token x#5 of case `a` that the log never produced".to_string()]
    );
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
