//! The store contract as tests: what every backend must do, written once
//! against [`Store`] (`checks`) and run for each backend by
//! [`conformance_tests!`] (sled's in `store::tests`). A new backend passes
//! these before the engine runs on it. This module holds the fixtures.

mod checks;
mod compaction;
mod listing;

pub(crate) use checks::*;
pub(crate) use compaction::*;
pub(crate) use listing::*;

use super::*;

/// A backend under test: each `open` opens a store over the same data
/// (empty the first time), the previous one closed first.
pub(crate) trait Backend {
    fn open(&self) -> Box<dyn Store>;
}

/// One `#[test]` per conformance check, on the backend `$backend` makes;
/// `optional EXPR` takes an `Option` and skips where it is `None` (a
/// backend this machine lacks, saying why).
macro_rules! conformance_tests {
    (optional $backend:expr) => {
        $crate::store::conformance::conformance_tests!(@each $backend;
            a_change_consuming_a_missing_token_applies_nothing,
            case_ids_are_unique_and_a_refused_start_writes_nothing,
            events_page_per_case_and_round_trip,
            a_transaction_logs_its_entries_in_commit_order,
            replay_rebuilds_the_marking_and_names_a_token_the_log_never_produced,
            reservations_survive_reopening,
            a_reservation_is_released_once_and_consuming_its_tokens_releases_it,
            a_token_one_firing_holds_cannot_be_reserved_by_another,
            flushed_group_commits_survive_reopening,
            dead_letters_are_kept_listed_and_removed_once,
            deploying_is_idempotent_and_keeps_components,
            ids_increase_across_reopening,
            compacting_a_case_removes_its_entries_and_only_them,
            cases_list_newest_first_in_pages,
        );
    };
    (@each $backend:expr; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                let Some(backend) = $backend else { return };
                $crate::store::conformance::$name(&backend);
            }
        )*
    };
    ($backend:expr) => {
        $crate::store::conformance::conformance_tests!(optional Some($backend));
    };
}
pub(crate) use conformance_tests;

pub(crate) fn case(id: &str) -> CaseRecord {
    CaseRecord {
        id: id.into(),
        net: "n".into(),
        version: "v1".into(),
        status: CaseStatus::Running,
        started_at_ms: 1,
        updated_at_ms: 1,
        archived: None,
        compensable: vec![],
        saga: None,
        attempt: 1,
        start: Vec::new(),
        restart_at_ms: 0,
        region_aborts: Default::default(),
    }
}

pub(crate) fn token(case: &str, place: &str, seq: u64) -> StoredToken {
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
pub(crate) fn declined(case: &str, firing: u64) -> EventRecord {
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

/// Starts case `id` with `tokens`, logged.
pub(crate) fn started(store: &dyn Store, id: &str, tokens: Vec<StoredToken>) {
    let records = tokens.iter().map(StoredToken::record).collect();
    let ev = event(
        id,
        Event::CaseStarted {
            net: "n".into(),
            version: "v1".into(),
            tokens: records,
        },
    );
    store
        .apply(&mut [Change {
            produce: tokens,
            case: Some(case(id)),
            events: vec![ev],
            starts_case: true,
            ..Change::default()
        }])
        .unwrap();
}

/// A first attempt's reservation of `tokens` by case `c`.
pub(crate) fn first_attempt(tokens: &[&StoredToken]) -> Reservation {
    Reservation {
        case: "c".into(),
        transition: "t".into(),
        attempt: 1,
        tokens: tokens.iter().map(|t| t.id()).collect(),
        started_at_ms: 5,
        not_before_ms: 0,
        failures: vec![],
        external: false,
        lease: None,
        compensates: None,
    }
}

pub(crate) fn reserve(store: &dyn Store, firing: u64, r: &Reservation) -> Result<(), StoreError> {
    store.apply(&mut [Change {
        reserve: vec![(firing, r.clone())],
        ..Change::default()
    }])
}

/// Releases `r` (firing `firing`'s), consuming `consume`.
pub(crate) fn settle(
    store: &dyn Store,
    firing: u64,
    r: &Reservation,
    consume: &[&StoredToken],
) -> Result<(), StoreError> {
    store.apply(&mut [Change {
        release: vec![Release {
            firing,
            tokens: r.tokens.clone(),
        }],
        consume: consume.iter().map(|t| t.id()).collect(),
        ..Change::default()
    }])
}

fn case_tokens(store: &dyn Store, id: &str) -> Vec<StoredToken> {
    store.tokens(&Owner::Case(id.into())).unwrap()
}

/// Every entry once, in seq order, paging with `limit` from `after = 0`.
pub(crate) fn paged(store: &dyn Store, case: Option<&str>, limit: usize) -> Vec<EventRecord> {
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
