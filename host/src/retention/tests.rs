//! Compaction on a real sled store: what leaves the log, what stays, and
//! that the live log still replays to the stored marking.

use super::*;
use crate::store::conformance::{case, started, token};
use crate::store::{SledStore, StoredToken, TokenId, replay};

fn shared(place: &str, seq: u64) -> StoredToken {
    StoredToken {
        owner: Owner::Shared("v1".into()),
        place: place.into(),
        seq,
        payload: vec![0xc0],
    }
}

fn record(t: &StoredToken) -> TokenRecord {
    TokenRecord {
        place: t.place.clone(),
        seq: t.seq,
        shared: matches!(t.owner, Owner::Shared(_)),
        payload: t.payload.clone(),
    }
}

fn reference(t: &StoredToken) -> TokenRef {
    TokenRef {
        place: t.place.clone(),
        seq: t.seq,
        shared: matches!(t.owner, Owner::Shared(_)),
    }
}

fn entry(case: &str, event: Event) -> EventRecord {
    EventRecord {
        seq: 0,
        at_ms: 3,
        case: Some(case.into()),
        event,
    }
}

/// Case `id` takes the reviewer token `reviewer`, gives back `next` and
/// ends completed at `finished_ms` with one token in `done`.
fn run_case(
    store: &dyn Store,
    id: &str,
    base: u64,
    reviewer: &StoredToken,
    next: &StoredToken,
    finished_ms: u64,
) {
    let start = token(id, "start", base);
    let done = token(id, "done", base + 1);
    started(store, id, vec![start.clone()]);
    let mut done_case = case(id);
    done_case.status = CaseStatus::Completed;
    done_case.updated_at_ms = finished_ms;
    let fired = Event::FiringCompleted {
        firing: base,
        transition: "approve".into(),
        attempt: 1,
        outcome: "ok".into(),
        timed_out: false,
        consumed: vec![reference(&start), reference(reviewer)],
        produced: vec![record(&done), record(next)],
        log: vec![],
        elapsed_us: 1,
    };
    store
        .apply(&mut [Change {
            consume: vec![start.id(), reviewer.id()],
            produce: vec![done, next.clone()],
            case: Some(done_case),
            events: vec![entry(id, fired), entry(id, Event::CaseCompleted)],
            ..Change::default()
        }])
        .unwrap();
}

/// A store with the shared reviewer, cases `a` and `b` completed (at 10 and
/// 20) passing it on, and `c` still running.
fn store(dir: &Path) -> SledStore {
    let store = SledStore::open(dir).unwrap();
    let r1 = shared("reviewer", 1);
    store
        .apply(&mut [Change {
            produce: vec![r1.clone()],
            events: vec![EventRecord {
                seq: 0,
                at_ms: 1,
                case: None,
                event: Event::SharedTokensAdded {
                    version: "v1".into(),
                    tokens: vec![record(&r1)],
                },
            }],
            ..Change::default()
        }])
        .unwrap();
    let (r2, r3) = (shared("reviewer", 2), shared("reviewer", 3));
    run_case(&store, "a", 100, &r1, &r2, 10);
    run_case(&store, "b", 200, &r2, &r3, 20);
    started(&store, "c", vec![token("c", "start", 300)]);
    store
}

#[test]
fn compaction_archives_finished_cases_and_the_live_log_still_replays() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let before_a = live_events(&store, "a").unwrap();
    let before_c = live_events(&store, "c").unwrap();
    assert_eq!(before_a.len(), 3);
    let archive = dir.path().join("archive");

    // keep_last 1 keeps `b`, the newest finished; `c` runs.
    let policy = Policy {
        keep_last: 1,
        ..Policy::default()
    };
    let report = compact(&store, &archive, &policy, 1_000).unwrap();
    assert_eq!((report.cases, report.events), (1, 3), "{report:?}");
    assert_eq!(live_events(&store, "a").unwrap(), vec![]);
    let stored = store.case("a").unwrap().unwrap();
    assert_eq!(stored.status, CaseStatus::Completed);
    let archived = stored.archived.unwrap();
    assert_eq!((archived.at_ms, archived.events), (1_000, 3));
    assert_eq!(archived.last_seq, before_a[2].seq);
    assert_eq!(
        archive::read(&archive, &archived.file, "a").unwrap(),
        before_a
    );
    assert_eq!(live_events(&store, "c").unwrap(), before_c);
    assert_eq!(live_events(&store, "b").unwrap().len(), 3);
    assert_eq!(store.tokens(&Owner::Case("a".into())).unwrap().len(), 1);
    // `a` took reviewer 1 and gave back reviewer 2, which `b` took.
    let last = store.events(None, 0, 100).unwrap().pop().unwrap();
    let Event::LogCompacted {
        cases,
        produced,
        consumed,
    } = &last.event
    else {
        panic!("{last:?}")
    };
    assert_eq!(*cases, 1);
    assert_eq!(produced.iter().map(|(_, t)| t.seq).collect::<Vec<_>>(), [2]);
    assert_eq!(consumed.iter().map(|(_, r)| r.seq).collect::<Vec<_>>(), [1]);
    let r = replay(&store).unwrap();
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);

    // Again, keeping nothing: `b` goes too, `a` is not taken twice, `c`
    // still runs.
    let report = compact(&store, &archive, &Policy::default(), 2_000).unwrap();
    assert_eq!((report.cases, report.events), (1, 3), "{report:?}");
    let r = replay(&store).unwrap();
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.tokens, 4, "done of a and b, c's start, the reviewer");
    let again = compact(&store, &archive, &Policy::default(), 3_000).unwrap();
    assert!(again.archive.is_none(), "{again:?}");

    // A compacted case's token gone from the store: replay names the case.
    store
        .apply(&mut [Change {
            consume: vec![TokenId::new(Owner::Case("a".into()), "done", 101)],
            ..Change::default()
        }])
        .unwrap();
    let r = replay(&store).unwrap();
    assert!(
        r.mismatches
            .iter()
            .any(|m| m.contains("case `a`") && m.contains("differ")),
        "{:?}",
        r.mismatches
    );
}

#[test]
fn two_cases_compacted_together_cancel_the_shared_token_they_passed_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let report = compact(
        &store,
        &dir.path().join("archive"),
        &Policy::default(),
        1_000,
    )
    .unwrap();
    assert_eq!(report.cases, 2, "{report:?}");
    let last = store.events(None, 0, 100).unwrap().pop().unwrap();
    let Event::LogCompacted {
        produced, consumed, ..
    } = &last.event
    else {
        panic!("{last:?}")
    };
    // Reviewer 2 went from `a` to `b`: only 1 taken and 3 left remain.
    assert_eq!(produced.iter().map(|(_, t)| t.seq).collect::<Vec<_>>(), [3]);
    assert_eq!(consumed.iter().map(|(_, r)| r.seq).collect::<Vec<_>>(), [1]);
    let r = replay(&store).unwrap();
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
}

fn chosen_ids(store: &dyn Store, policy: &Policy, now_ms: u64) -> Vec<String> {
    let cases = chosen(store, policy, now_ms).unwrap();
    cases.into_iter().map(|c| c.id).collect()
}

#[test]
fn finished_before_and_changed_cases_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let archive = dir.path().join("archive");
    // Finished at 10 and 20: at 25, only `a` finished 10 ms before.
    let policy = Policy {
        finished_before_ms: 10,
        ..Policy::default()
    };
    assert_eq!(chosen_ids(&store, &policy, 25), ["a"]);
    // Oldest first, at most max_cases.
    let policy = Policy {
        max_cases: 1,
        ..Policy::default()
    };
    assert_eq!(chosen_ids(&store, &policy, 25), ["a"]);

    // A case whose record changed after it was read is refused by the store.
    let mut stale = store.case("a").unwrap().unwrap();
    stale.updated_at_ms = 9;
    let mut change = Change {
        case: Some(stale),
        compacts_case: true,
        ..Change::default()
    };
    let err = store.apply(std::slice::from_mut(&mut change)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(live_events(&store, "a").unwrap().len(), 3);
    assert!(archive.read_dir().is_err(), "nothing archived");

    // A finished case a firing still holds tokens of waits for it.
    let mut hold = crate::store::conformance::first_attempt(&[&token("a", "done", 101)]);
    hold.case = "a".into();
    crate::store::conformance::reserve(&store, 7, &hold).unwrap();
    let report = compact(&store, &archive, &Policy::default(), 1_000).unwrap();
    assert_eq!(report.cases, 1, "only `b`: {report:?}");
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert!(report.skipped[0].1.contains("in flight"), "{report:?}");
}
