//! The checks every backend passes.

use super::super::*;
use super::*;

pub(crate) fn a_change_consuming_a_missing_token_applies_nothing(backend: &dyn Backend) {
    let store = backend.open();
    let a = token("c", "a", 1);
    started(store.as_ref(), "c", vec![a.clone()]);
    let r = Reservation {
        not_before_ms: 10,
        ..first_attempt(&[&a])
    };
    reserve(store.as_ref(), 7, &r).unwrap();
    let good = Change {
        release: vec![Release {
            firing: 7,
            tokens: r.tokens.clone(),
        }],
        consume: vec![a.id()],
        produce: vec![token("c", "b", 2)],
        ..Change::default()
    };
    let bad = Change {
        consume: vec![token("c", "a", 99).id()],
        ..Change::default()
    };
    let err = store.apply(&mut [good.clone(), bad]).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("a#99 of case `c` is gone")),
        "{err}"
    );
    // The whole transaction rolled back: the good change did not half-apply.
    assert_eq!(case_tokens(store.as_ref(), "c"), vec![a.clone()]);
    assert_eq!(store.reservations().unwrap().len(), 1);

    store.apply(&mut [good.clone()]).unwrap();
    assert_eq!(case_tokens(store.as_ref(), "c"), vec![token("c", "b", 2)]);
    // Applying it twice is a conflict (the reservation and token are gone), never a duplicate.
    assert!(matches!(
        store.apply(&mut [good]),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(case_tokens(store.as_ref(), "c").len(), 1);
}

pub(crate) fn case_ids_are_unique_and_a_refused_start_writes_nothing(backend: &dyn Backend) {
    let store = backend.open();
    started(store.as_ref(), "c", vec![token("c", "a", 1)]);
    let mut again = Change {
        produce: vec![token("c", "a", 2)],
        case: Some(case("c")),
        events: vec![declined("c", 1)],
        starts_case: true,
        ..Change::default()
    };
    assert!(
        matches!(store.apply(std::slice::from_mut(&mut again)), Err(StoreError::CaseExists(id)) if id == "c")
    );
    assert_eq!(case_tokens(store.as_ref(), "c").len(), 1);
    assert_eq!(store.events(Some("c"), 0, 10).unwrap().len(), 1);
    assert_eq!(store.cases().unwrap(), vec![case("c")]);
    // Two starts of one new id in one transaction: neither is written.
    let start = |seq| Change {
        produce: vec![token("d", "a", seq)],
        case: Some(case("d")),
        events: vec![declined("d", seq)],
        starts_case: true,
        ..Change::default()
    };
    let mut twice = [start(3), start(4)];
    assert!(matches!(store.apply(&mut twice), Err(StoreError::CaseExists(id)) if id == "d"));
    assert!(case_tokens(store.as_ref(), "d").is_empty());
    assert_eq!(store.case("d").unwrap(), None);
}

pub(crate) fn events_page_per_case_and_round_trip(backend: &dyn Backend) {
    let store = backend.open();
    started(store.as_ref(), "a", vec![token("a", "p", 1)]);
    started(store.as_ref(), "b", vec![token("b", "p", 2)]);
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
            log: vec![LogLine {
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
    assert_eq!(a[1], completed, "read back whole");
    let after_first = store.events(Some("a"), a[0].seq, 10).unwrap();
    assert_eq!(after_first, vec![completed]);
    assert_eq!(store.events(Some("b"), 0, 10).unwrap().len(), 1);
    assert_eq!(
        store.events(None, 0, 2).unwrap().len(),
        2,
        "limit applies to the global log"
    );
}

pub(crate) fn a_transaction_logs_its_entries_in_commit_order(backend: &dyn Backend) {
    let store = backend.open();
    // Made first, committed last: numbered when committed.
    let late = declined("a", 100);
    // Many entries in one transaction.
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

    let all = paged(store.as_ref(), None, 2);
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
        assert_eq!(paged(store.as_ref(), None, limit), all);
        let a: Vec<_> = all
            .iter()
            .filter(|e| e.case.as_deref() == Some("a"))
            .cloned()
            .collect();
        assert_eq!(paged(store.as_ref(), Some("a"), limit), a, "limit {limit}");
        let b = paged(store.as_ref(), Some("b"), limit);
        assert_eq!(b.len(), all.len() - a.len());
    }
    assert!(store.events(None, 0, 0).unwrap().is_empty());
}

pub(crate) fn replay_rebuilds_the_marking_and_names_a_token_the_log_never_produced(
    backend: &dyn Backend,
) {
    let store = backend.open();
    started(store.as_ref(), "a", vec![token("a", "p", 1)]);
    let report = replay(store.as_ref()).unwrap();
    assert_eq!((report.tokens, report.mismatches.len()), (1, 0));

    // A token written behind the log's back.
    store
        .apply(&mut [Change {
            produce: vec![token("a", "x", 5)],
            ..Change::default()
        }])
        .unwrap();
    let report = replay(store.as_ref()).unwrap();
    assert_eq!(
        report.mismatches,
        vec!["store has token x#5 of case `a` that the log never produced".to_string()]
    );
}

pub(crate) fn reservations_survive_reopening(backend: &dyn Backend) {
    let (a, b, d) = (token("c", "a", 1), token("c", "b", 2), token("c", "d", 3));
    let first = first_attempt(&[&a]);
    let retry = Reservation {
        attempt: 2,
        not_before_ms: 100,
        failures: vec![AttemptFailure {
            attempt: 1,
            at_ms: 50,
            error: FiringError::Guest(GuestFailure::Deadline { timeout_ms: 5 }),
        }],
        ..first_attempt(&[&b])
    };
    let leased = Reservation {
        external: true,
        lease: Some(Lease {
            id: "l".into(),
            worker: "w".into(),
            until_ms: 900,
            lease_ms: 800,
        }),
        ..first_attempt(&[&d])
    };
    {
        let store = backend.open();
        started(store.as_ref(), "c", vec![a.clone(), b.clone(), d.clone()]);
        reserve(store.as_ref(), 7, &first).unwrap();
        reserve(store.as_ref(), 8, &retry).unwrap();
        reserve(store.as_ref(), 9, &leased).unwrap();
        store.flush().unwrap();
    }
    let store = backend.open();
    assert_eq!(
        store.reservations().unwrap(),
        vec![(7, first), (8, retry), (9, leased)]
    );
    // Held tokens are still tokens: reads see them with their payloads.
    assert_eq!(case_tokens(store.as_ref(), "c"), vec![a.clone(), b, d]);
    assert_eq!(store.payload(&a.id()).unwrap(), Some(a.payload));
}

pub(crate) fn a_reservation_is_released_once_and_consuming_its_tokens_releases_it(
    backend: &dyn Backend,
) {
    let store = backend.open();
    let (a, b) = (token("c", "a", 1), token("c", "b", 2));
    started(store.as_ref(), "c", vec![a.clone(), b.clone()]);
    let r = first_attempt(&[&a, &b]);
    reserve(store.as_ref(), 7, &r).unwrap();
    // A release that leaves the tokens (a decline); a second finds nothing.
    settle(store.as_ref(), 7, &r, &[]).unwrap();
    assert!(store.reservations().unwrap().is_empty());
    assert_eq!(store.payload(&a.id()).unwrap(), Some(a.payload.clone()));
    let err = settle(store.as_ref(), 7, &r, &[]).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("firing 7 holds no reservation")),
        "{err}"
    );
    // A retry's reservation replaces the first attempt's.
    reserve(store.as_ref(), 9, &r).unwrap();
    let retry = Reservation {
        attempt: 2,
        not_before_ms: 100,
        ..r.clone()
    };
    reserve(store.as_ref(), 9, &retry).unwrap();
    assert_eq!(store.reservations().unwrap(), vec![(9, retry.clone())]);
    settle(store.as_ref(), 9, &retry, &[]).unwrap();
    assert!(store.reservations().unwrap().is_empty());
    // A firing's commit consumes its tokens and releases it.
    reserve(store.as_ref(), 10, &r).unwrap();
    store
        .apply(&mut [Change {
            release: vec![Release {
                firing: 10,
                tokens: r.tokens.clone(),
            }],
            consume: vec![a.id(), b.id()],
            produce: vec![token("c", "d", 3)],
            ..Change::default()
        }])
        .unwrap();
    assert!(store.reservations().unwrap().is_empty());
    assert_eq!(case_tokens(store.as_ref(), "c"), vec![token("c", "d", 3)]);
    // A token that is gone cannot be reserved.
    let err = reserve(store.as_ref(), 11, &r).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("a#1 of case `c` is gone")),
        "{err}"
    );
}

pub(crate) fn a_token_one_firing_holds_cannot_be_reserved_by_another(backend: &dyn Backend) {
    let store = backend.open();
    let a = token("c", "a", 1);
    started(store.as_ref(), "c", vec![a.clone()]);
    let r = first_attempt(&[&a]);
    reserve(store.as_ref(), 7, &r).unwrap();
    let err = reserve(store.as_ref(), 8, &r).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("is held by firing 7")),
        "{err}"
    );
    // The firing holding it may reserve it again (a firing a crash cut off,
    // launched anew).
    reserve(store.as_ref(), 7, &r).unwrap();
    assert_eq!(store.reservations().unwrap(), vec![(7, r)]);
}

pub(crate) fn flushed_group_commits_survive_reopening(backend: &dyn Backend) {
    {
        let store = backend.open();
        for id in ["a", "b"] {
            started(store.as_ref(), id, vec![token(id, "p", 0)]);
        }
        // Several firings' changes in one transaction, then one flush.
        let mut changes: Vec<Change> = ["a", "b"]
            .iter()
            .enumerate()
            .map(|(i, id)| Change {
                consume: vec![token(id, "p", 0).id()],
                produce: vec![token(id, "q", 10 + i as u64)],
                events: vec![declined(id, i as u64)],
                ..Change::default()
            })
            .collect();
        store.apply(&mut changes).unwrap();
        store.flush().unwrap();
    }
    let store = backend.open();
    assert_eq!(case_tokens(store.as_ref(), "a"), vec![token("a", "q", 10)]);
    assert_eq!(case_tokens(store.as_ref(), "b"), vec![token("b", "q", 11)]);
    assert_eq!(store.all_tokens().unwrap().len(), 2);
    assert_eq!(paged(store.as_ref(), None, 10).len(), 4);
}

pub(crate) fn dead_letters_are_kept_listed_and_removed_once(backend: &dyn Backend) {
    let store = backend.open();
    let letter = |id: u64, case: &str| DeadLetter {
        id,
        case: case.into(),
        version: "v1".into(),
        transition: "t".into(),
        kind: DeadLetterKind::Firing,
        tokens: vec![TokenRecord {
            place: "a".into(),
            seq: id,
            shared: false,
            payload: vec![0xc0],
        }],
        attempts: 3,
        failures: vec![],
        last_decision: None,
        dead_at_ms: 9,
    };
    for (id, case) in [(5, "c"), (6, "d"), (7, "c"), (8, "cc")] {
        let logged = event(
            case,
            Event::FiringDeadLettered {
                firing: id,
                transition: "t".into(),
                attempts: 3,
                error: FiringError::Guest(GuestFailure::Trap {
                    message: "x".into(),
                }),
                consumed: vec![],
                compensating: None,
            },
        );
        store
            .apply(&mut [Change {
                dead_letter: Some(letter(id, case)),
                events: vec![logged],
                ..Change::default()
            }])
            .unwrap();
    }
    let ids = |letters: Vec<DeadLetter>| letters.iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(store.dead_letters().unwrap()), [5, 6, 7, 8]);
    // Only the case's own: not those of a case whose id it begins.
    assert_eq!(ids(store.case_dead_letters("c").unwrap()), [5, 7]);
    assert_eq!(ids(store.case_dead_letters("cc").unwrap()), [8]);
    assert_eq!(store.dead_letter(6).unwrap(), Some(letter(6, "d")));
    let remove = || Change {
        remove_dead_letter: Some(6),
        ..Change::default()
    };
    store.apply(&mut [remove()]).unwrap();
    let mut retried = remove();
    retried.remove_dead_letter = Some(5);
    retried.events = vec![event(
        "c",
        Event::DeadLetterRetried {
            dead_letter: 5,
            transition: "t".into(),
            restored: vec![],
            by: "ops".into(),
        },
    )];
    store.apply(&mut [retried]).unwrap();
    assert_eq!(ids(store.case_dead_letters("c").unwrap()), [7]);
    assert!(matches!(
        store.apply(&mut [remove()]),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.dead_letter(6).unwrap(), None);
    assert_eq!(ids(store.dead_letters().unwrap()), [7, 8]);
    assert!(store.case_dead_letters("d").unwrap().is_empty());
}

pub(crate) fn deploying_is_idempotent_and_keeps_components(backend: &dyn Backend) {
    let store = backend.open();
    let net = |version: &str| NetRecord {
        name: "n".into(),
        version: version.into(),
        file: "n.toml".into(),
        source: "[net]\nname = \"n\"\n".into(),
        components: vec![("t".into(), "h1".into())],
        deployed_at_ms: 1,
    };
    let shared = || Change {
        produce: vec![StoredToken {
            owner: Owner::Shared("v1".into()),
            place: "slot".into(),
            seq: 1,
            payload: vec![0xc0],
        }],
        ..Change::default()
    };
    let components = vec![("h1".to_string(), vec![0, 97, 115, 109])];
    assert!(
        store
            .deploy(&net("v1"), &components, &mut shared())
            .unwrap()
    );
    assert!(
        !store
            .deploy(&net("v1"), &components, &mut shared())
            .unwrap()
    );
    assert!(
        store
            .deploy(&net("v2"), &components, &mut Change::default())
            .unwrap()
    );
    assert_eq!(store.net("v1").unwrap(), Some(net("v1")));
    assert_eq!(store.latest_version("n").unwrap().as_deref(), Some("v2"));
    assert_eq!(store.nets().unwrap().len(), 2);
    assert_eq!(
        store.component("h1").unwrap(),
        Some(components[0].1.clone())
    );
    // The shared tokens came once, with the first deploy.
    assert_eq!(store.tokens(&Owner::Shared("v1".into())).unwrap().len(), 1);
}

pub(crate) fn ids_increase_across_reopening(backend: &dyn Backend) {
    let last = {
        let store = backend.open();
        let ids: Vec<u64> = (0..100).map(|_| store.next_id().unwrap()).collect();
        assert!(ids[0] > 0, "0 is kept free as \"before everything\"");
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        store.flush().unwrap();
        ids[99]
    };
    let store = backend.open();
    assert!(store.next_id().unwrap() > last);
}
