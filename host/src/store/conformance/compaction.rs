//! The contract of [`Change::compacts_case`].

use super::*;

/// A case's entries leave the log, wherever they are indexed (in its record
/// or apart) and whoever shares their records; other cases' stay, and so
/// does the compacting change's own entry, across reopening.
pub(crate) fn compacting_a_case_removes_its_entries_and_only_them(backend: &dyn Backend) {
    let store = backend.open();
    started(store.as_ref(), "a", vec![token("a", "p", 1)]);
    started(store.as_ref(), "b", vec![token("b", "p", 2)]);
    // One transaction with entries of both, not writing either record.
    store
        .apply(&mut [
            Change {
                events: vec![declined("a", 10)],
                ..Change::default()
            },
            Change {
                events: vec![declined("b", 11)],
                ..Change::default()
            },
        ])
        .unwrap();
    let b_before = store.events(Some("b"), 0, 100).unwrap();
    assert_eq!(store.events(Some("a"), 0, 100).unwrap().len(), 2);

    let mut done = case("a");
    done.status = CaseStatus::Completed;
    done.updated_at_ms = 5;
    store
        .apply(&mut [Change {
            case: Some(done.clone()),
            events: vec![declined("a", 12)],
            ..Change::default()
        }])
        .unwrap();
    let mut stale = done.clone();
    stale.updated_at_ms = 4;
    let mut refused = Change {
        case: Some(stale),
        events: vec![declined("a", 13)],
        compacts_case: true,
        ..Change::default()
    };
    let err = store.apply(std::slice::from_mut(&mut refused)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(store.events(Some("a"), 0, 100).unwrap().len(), 3);

    done.archived = Some(Archived {
        at_ms: 6,
        file: "f".into(),
        events: 3,
        last_seq: 1,
        tokens: "t".into(),
    });
    let mut compact = Change {
        case: Some(done.clone()),
        events: vec![declined("a", 14)],
        compacts_case: true,
        ..Change::default()
    };
    store.apply(std::slice::from_mut(&mut compact)).unwrap();
    drop(store);
    let store = backend.open();
    let a = store.events(Some("a"), 0, 100).unwrap();
    assert_eq!(a, compact.events, "only the compacting entry stays");
    assert_eq!(store.events(Some("b"), 0, 100).unwrap(), b_before);
    let all = paged(store.as_ref(), None, 2);
    assert!(
        all.iter()
            .all(|e| e.case.as_deref() == Some("b") || e.seq == a[0].seq),
        "{all:?}"
    );
    assert_eq!(store.case("a").unwrap(), Some(done));
    assert_eq!(case_tokens(store.as_ref(), "a").len(), 1, "tokens stay");
    // Later entries of the case are indexed as before.
    store
        .apply(&mut [Change {
            events: vec![declined("a", 15)],
            ..Change::default()
        }])
        .unwrap();
    assert_eq!(store.events(Some("a"), 0, 100).unwrap().len(), 2);
}
