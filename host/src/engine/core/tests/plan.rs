//! Planning: what is enabled gets its inputs reserved and launched; a case
//! with nothing left gets its status.

use serde_json::json;

use super::*;
use crate::store::Event;

#[test]
fn a_started_case_launches_its_enabled_transition_with_the_input_payloads() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!({"order": 7}))]);
    let launch = h.one("first");
    assert_eq!(launch.case, "c");
    assert_eq!(launch.attempt, 1);
    assert_eq!(launch.started_at_ms, T0);
    assert_eq!(launch.inputs.len(), 1);
    assert_eq!(launch.inputs[0].payload, mp(json!({"order": 7})));
    assert_eq!(h.core.running(), 1);
}

#[test]
fn a_launch_is_reserved_in_the_changes_committed_before_it_runs() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("first");
    let reserved: Vec<_> = h.log.iter().flat_map(|c| &c.reserve).collect();
    assert_eq!(reserved.len(), 1);
    let (firing, r) = reserved[0];
    assert_eq!(*firing, launch.firing);
    assert_eq!((r.case.as_str(), r.transition.as_str()), ("c", "first"));
    assert_eq!(r.tokens[0].owner, Owner::Case("c".into()));
    assert_eq!(r.tokens[0].place, "a");
    assert!(!r.external && r.not_before_ms == 0);
}

#[test]
fn reserved_inputs_are_not_launched_twice() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!(1))]);
    h.one("first");
    assert_eq!(h.count("c", "a"), (0, 1), "held, still in its place");
    // Nothing else is enabled, yet the case is not settled while in flight.
    assert!(h.plan().is_empty());
    assert_eq!(h.status("c"), CaseStatus::Running);
}

#[test]
fn max_in_flight_bounds_launches_and_the_rest_wait_their_turn() {
    let mut h = Harness::with(STEPS, 2, None, false);
    for id in ["c1", "c2", "c3"] {
        h.start(id, &[("a", json!(1))]);
    }
    let first = h.plan();
    assert_eq!(first.len(), 2);
    assert!(!h.core.ready(), "no launch slot is free");
    let launch = first.into_iter().next().unwrap();
    h.settle(launch, fire("ok", &[("b", json!(1))]));
    // One slot free: the third case's firing (planned before the settled
    // case's next step) goes next.
    let next = h.plan();
    assert_eq!(names(&next), "first@c3");
}

#[test]
fn max_firings_stops_launching() {
    let mut h = Harness::with(STEPS, 64, Some(1), false);
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("first");
    h.settle(launch, fire("ok", &[("b", json!(1))]));
    assert!(h.plan().is_empty());
    assert_eq!(h.count("c", "b"), (1, 1));
}

#[test]
fn a_case_whose_tokens_all_lie_in_final_places_completes() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("a", json!(1))]);
    let launch = h.one("first");
    h.settle(launch, fire("ok", &[("b", json!(1))]));
    let launch = h.one("second");
    h.settle(launch, fire("ok", &[("done", json!(1))]));
    assert!(h.plan().is_empty());
    assert_eq!(h.status("c"), CaseStatus::Completed);
    assert!(matches!(h.events().last(), Some(Event::CaseCompleted)));
    let written = h.log.last().unwrap().case.as_ref().unwrap();
    assert_eq!(written.status, CaseStatus::Completed);
}

#[test]
fn a_case_with_nothing_enabled_and_tokens_outside_final_places_is_stuck() {
    let mut h = Harness::new(STEPS);
    h.start("c", &[("done", json!(1)), ("a", json!(2))]);
    let launch = h.one("first");
    h.settle(launch, fire("ok", &[("b", json!(1))]));
    let launch = h.one("second");
    // The guard says no: `b` stays, nothing else can fire.
    h.settle(launch, Ok(Decision::Decline));
    assert!(h.plan().is_empty());
    assert_eq!(h.status("c"), CaseStatus::Stuck);
    assert!(matches!(
        h.events().last(),
        Some(Event::CaseStuck { places }) if places == &["b".to_string()]
    ));
    // Settling again changes nothing and writes nothing.
    h.core.mark_dirty("c");
    h.plan();
    assert!(h.commit().is_empty());
}

#[test]
fn a_terminal_case_is_not_loaded() {
    let mut h = Harness::new(STEPS);
    let mut done = record("old");
    done.status = CaseStatus::Completed;
    h.core.add_case(done, h.dep.clone(), vec![], Vec::new());
    assert!(!h.core.has_case("old"));
    assert!(h.plan().is_empty());
}
