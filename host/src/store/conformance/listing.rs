//! Conformance checks of listing cases.

use super::*;

/// Starts case `id`, started at `at_ms` and updated later.
fn started_at(store: &dyn Store, id: &str, at_ms: u64) {
    let mut record = case(id);
    record.started_at_ms = at_ms;
    let start = Change {
        case: Some(record.clone()),
        events: vec![declined(id, 1)],
        starts_case: true,
        ..Change::default()
    };
    record.updated_at_ms = at_ms + 1_000;
    record.status = CaseStatus::Completed;
    let update = Change {
        case: Some(record),
        ..Change::default()
    };
    store.apply(&mut [start]).unwrap();
    store.apply(&mut [update]).unwrap();
}

fn ids(page: &[CaseRecord]) -> Vec<&str> {
    page.iter().map(|c| c.id.as_str()).collect()
}

pub(crate) fn cases_list_newest_first_in_pages(backend: &dyn Backend) {
    let store = backend.open();
    assert!(store.cases_newest_first(None, 10).unwrap().is_empty());
    // Started out of id order, two in the same ms.
    for (id, at) in [("b", 30), ("a", 10), ("d", 20), ("c", 20), ("e", 40)] {
        started_at(store.as_ref(), id, at);
    }
    let first = store.cases_newest_first(None, 2).unwrap();
    assert_eq!(ids(&first), ["e", "b"]);
    assert_eq!(first[0].status, CaseStatus::Completed, "the stored record");
    let last = first.last().unwrap();
    let second = store
        .cases_newest_first(Some((last.started_at_ms, &last.id)), 2)
        .unwrap();
    assert_eq!(ids(&second), ["d", "c"]);
    let rest = store.cases_newest_first(Some((20, "c")), 10).unwrap();
    assert_eq!(ids(&rest), ["a"]);
    // A bound between pages: everything started before 20 ms.
    assert_eq!(
        ids(&store.cases_newest_first(Some((20, "")), 10).unwrap()),
        ["a"]
    );
    // A refused start is not listed; the index survives reopening.
    let again = Change {
        case: Some(case("a")),
        starts_case: true,
        ..Change::default()
    };
    assert!(store.apply(&mut [again]).is_err());
    drop(store);
    let store = backend.open();
    let all = store.cases_newest_first(None, 10).unwrap();
    assert_eq!(ids(&all), ["e", "b", "d", "c", "a"]);
}
