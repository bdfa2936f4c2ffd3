//! Regions: a branch abort resets the region and marks `on_abort`; the
//! check proves what the case can do after it.

use super::*;

/// A fork whose left branch is a region; `handle` decides what a failed
/// left branch means for the join.
const FORK: &str = r#"
[net]
name = "fork-region"
[places.start]
start = true
[places.left]
[places.left_more]
[places.right]
[places.left_done]
[places.right_done]
[places.left_failed]
[places.done]
final = true
[transitions.fork]
external = true
inputs = { start = 1 }
outcomes.split = { left = 1, right = 1 }
[transitions.l1]
guest = "l1.wasm"
inputs = { left = 1 }
outcomes.ok = { left_more = 1 }
retry = { on_exhausted = "abort" }
[transitions.l2]
guest = "l2.wasm"
inputs = { left_more = 1 }
outcomes.ok = { left_done = 1 }
retry = { on_exhausted = "abort" }
[transitions.r]
external = true
inputs = { right = 1 }
outcomes.ok = { right_done = 1 }
retry = { on_exhausted = "abort" }
[transitions.join]
external = true
inputs = { left_done = 1, right_done = 1 }
outcomes.ok = { done = 1 }
retry = { on_exhausted = "abort" }
[regions.left_branch]
places = ["left", "left_more"]
on_abort = "left_failed"
"#;

/// What takes over after the branch aborted.
const HANDLED: &str = r#"
[transitions.handle]
external = true
inputs = { left_failed = 1, right_done = 1 }
outcomes.ok = { done = 1 }
retry = { on_exhausted = "abort" }
"#;

#[test]
fn a_branch_abort_that_the_net_handles_is_sound() {
    let source = format!("{FORK}{HANDLED}");
    let r = report(&source, 1);
    assert!(r.sound(), "{:?}", r.problems);
    let t = &r.runs[0].translation;
    assert!(t.net.node("l1!abort-region").is_some());
    assert!(
        t.net.node("l1!abort").is_none(),
        "a region transition aborts its region only"
    );
    assert!(
        t.net.node("r!abort").is_some(),
        "outside the region the case aborts"
    );
}

#[test]
fn a_branch_abort_nothing_handles_is_a_deadlock_with_its_trace() {
    let r = report(FORK, 1);
    let Some(Problem::Deadlock {
        trace: steps,
        marking,
        ..
    }) = r.problems.iter().find(|p| p.kind() == "deadlock")
    else {
        panic!("{:?}", r.problems)
    };
    let t = trace(steps);
    assert!(t.iter().any(|s| s.contains("!abort-region")), "{t:?}");
    assert!(
        marking.iter().any(|m| m.place == "left_failed"),
        "{marking:?}"
    );
    let abort = steps
        .iter()
        .find(|s| s.action == Some("abort-region"))
        .unwrap();
    assert_eq!(
        abort.to_string(),
        format!("{} aborts its region (case 1)", abort.transition)
    );
}
