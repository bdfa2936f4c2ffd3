//! A planted problem for each soundness condition, found with one case
//! and with two (some only with two: shared resources).

use super::*;

/// The issue's net: after `t0→go` a case loops between `ping` and `pong`
/// and can never reach `done`.
const LIVELOCK: &str = include_str!("../../../../../tests/nets/livelock.toml");

/// Sound with one case. With two, a case that aborts while holding the
/// lock (its token is in `holding`, so it goes with the case) leaves the
/// other polling forever.
const LOST_LOCK: &str = r#"
[net]
name = "lost-lock"
[places.start]
start = true
[places.waiting]
[places.checking]
[places.holding]
[places.done]
final = true
[places.lock]
shared = true
initial = 1
[transitions.enter]
external = true
inputs = { start = 1 }
outcomes.in = { waiting = 1 }
[transitions.poll]
external = true
inputs = { waiting = 1 }
outcomes.busy = { checking = 1 }
[transitions.again]
external = true
inputs = { checking = 1 }
outcomes.retry = { waiting = 1 }
[transitions.take]
external = true
inputs = { waiting = 1, lock = 1 }
outcomes.taken = { holding = 1 }
[transitions.work]
guest = "work.wasm"
inputs = { holding = 1 }
outcomes.done = { done = 1, lock = 1 }
"#;

/// Proper with one case; with two, the second to enter finds two ticks and
/// may take `fast`, which leaves a token behind.
const TICKS: &str = r#"
[net]
name = "ticks"
[places.start]
start = true
[places.go]
[places.extra]
[places.done]
final = true
[places.tick]
shared = true
[transitions.enter]
external = true
inputs = { start = 1 }
outcomes.in = { go = 1, tick = 1 }
[transitions.finish]
external = true
inputs = { go = 1 }
outcomes.normal = { done = 1 }
[transitions.fast]
external = true
inputs = { go = 1, tick = 2 }
outcomes.fast = { done = 1, extra = 1, tick = 2 }
[transitions.sweep]
external = true
inputs = { extra = 1 }
outcomes.swept = { done = 1 }
"#;

#[test]
fn a_livelock_is_reported_with_its_trace_and_cycle_for_one_and_two_cases() {
    for cases in [1, 2] {
        let r = report(LIVELOCK, cases);
        assert_eq!(
            kinds(&r),
            vec!["livelock"],
            "{cases} case(s): {:?}",
            r.problems
        );
        let Problem::Livelock {
            cases: k,
            stuck,
            trace: steps,
            marking,
            lead,
            cycle,
        } = &r.problems[0]
        else {
            unreachable!()
        };
        assert_eq!(
            (*k, stuck.as_slice()),
            (1, &[1][..]),
            "found with one case first"
        );
        assert_eq!(trace(steps), vec!["t0.go#1"]);
        assert_eq!(marking.len(), 1);
        assert_eq!(marking[0].place, "a");
        assert!(lead.is_empty());
        assert_eq!(trace(cycle), vec!["ping.go#1", "pong.go#1"]);
        assert!(!r.sound());
        assert!(!r.runs[0].completes);
        let text = r.problems[0].to_string();
        assert!(
            text.contains(
                "livelock with 1 case(s): after t0→go (case 1), case 1 can never complete"
            ) && text.contains("cycles forever through ping→go (case 1), pong→go (case 1)"),
            "{text}"
        );
    }
}

#[test]
fn a_resource_lost_with_an_aborted_case_livelocks_the_other_case_only_with_two() {
    let one = report(LOST_LOCK, 1);
    assert!(one.sound(), "{:?}", one.problems);
    let two = report(LOST_LOCK, 2);
    assert_eq!(kinds(&two), vec!["livelock"], "{:?}", two.problems);
    let Problem::Livelock {
        cases,
        stuck,
        trace: steps,
        cycle,
        ..
    } = &two.problems[0]
    else {
        unreachable!()
    };
    assert_eq!(*cases, 2);
    assert_eq!(stuck.len(), 1);
    assert!(
        trace(steps).iter().any(|s| s.starts_with("work!abort")),
        "the lock goes with the aborted case: {:?}",
        trace(steps)
    );
    assert_eq!(cycle.len(), 2, "poll, again: {:?}", trace(cycle));
}

#[test]
fn improper_completion_with_one_case_and_only_with_two() {
    for cases in [1, 2] {
        let r = report(IMPROPER, cases);
        assert!(
            kinds(&r).contains(&"improper-completion"),
            "{:?}",
            r.problems
        );
        assert!(!r.sound());
    }
    let one = report(TICKS, 1);
    assert_eq!(
        one.problems,
        vec![
            Problem::DeadTransition {
                transition: "fast".into()
            },
            Problem::DeadTransition {
                transition: "sweep".into()
            }
        ],
        "one case never sees two ticks"
    );
    let two = report(TICKS, 2);
    assert_eq!(
        kinds(&two),
        vec!["improper-completion"],
        "{:?}",
        two.problems
    );
    let Problem::ImproperCompletion {
        cases, trace: t, ..
    } = &two.problems[0]
    else {
        unreachable!()
    };
    assert_eq!(*cases, 2);
    assert_eq!(t.last().map(|s| s.transition.as_str()), Some("fast"));
}

#[test]
fn deadlocks_with_one_case_and_only_with_two() {
    for cases in [1, 2] {
        let r = report(DEADLOCK, cases);
        assert_eq!(kinds(&r), vec!["deadlock"], "{:?}", r.problems);
        let Problem::Deadlock { cases: k, .. } = &r.problems[0] else {
            unreachable!()
        };
        assert_eq!(*k, 1);
    }
    assert!(report(CROSS, 1).sound());
    let two = report(CROSS, 2);
    assert_eq!(kinds(&two), vec!["deadlock"], "{:?}", two.problems);
}

#[test]
fn dead_transitions_with_one_case_and_two() {
    let source = r#"
[net]
name = "dead"
[places.in]
start = true
[places.out]
final = true
[transitions.go]
external = true
inputs = { in = 2 }
outcomes.ok = { out = 1 }
[transitions.step]
external = true
inputs = { in = 1 }
outcomes.ok = { out = 1 }
"#;
    for cases in [1, 2] {
        let r = report(source, cases);
        assert_eq!(
            r.problems,
            vec![Problem::DeadTransition {
                transition: "go".into()
            }],
            "{cases} case(s): a case never holds two tokens"
        );
        assert!(!r.sound());
    }
}

#[test]
fn aborts_and_dead_letters_end_a_case_without_breaking_soundness() {
    // A guest may abort anywhere and any firing may end in the dead-letter
    // queue: an operator's retry lets the case go on, so neither is a
    // deadlock.
    let source = r#"
[net]
name = "fork-join"
[places.start]
start = true
[places.left]
[places.right]
[places.left_done]
[places.right_done]
[places.done]
final = true
[transitions.fork]
guest = "fork.wasm"
inputs = { start = 1 }
outcomes.split = { left = 1, right = 1 }
[transitions.l]
guest = "l.wasm"
inputs = { left = 1 }
outcomes.ok = { left_done = 1 }
[transitions.r]
external = true
inputs = { right = 1 }
outcomes.ok = { right_done = 1 }
retry = { on_exhausted = "abort" }
[transitions.join]
guest = "join.wasm"
inputs = { left_done = 1, right_done = 1 }
outcomes.ok = { done = 1 }
"#;
    let r = report(source, 2);
    assert!(r.sound(), "{:?}", r.problems);
    let t = &r.runs[0].translation;
    assert!(t.net.node("r!abort").is_some() && t.net.node("r!dead-letter").is_none());
    assert!(t.net.node("l!abort").is_some() && t.net.node("l!dead-letter").is_some());
    assert!(t.net.node("l!retry").is_some() && t.net.node("!dead-letter:l:left").is_some());
}

#[test]
fn an_inconclusive_check_is_never_sound() {
    let net = Net::parse(CROSS, "net.toml").unwrap();
    let options = Options {
        max_states: 5,
        ..Options::default()
    };
    let r = check(&net, 2, &options);
    assert!(!r.sound());
    assert!(r.inconclusive(), "{:?}", r.problems);
}
