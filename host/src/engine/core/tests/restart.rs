//! Taking over what the store kept: reservations after a restart, dead
//! letters closed by an operator, cases forgotten once they end.

use serde_json::json;

use super::*;
use crate::engine::core::letters;
use crate::store::{DeadLetter, Lease, Release, Reservation, TokenId};

/// Starts `c` with one token in `a`, as stored, and the token's id.
fn stored(h: &mut Harness) -> TokenId {
    h.start("c", &[("a", json!({"k": 1}))]);
    let seq = h.ids.0.load(Ordering::SeqCst) - 1;
    TokenId::new(Owner::Case("c".into()), "a", seq)
}

fn reservation(token: TokenId) -> Reservation {
    Reservation {
        case: "c".into(),
        transition: "first".into(),
        attempt: 2,
        tokens: vec![token],
        started_at_ms: 4242,
        not_before_ms: 0,
        failures: vec![],
        external: false,
        lease: None,
        compensates: None,
    }
}

#[test]
fn a_firing_a_crash_cut_off_runs_again_as_it_was() {
    let mut h = Harness::new(STEPS);
    let token = stored(&mut h);
    h.core.adopt(77, reservation(token)).unwrap();
    let launch = h.one("first");
    assert_eq!((launch.firing, launch.attempt), (77, 2));
    assert_eq!(launch.started_at_ms, 4242, "the guest sees the same clock");
    assert_eq!(launch.inputs[0].payload, mp(json!({"k": 1})));
    assert!(
        h.log.iter().all(|c| c.reserve.is_empty())
            || h.log.iter().flat_map(|c| &c.reserve).all(|(f, _)| *f == 77),
        "the same reservation, not a new one"
    );
}

#[test]
fn a_waiting_retry_keeps_its_timer_across_a_restart() {
    let mut h = Harness::new(STEPS);
    let token = stored(&mut h);
    let r = Reservation {
        not_before_ms: T0 + 500,
        ..reservation(token)
    };
    h.core.adopt(77, r).unwrap();
    assert!(h.plan().is_empty(), "its token is held");
    assert_eq!(h.core.next_timer(false), Some(T0 + 500));
    h.now = T0 + 500;
    let launch = h.one("first");
    assert_eq!(launch.started_at_ms, T0 + 500, "a retry starts afresh");
}

#[test]
fn a_leased_external_firing_is_still_held_by_its_worker_after_a_restart() {
    let mut h = Harness::new(&STEPS.replace("guest = \"first.wasm\"", "external = true"));
    let token = stored(&mut h);
    let r = Reservation {
        external: true,
        lease: Some(Lease {
            id: "l1".into(),
            worker: "w".into(),
            until_ms: T0 + 300,
            lease_ms: 300,
        }),
        ..reservation(token)
    };
    h.core.adopt(77, r).unwrap();
    assert!(h.plan().is_empty());
    assert_eq!(h.core.next_timer(true), Some(T0 + 300));
    let completion = crate::engine::work::Completion {
        outcome: "ok".into(),
        tokens: vec![crate::engine::work::WorkToken {
            place: "b".into(),
            payload: json!(1),
        }],
    };
    h.core.complete(77, "l1", completion, h.now).unwrap();
    h.commit();
    assert_eq!(h.one("second").case, "c");
}

#[test]
fn a_reservation_whose_case_ended_is_released() {
    let mut h = Harness::new(STEPS);
    let r = reservation(TokenId::new(Owner::Case("gone".into()), "a", 1));
    h.core
        .adopt(
            77,
            Reservation {
                case: "gone".into(),
                ..r.clone()
            },
        )
        .unwrap();
    let changes = h.commit();
    assert_eq!(
        changes[0].release,
        vec![Release {
            firing: 77,
            tokens: r.tokens
        }]
    );
}

#[test]
fn a_reservation_of_a_token_that_is_not_there_is_a_bug() {
    let mut h = Harness::new(STEPS);
    stored(&mut h);
    let r = reservation(TokenId::new(Owner::Case("c".into()), "a", 9999));
    let err = h.core.adopt(77, r).unwrap_err();
    assert!(err.to_string().contains("which is not free"), "{err}");
}

/// Runs `c`'s first step into the dead-letter queue.
fn dead_lettered(h: &mut Harness) -> DeadLetter {
    stored(h);
    let launch = h.one("first");
    let changes = h.settle(
        launch,
        Err(GuestFailure::Guest {
            message: "bad".into(),
            retryable: false,
        }),
    );
    changes[0].dead_letter.clone().unwrap()
}

#[test]
fn a_retried_dead_letter_puts_its_tokens_back_and_the_case_runs_on() {
    let mut h = Harness::new(STEPS);
    let letter = dead_lettered(&mut h);
    h.plan();
    assert_eq!(h.status("c"), CaseStatus::Stuck);
    let change = letters::retry(&letter, h.record("c").clone(), "ana", h.now).unwrap();
    assert!(
        !h.core.close_letter(&letter, change).unwrap(),
        "loaded: no reload"
    );
    let changes = h.commit();
    assert_eq!(changes[0].remove_dead_letter, Some(letter.id));
    assert_eq!(changes[0].produce.len(), 1);
    assert!(matches!(
        &changes[0].events[0].event,
        Event::DeadLetterRetried { by, .. } if by == "ana"
    ));
    let err = letters::retry(&letter, h.record("c").clone(), "", h.now).unwrap_err();
    assert!(err.to_string().contains("`by`"), "{err}");
    let (firing, held) = &changes[0].reserve[0];
    assert_eq!(
        (*firing, held.transition.as_str(), held.tokens.len()),
        (letter.id, "first", 1),
        "the tokens are held for the same transition"
    );
    let again = h.one("first");
    assert_eq!(again.firing, letter.id);
    assert_eq!(again.attempt, 1, "a fresh attempt count");
    assert_eq!(again.inputs[0].payload, mp(json!({"k": 1})));
}

#[test]
fn a_retried_dead_letter_fires_its_own_transition_not_another_its_tokens_enable() {
    // `first` and `other` both take `a`; `other` comes first, so it is the
    // one the marking alone would fire.
    let text = STEPS.replace(
        "[transitions.first]",
        "[transitions.other]\nguest = \"other.wasm\"\ninputs = { a = 1 }\noutcomes.ok = { done = 1 }\n[transitions.first]",
    );
    let mut h = Harness::new(&text);
    stored(&mut h);
    let launch = h.one("other");
    h.settle(
        launch,
        Err(GuestFailure::Guest {
            message: "bad".into(),
            retryable: false,
        }),
    );
    let letter = h.log.iter().find_map(|c| c.dead_letter.clone()).unwrap();
    assert_eq!(letter.transition, "other");
    // The letter names the transition that fires again: here `first`.
    let letter = DeadLetter {
        transition: "first".into(),
        ..letter
    };
    let change = letters::retry(&letter, h.record("c").clone(), "ana", h.now).unwrap();
    h.core.close_letter(&letter, change).unwrap();
    h.commit();
    assert_eq!(h.one("first").firing, letter.id);
}

#[test]
fn a_discarded_dead_letter_lets_the_case_settle_without_it() {
    let mut h = Harness::new(STEPS);
    let letter = dead_lettered(&mut h);
    h.plan();
    let err = letters::discard(&letter, h.record("c").clone(), "ana", " ", h.now).unwrap_err();
    assert!(err.to_string().contains("needs a reason"));
    let change = letters::discard(
        &letter,
        h.record("c").clone(),
        "ana",
        "refunded by hand",
        h.now,
    )
    .unwrap();
    h.core.close_letter(&letter, change).unwrap();
    h.commit();
    assert!(h.plan().is_empty());
    assert_eq!(
        h.status("c"),
        CaseStatus::Completed,
        "nothing left outside final places"
    );
}

#[test]
fn a_daemon_forgets_a_case_once_it_ends() {
    let mut h = Harness::with(STEPS, 64, None, true);
    h.start("c", &[("b", json!(1))]);
    let launch = h.one("second");
    h.settle(launch, fire("ok", &[("done", json!(1))]));
    assert!(h.core.has_case("c"));
    h.plan();
    assert!(!h.core.has_case("c"), "completed and quiet: evicted");
}
