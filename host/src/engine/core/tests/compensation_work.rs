//! External compensations: when a case aborts, the undo of each worker's
//! effect is offered to workers, newest first and one at a time, with what
//! the undone firing consumed and produced; claims outlive a restart.

use serde_json::json;

use super::*;
use crate::engine::work::{ClaimRequest, Completion, WorkFailure, WorkItem, WorkToken};
use crate::store::{DeadLetterKind, Release, Reservation};

/// The saga of `saga.rs` with every step but `ship` performed by workers:
/// reserve → charge → ship (a guest); the workers undo their effects with
/// `release` and `refund` (this one retried once).
fn net() -> String {
    super::saga::SAGA
        .replace("guest = \"reserve.wasm\"", "external = true")
        .replace("guest = \"charge.wasm\"", "external = true")
        .replace("guest = \"release.wasm\"", "external = true")
        .replace(
            "guest = \"refund.wasm\"",
            "external = true\nretry = { max_attempts = 2, initial_delay_ms = 50, jitter = 0.0 }",
        )
}

/// Plans, then claims an offer of `transition` for 1 s.
fn claim(h: &mut Harness, transition: &str) -> Option<WorkItem> {
    assert!(h.plan().is_empty(), "workers' firings are never launched");
    let request = ClaimRequest {
        worker: "w".into(),
        transition: Some(transition.into()),
        ..ClaimRequest::default()
    };
    let item = h.core.claim(&request, 1_000, h.now).unwrap();
    h.commit();
    item
}

fn complete(
    h: &mut Harness,
    item: &WorkItem,
    outcome: &str,
    tokens: &[(&str, serde_json::Value)],
) -> Vec<Change> {
    let completion = Completion {
        outcome: outcome.into(),
        tokens: tokens
            .iter()
            .map(|(place, payload)| WorkToken {
                place: place.to_string(),
                payload: payload.clone(),
            })
            .collect(),
    };
    h.core
        .complete(item.firing, &item.lease, completion, h.now)
        .unwrap();
    h.commit()
}

/// Completes the undo `item` with `outcome`, one token in `undone`.
fn undo(h: &mut Harness, item: &WorkItem, outcome: &str) -> Vec<Change> {
    complete(h, item, outcome, &[("undone", json!(outcome))])
}

/// Reserved and charged by workers, then aborted in ship.
fn aborted_in_ship(h: &mut Harness) {
    h.start("c", &[("order", json!({"id": 1}))]);
    let item = claim(h, "reserve").unwrap();
    complete(h, &item, "ok", &[("reserved", json!({"stock": "s-1"}))]);
    let item = claim(h, "charge").unwrap();
    complete(h, &item, "ok", &[("charged", json!({"charge": "ch-1"}))]);
    let l = h.one("ship");
    h.settle(l, Ok(Decision::Abort("address unknown".into())));
    assert_eq!(h.status("c"), CaseStatus::Compensating);
}

/// The firing the case's next saga step undoes.
fn next_undone(h: &Harness) -> u64 {
    h.record("c").saga.as_ref().unwrap().steps[0].firing
}

/// The reservations written for claims of compensations.
fn compensation_claims(h: &Harness) -> Vec<(u64, Reservation)> {
    h.log
        .iter()
        .flat_map(|c| &c.reserve)
        .filter(|(_, r)| r.compensates.is_some())
        .cloned()
        .collect()
}

#[test]
fn undoes_are_offered_to_workers_newest_first_with_what_they_undo() {
    let mut h = Harness::new(&net());
    aborted_in_ship(&mut h);
    let charge = next_undone(&h);
    assert!(
        claim(&mut h, "release").is_none(),
        "one compensation at a time, the newest first"
    );
    let refund = claim(&mut h, "refund").expect("the refund is offered");
    let undone = refund.compensates.as_ref().expect("it says what it undoes");
    assert_eq!(
        (
            undone.firing,
            undone.transition.as_str(),
            undone.outcome.as_str()
        ),
        (charge, "charge", "ok")
    );
    assert_eq!(undone.outputs[0].payload, json!({"charge": "ch-1"}));
    assert_eq!(refund.inputs[0].place, "reserved", "charge's inputs");
    assert_eq!(refund.inputs[0].payload, json!({"stock": "s-1"}));
    let claims = compensation_claims(&h);
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].0, refund.firing);
    assert_eq!(claims[0].1.compensates, Some(charge));
    assert!(claims[0].1.tokens.is_empty() && claims[0].1.lease.is_some());

    let changes = undo(&mut h, &refund, "refunded");
    assert_eq!(
        changes[0].release,
        vec![Release {
            firing: refund.firing,
            tokens: vec![]
        }],
        "the claim goes with the compensation's commit"
    );
    assert!(matches!(
        changes[0].events[0].event,
        Event::CompensationCompleted { remaining: 1, compensated, .. } if compensated == charge
    ));
    let release = claim(&mut h, "release").expect("then the release");
    assert_eq!(release.compensates.as_ref().unwrap().transition, "reserve");
    assert_eq!(release.inputs[0].payload, json!({"id": 1}));
    undo(&mut h, &release, "released");
    assert_eq!(h.status("c"), CaseStatus::Aborted);
    assert!(h.record("c").saga.is_none());
    assert_eq!(h.count("c", "undone"), (2, 2));
}

#[test]
fn a_failed_undo_is_retried_then_dead_lettered_and_the_case_fails() {
    let mut h = Harness::new(&net());
    aborted_in_ship(&mut h);
    let first = claim(&mut h, "refund").unwrap();
    let failure = WorkFailure {
        message: "payment service down".into(),
        retryable: true,
    };
    h.core
        .fail_work(first.firing, &first.lease, failure.clone(), h.now)
        .unwrap();
    let changes = h.commit();
    assert_eq!(changes[0].release[0].firing, first.firing);
    assert!(claim(&mut h, "refund").is_none(), "not before its backoff");
    h.now += 50;
    let second = claim(&mut h, "refund").expect("offered again");
    assert_eq!(second.attempt, 2);
    assert_ne!(second.firing, first.firing);
    h.core
        .fail_work(second.firing, &second.lease, failure, h.now)
        .unwrap();
    let changes = h.commit();
    let letter = changes[0].dead_letter.as_ref().expect("a dead letter");
    assert!(
        matches!(letter.kind, DeadLetterKind::Compensation { compensated } if compensated == next_undone(&h))
    );
    assert_eq!(letter.failures.len(), 2);
    assert_eq!(h.status("c"), CaseStatus::CompensationFailed);
    assert!(claim(&mut h, "release").is_none(), "the saga waits");
}

#[test]
fn a_lapsed_lease_on_an_undo_is_a_failed_attempt() {
    let mut h = Harness::new(&net());
    aborted_in_ship(&mut h);
    let first = claim(&mut h, "refund").unwrap();
    h.now += 1_000;
    assert!(h.plan().is_empty());
    let failed = h.events().into_iter().any(|e| {
        matches!(e, Event::FiringFailed { firing, error, compensating: Some(_), .. }
            if *firing == first.firing && error.to_string().contains("deadline"))
    });
    assert!(failed, "events: {:?}", h.events());
    let err = h
        .core
        .complete(
            first.firing,
            &first.lease,
            Completion {
                outcome: "refunded".into(),
                tokens: vec![],
            },
            h.now,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("not waiting for a worker"),
        "{err}"
    );
    h.now += 50;
    assert_eq!(claim(&mut h, "refund").unwrap().attempt, 2);
}

#[test]
fn a_claimed_undo_is_still_held_by_its_worker_after_a_restart() {
    let mut h = Harness::new(&net());
    aborted_in_ship(&mut h);
    let refund = claim(&mut h, "refund").unwrap();
    let (firing, stored) = compensation_claims(&h).remove(0);
    let record = h.record("c").clone();

    // A new host: the case from the store, then its reservations.
    let mut h = Harness::new(&net());
    h.core
        .add_case(record, h.dep.clone(), Vec::new(), Vec::new());
    h.core.adopt(firing, stored.clone()).unwrap();
    assert!(
        claim(&mut h, "refund").is_none(),
        "held by its worker, not offered twice"
    );
    assert!(claim(&mut h, "release").is_none());
    undo(&mut h, &refund, "refunded");
    assert!(claim(&mut h, "release").is_some());

    // A claim whose step is done (the case's saga ended) is only released.
    let mut h = Harness::new(&net());
    let mut ended = super::record("c");
    ended.status = CaseStatus::Aborted;
    h.core
        .add_case(ended, h.dep.clone(), Vec::new(), Vec::new());
    h.core.adopt(firing, stored).unwrap();
    assert_eq!(h.commit()[0].release[0].firing, firing);
    assert!(h.core.offers.is_empty());
}

#[test]
fn an_operators_cancel_offers_the_undo_of_what_workers_did() {
    let mut h = Harness::new(&net());
    h.start("c", &[("order", json!({"id": 1}))]);
    let item = claim(&mut h, "reserve").unwrap();
    complete(
        &mut h,
        &item,
        "ok",
        &[("reserved", json!({"stock": "s-1"}))],
    );
    // Charging is offered, not yet claimed, when the operator cancels.
    assert!(h.plan().is_empty());
    h.core
        .cancel("c", "ops", "customer withdrew".into(), h.now)
        .unwrap()
        .expect("a running case is cancelled");
    h.commit();
    assert_eq!(h.status("c"), CaseStatus::Compensating);
    assert!(claim(&mut h, "charge").is_none(), "its offer is withdrawn");
    let release = claim(&mut h, "release").expect("the reservation is undone");
    assert_eq!(release.compensates.as_ref().unwrap().transition, "reserve");
    undo(&mut h, &release, "released");
    assert_eq!(h.status("c"), CaseStatus::Aborted);
}
