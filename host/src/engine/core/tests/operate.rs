//! What operators and people do to a running case: human tasks (listed,
//! claimed by firing, completed through their forms, timed out unclaimed)
//! and cancelling.

use serde_json::json;

use super::*;
use crate::engine::EngineError;
use crate::engine::work::{ClaimRequest, Completion, OfferFilter, WorkToken};

/// A review people do; unclaimed for a second, it escalates.
const REVIEW: &str = r#"
[net]
name = "n"
[places.request]
start = true
[places.to_review]
[places.refunded]
final = true
[places.escalated]
final = true
[transitions.triage]
guest = "triage.wasm"
inputs = { request = 1 }
outcomes.review = { to_review = 1 }
[transitions.review]
human = true
inputs = { to_review = 1 }
outcomes.refund = { refunded = 1 }
outcomes.escalate = { escalated = 1 }
on_timeout = "escalate"
offer_timeout_ms = 1000
[transitions.review.forms.refund]
type = "object"
required = ["amount"]
properties.amount = { type = "number", minimum = 0 }
"#;

/// Starts case `id` and runs triage: its review is offered.
fn offered(h: &mut Harness, id: &str) {
    h.start(id, &[("request", json!({"text": "refund please"}))]);
    let l = h.one("triage");
    h.settle(l, fire("review", &[("to_review", json!({"order": id}))]));
    assert!(h.plan().is_empty());
}

fn claim_firing(h: &mut Harness, firing: u64) -> Option<crate::engine::work::WorkItem> {
    let request = ClaimRequest {
        worker: "ana".into(),
        firing: Some(firing),
        ..ClaimRequest::default()
    };
    let item = h.core.claim(&request, 60_000, h.now).unwrap();
    h.commit();
    item
}

fn refund(amount: serde_json::Value) -> Completion {
    Completion {
        outcome: "refund".into(),
        tokens: vec![WorkToken {
            place: "refunded".into(),
            payload: amount,
        }],
    }
}

#[test]
fn human_offers_are_listed_with_their_deadline_and_form_and_claimed_by_firing() {
    let mut h = Harness::new(REVIEW);
    offered(&mut h, "a");
    offered(&mut h, "b");
    let human = OfferFilter {
        human: Some(true),
        ..OfferFilter::default()
    };
    let offers = h.core.open_offers(&human);
    assert_eq!(offers.len(), 2);
    let b = offers.iter().find(|o| o.case == "b").unwrap();
    assert!(b.human && b.claimed_by.is_none());
    assert_eq!(b.deadline_ms, Some(b.offered_at_ms + 1000));
    assert_eq!(b.inputs[0].payload, json!({"order": "b"}));
    let form = b.outcomes.iter().find(|o| o.name == "refund").unwrap();
    assert_eq!(form.form.as_ref().unwrap()["required"], json!(["amount"]));
    assert!(
        h.core
            .open_offers(&OfferFilter {
                human: Some(false),
                ..OfferFilter::default()
            })
            .is_empty()
    );
    // The later offer, picked by its firing id, not the oldest.
    let item = claim_firing(&mut h, b.firing).unwrap();
    assert_eq!((item.case.as_str(), item.human), ("b", true));
    assert!(claim_firing(&mut h, b.firing).is_none(), "claimed already");
    let listed = h.core.open_offers(&human);
    let b = listed.iter().find(|o| o.case == "b").unwrap();
    assert_eq!(b.claimed_by.as_deref(), Some("ana"));
}

#[test]
fn a_completion_must_meet_the_outcomes_form_and_a_refused_one_keeps_the_lease() {
    let mut h = Harness::new(REVIEW);
    offered(&mut h, "a");
    let firing = h.core.open_offers(&OfferFilter::default())[0].firing;
    let item = claim_firing(&mut h, firing).unwrap();
    let err = h
        .core
        .complete(firing, &item.lease, refund(json!({"amount": "ten"})), h.now)
        .unwrap_err();
    let EngineError::Invalid(message) = err else {
        panic!("{err:?}")
    };
    assert!(
        message.contains("tokens[0].payload") && message.contains("/amount"),
        "{message}"
    );
    h.core
        .complete(firing, &item.lease, refund(json!({"amount": 10})), h.now)
        .unwrap();
    h.commit();
    assert!(h.plan().is_empty());
    assert_eq!(h.status("a"), CaseStatus::Completed);
}

#[test]
fn an_offer_nobody_claims_by_its_deadline_takes_on_timeout() {
    let mut h = Harness::new(REVIEW);
    offered(&mut h, "a");
    offered(&mut h, "b");
    let offers = h.core.open_offers(&OfferFilter::default());
    // `b`'s is claimed in time: its lease decides, not the deadline.
    let b = offers.iter().find(|o| o.case == "b").unwrap().firing;
    claim_firing(&mut h, b).unwrap();
    h.now += 999;
    h.plan();
    assert_eq!(h.core.open_offers(&OfferFilter::default()).len(), 2);
    h.now += 1;
    h.plan();
    assert_eq!(h.status("a"), CaseStatus::Completed);
    assert_eq!(h.count("a", "escalated"), (1, 1));
    let left = h.core.open_offers(&OfferFilter::default());
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].case, "b");
    assert_eq!(h.status("b"), CaseStatus::Running);
}

#[test]
fn cancelling_withdraws_offers_removes_tokens_and_logs_who() {
    let mut h = Harness::new(REVIEW);
    offered(&mut h, "a");
    let record = h
        .core
        .cancel("a", "ops", "customer withdrew".into(), h.now)
        .unwrap()
        .unwrap();
    assert_eq!(record.status, CaseStatus::Aborted);
    let changes = h.commit();
    assert_eq!(changes[0].release.len(), 1, "the offer's reservation");
    assert!(matches!(
        h.events().last(),
        Some(Event::CaseCancelled { by, reason, consumed, .. })
            if by == "ops" && reason == "customer withdrew" && consumed.len() == 1
    ));
    assert!(h.core.open_offers(&OfferFilter::default()).is_empty());
    assert_eq!(h.count("a", "to_review"), (0, 0));
    assert!(matches!(
        h.core.cancel("a", "ops", "again".into(), h.now),
        Err(EngineError::Conflict(_))
    ));
    assert_eq!(
        h.core.cancel("nope", "ops", "x".into(), h.now).unwrap(),
        None
    );
}

#[test]
fn a_firing_in_flight_when_its_case_is_cancelled_is_discarded() {
    let mut h = Harness::new(REVIEW);
    h.start("a", &[("request", json!(1))]);
    let l = h.one("triage");
    h.core.cancel("a", "ops", "stop".into(), h.now).unwrap();
    h.commit();
    h.settle(l, fire("review", &[("to_review", json!(2))]));
    assert!(matches!(
        h.events().last(),
        Some(Event::FiringDiscarded { .. })
    ));
    assert_eq!(h.count("a", "to_review"), (0, 0));
    assert_eq!(h.status("a"), CaseStatus::Aborted);
}

#[test]
fn place_counts_add_up_the_live_cases_of_a_version() {
    let mut h = Harness::new(REVIEW);
    offered(&mut h, "a");
    h.start("b", &[("request", json!(1))]);
    let counts = h.core.place_counts("v1");
    assert_eq!(counts["to_review"], 1);
    assert_eq!(counts["request"], 1);
    assert_eq!(counts["refunded"], 0);
    assert!(h.core.place_counts("v9").is_empty());
}
