//! Hosts sharing one database (`PETREL_TEST_POSTGRES`; skipped without):
//! a case is run by one host and adopted by another once its host leaves;
//! shared tokens are lent to one host at a time, given back when another
//! wants them, never lent while a reservation holds them; a host whose
//! lease lapsed is reaped by another, which adopts its cases, and it can
//! no longer write.

use super::PgStore;
use super::tests::PgBackend;
use crate::store::conformance::{first_attempt, reserve, started, token};
use crate::store::{Change, Cluster, NetRecord, Owner, StoreError, StoredToken, TokenId};

fn shared(seq: u64) -> StoredToken {
    StoredToken {
        owner: Owner::Shared("v1".into()),
        place: "slot".into(),
        seq,
        payload: vec![0xc0],
    }
}

fn deploy(store: &PgStore, tokens: Vec<StoredToken>) {
    let net = NetRecord {
        name: "n".into(),
        version: "v1".into(),
        file: "n.toml".into(),
        source: "[net]\nname = \"n\"\n".into(),
        components: vec![],
        deployed_at_ms: 1,
    };
    let mut change = Change {
        produce: tokens,
        ..Change::default()
    };
    use crate::store::Store as _;
    assert!(store.deploy(&net, &[], &mut change).unwrap());
}

#[test]
fn a_case_is_run_by_one_host_and_adopted_with_its_reservations_when_that_host_leaves() {
    let Some(backend) = PgBackend::from_env() else {
        return;
    };
    let (a, b) = (backend.store(), backend.store());
    let t = token("c", "p", 1);
    started(&a, "c", vec![t.clone()]);
    reserve(&a, 7, &first_attempt(&[&t])).unwrap();

    // A runs it: B adopts nothing and may not act on it.
    assert!(b.adopt(10).unwrap().cases.is_empty());
    let elsewhere = b.claim("c").unwrap().unwrap_err();
    assert!(elsewhere.host.contains(':'), "{elsewhere:?}");

    drop(a); // leaves: its cases wait for a host
    let adopted = b.adopt(10).unwrap();
    assert_eq!(adopted.cases.len(), 1);
    assert_eq!(adopted.tokens, vec![t]);
    assert_eq!(adopted.reservations.len(), 1);
    assert_eq!(adopted.reservations[0].0, 7);
    assert!(b.adopt(10).unwrap().cases.is_empty(), "adopted once");
    assert!(b.claim("c").unwrap().unwrap().is_none(), "B's already");
}

#[test]
fn shared_tokens_are_lent_to_one_host_at_a_time_and_given_back_when_wanted() {
    let Some(backend) = PgBackend::from_env() else {
        return;
    };
    let (a, b) = (backend.store(), backend.store());
    deploy(&a, vec![shared(1)]);

    assert_eq!(a.borrow("v1").unwrap(), vec![shared(1)]);
    assert!(b.borrow("v1").unwrap().is_empty(), "lent to A");
    b.want(&["v1".into()]).unwrap();
    assert_eq!(a.wanted().unwrap(), vec!["v1".to_string()]);
    assert!(
        b.wanted().unwrap().is_empty(),
        "its own wants are not listed"
    );

    // A gives it back (a token it never stored is not given).
    let given = a.give_back("v1", &[("slot".into(), 1), ("slot".into(), 99)]);
    assert_eq!(given.unwrap(), vec![("slot".to_string(), 1)]);
    assert_eq!(b.borrow("v1").unwrap(), vec![shared(1)]);
    assert!(a.wanted().unwrap().is_empty(), "B got what it wanted");

    // Held by a reservation of B's, it is not lent to another even once
    // B no longer holds it in memory (as when B dies mid-firing).
    let mut r = first_attempt(&[]);
    r.tokens = vec![TokenId::new(
        Owner::Shared("v1".into()),
        "slot".to_string(),
        1,
    )];
    reserve(&b, 9, &r).unwrap();
    b.give_back("v1", &[("slot".into(), 1)]).unwrap();
    assert!(a.borrow("v1").unwrap().is_empty(), "held by firing 9");
}

#[test]
fn a_host_whose_row_is_gone_can_no_longer_write() {
    let Some(backend) = PgBackend::from_env() else {
        return;
    };
    let a = backend.store();
    backend.execute(&format!(
        "DELETE FROM petrel_hosts WHERE id = {}",
        a.host_id()
    ));
    let t = token("c", "p", 1);
    use crate::store::Store as _;
    let err = a
        .apply(&mut [Change {
            produce: vec![t],
            case: Some(crate::store::conformance::case("c")),
            starts_case: true,
            ..Change::default()
        }])
        .unwrap_err();
    assert!(matches!(err, StoreError::Fenced(_)), "{err}");
    assert!(matches!(a.adopt(10), Err(StoreError::Fenced(_))));
    assert!(
        backend.store().case("c").unwrap().is_none(),
        "nothing written"
    );
}

#[test]
fn a_host_whose_lease_lapsed_is_reaped_by_another_which_adopts_its_cases() {
    let Some(backend) = PgBackend::from_env() else {
        return;
    };
    // A renews every 150 s: its lease, set in the past, stays lapsed.
    let a = PgStore::open_host(backend.url(), 2, 600_000).unwrap();
    let t = token("c", "p", 1);
    started(&a, "c", vec![t.clone()]);
    backend.execute(&format!(
        "UPDATE petrel_hosts SET lease_until = now() - interval '1 second' WHERE id = {}",
        a.host_id()
    ));
    // B renews (and reaps) every 125 ms.
    let b = PgStore::open_host(backend.url(), 2, 500).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let adopted = loop {
        let adopted = b.adopt(10).unwrap();
        if !adopted.cases.is_empty() {
            break adopted;
        }
        assert!(std::time::Instant::now() < deadline, "A was not reaped");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(adopted.tokens, vec![t.clone()]);
    // A, alive but reaped, can no longer write (fenced).
    use crate::store::Store as _;
    let err = a
        .apply(&mut [Change {
            consume: vec![t.id()],
            ..Change::default()
        }])
        .unwrap_err();
    assert!(matches!(err, StoreError::Fenced(_)), "{err}");
    assert_eq!(b.tokens(&Owner::Case("c".into())).unwrap(), vec![t]);
}
