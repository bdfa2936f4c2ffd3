//! Regions: a branch of a fork aborts alone, compensates only its own
//! firings, and hands the case a token in its `on_abort` place.

use serde_json::json;

use super::*;
use crate::engine::core::letters;
use crate::store::DeadLetterKind;

/// split → (pack → ship) ∥ bill → join; shipping is a region whose abort
/// lands in `ship_failed`, where `refund_order` takes over with the bill.
pub(super) const FORK: &str = r#"
[net]
name = "n"
[places.order]
start = true
[places.to_ship]
[places.packed]
[places.label]
[places.to_bill]
[places.shipped]
[places.billed]
[places.ship_failed]
[places.done]
final = true
[places.undone]
final = true
[transitions.split]
guest = "split.wasm"
inputs = { order = 1 }
outcomes.ok = { to_ship = 1, to_bill = 1 }
[transitions.pack]
guest = "pack.wasm"
inputs = { to_ship = 1 }
outcomes.ok = { packed = 1, label = 1 }
compensate = "unpack"
[transitions.ship]
guest = "ship.wasm"
inputs = { packed = 1 }
outcomes.ok = { shipped = 1 }
[transitions.print]
guest = "print.wasm"
inputs = { label = 1 }
outcomes.ok = { shipped = 1 }
[transitions.bill]
guest = "bill.wasm"
inputs = { to_bill = 1 }
outcomes.ok = { billed = 1 }
compensate = "refund"
[transitions.join]
guest = "join.wasm"
inputs = { shipped = 2, billed = 1 }
outcomes.ok = { done = 1 }
[transitions.refund_order]
guest = "refund_order.wasm"
inputs = { ship_failed = 1, billed = 1 }
outcomes.ok = { done = 1 }
[transitions.unpack]
guest = "unpack.wasm"
compensation = true
outcomes.ok = { undone = 1 }
retry = { max_attempts = 1 }
[transitions.refund]
guest = "refund.wasm"
compensation = true
outcomes.ok = { undone = 1 }
[regions.shipping]
places = ["to_ship", "packed", "label"]
on_abort = "ship_failed"
"#;

/// Splits, packs and bills; returns the launches of ship and print.
fn packed_and_billed(h: &mut Harness) -> (Launch, Launch) {
    h.start("c", &[("order", json!({"id": 3}))]);
    let l = h.one("split");
    h.settle(
        l,
        fire("ok", &[("to_ship", json!("s")), ("to_bill", json!("b"))]),
    );
    let mut ls = h.plan();
    ls.sort_by_key(|l| l.transition().name.clone());
    assert_eq!(names(&ls), "bill@c, pack@c");
    let pack = ls.pop().unwrap();
    let bill = ls.pop().unwrap();
    h.settle(
        pack,
        fire("ok", &[("packed", json!("p")), ("label", json!("l"))]),
    );
    h.settle(bill, fire("ok", &[("billed", json!("b"))]));
    let mut ls = h.plan();
    ls.sort_by_key(|l| l.transition().name.clone());
    assert_eq!(names(&ls), "print@c, ship@c");
    let ship = ls.pop().unwrap();
    let print = ls.pop().unwrap();
    (ship, print)
}

#[test]
fn a_branch_abort_compensates_its_branch_only_and_the_case_completes_along_the_other() {
    let mut h = Harness::new(FORK);
    let (ship, print) = packed_and_billed(&mut h);
    let pack_firing = h.record("c").compensable[0].firing;
    h.settle(ship, Ok(Decision::Abort("carrier down".into())));
    assert_eq!(h.status("c"), CaseStatus::Running, "the case runs on");
    let Some(Event::RegionAborted {
        region,
        compensations,
        produced,
        ..
    }) = h.events().last().cloned().cloned()
    else {
        panic!("expected region_aborted: {:?}", h.events().last());
    };
    assert_eq!(region, "shipping");
    assert_eq!(compensations, [pack_firing], "pack, not bill");
    assert_eq!(produced[0].place, "ship_failed");
    assert_eq!(
        produced[0].payload,
        mp(json!({"region": "shipping", "transition": "ship", "reason": "carrier down"}))
    );
    let kept: Vec<_> = h
        .record("c")
        .compensable
        .iter()
        .map(|s| s.transition.clone())
        .collect();
    assert_eq!(kept, ["bill"], "bill stays compensable");
    // print, in flight when its region aborted, is discarded as it returns.
    h.settle(print, fire("ok", &[("shipped", json!("x"))]));
    assert!(matches!(
        h.events().last(),
        Some(Event::FiringDiscarded { transition, .. }) if transition == "print"
    ));
    assert_eq!(h.count("c", "shipped"), (0, 0));
    // unpack runs beside refund_order.
    let mut ls = h.plan();
    ls.sort_by_key(|l| l.transition().name.clone());
    assert_eq!(names(&ls), "refund_order@c, unpack@c");
    let unpack = ls.pop().unwrap();
    let refund_order = ls.pop().unwrap();
    assert!(
        matches!(&unpack.work, crate::engine::core::Work::Compensation(s) if s.firing == pack_firing)
    );
    h.settle(unpack, fire("ok", &[("undone", json!("u"))]));
    assert!(h.record("c").saga.is_none());
    h.settle(refund_order, fire("ok", &[("done", json!("d"))]));
    h.plan();
    assert_eq!(h.status("c"), CaseStatus::Completed);
    assert_eq!(h.count("c", "undone"), (1, 1), "unpack's token");
}

#[test]
fn a_case_does_not_complete_before_its_branch_is_compensated() {
    let mut h = Harness::new(FORK);
    let (ship, print) = packed_and_billed(&mut h);
    h.settle(ship, Ok(Decision::Abort("carrier down".into())));
    h.settle(print, fire("ok", &[("shipped", json!("x"))]));
    let ls = h.plan();
    let (unpack, refund_order): (Vec<_>, Vec<_>) = ls
        .into_iter()
        .partition(|l| l.transition().name == "unpack");
    h.settle(
        refund_order.into_iter().next().unwrap(),
        fire("ok", &[("done", json!("d"))]),
    );
    h.plan();
    assert_eq!(h.status("c"), CaseStatus::Running, "unpack still runs");
    // unpack fails for good: the case runs on, stuck on the letter.
    let changes = h.settle(unpack.into_iter().next().unwrap(), trap());
    let letter = changes.iter().find_map(|c| c.dead_letter.clone()).unwrap();
    assert!(matches!(letter.kind, DeadLetterKind::Compensation { .. }));
    assert_eq!(
        h.record("c").saga.as_ref().unwrap().waiting_letter,
        Some(letter.id)
    );
    h.plan();
    assert_eq!(h.status("c"), CaseStatus::Stuck);
    let change = letters::retry(&letter, h.record("c").clone(), "ana", h.now).unwrap();
    assert_eq!(change.case.as_ref().unwrap().status, CaseStatus::Running);
    h.core.close_letter(&letter, change).unwrap();
    let l = h.one("unpack");
    h.settle(l, fire("ok", &[("undone", json!("u"))]));
    h.plan();
    assert_eq!(h.status("c"), CaseStatus::Completed);
}

#[test]
fn cancelling_during_a_branch_saga_runs_the_rest_after_it() {
    let mut h = Harness::new(FORK);
    let (ship, print) = packed_and_billed(&mut h);
    let pack_firing = h.record("c").compensable[0].firing;
    let bill_firing = h.record("c").compensable[1].firing;
    h.settle(ship, Ok(Decision::Abort("carrier down".into())));
    let ls = h.plan();
    let (unpack, refund_order): (Vec<_>, Vec<_>) = ls
        .into_iter()
        .partition(|l| l.transition().name == "unpack");
    h.core.cancel("c", "ops", "stop".into(), h.now).unwrap();
    h.commit();
    assert!(matches!(
        h.events().last(),
        Some(Event::CaseCancelled { compensations, .. })
            if compensations == &[pack_firing, bill_firing]
    ));
    assert_eq!(h.status("c"), CaseStatus::Compensating);
    assert!(h.plan().is_empty(), "unpack is still running");
    h.settle(print, fire("ok", &[("shipped", json!("x"))]));
    let refund_order = refund_order.into_iter().next().unwrap();
    h.settle(refund_order, fire("ok", &[("done", json!("d"))]));
    h.settle(
        unpack.into_iter().next().unwrap(),
        fire("ok", &[("undone", json!("u"))]),
    );
    let l = h.one("refund");
    h.settle(l, fire("ok", &[("undone", json!("u"))]));
    assert_eq!(h.status("c"), CaseStatus::Aborted);
}
