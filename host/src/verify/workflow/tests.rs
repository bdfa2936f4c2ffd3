use super::*;

fn report(source: &str, cases: usize) -> Report {
    let net = Net::parse(source, "net.toml").unwrap();
    check(&net, cases, &Options::default())
}

fn trace(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|s| match (&s.outcome, s.action) {
            (Some(o), _) => format!("{}.{o}#{}", s.transition, s.case),
            (None, e) => format!("{}!{}#{}", s.transition, e.unwrap_or("?"), s.case),
        })
        .collect()
}

fn kinds(r: &Report) -> Vec<&'static str> {
    r.problems.iter().map(Problem::kind).collect()
}

const DEADLOCK: &str = r#"
[net]
name = "planted-deadlock"
[places.received]
start = true
[places.checked]
[places.stuck]
[places.done]
final = true
[transitions.check]
guest = "check.wasm"
inputs = { received = 1 }
outcomes.ok = { checked = 1 }
outcomes.odd = { stuck = 1 }
[transitions.finish]
guest = "finish.wasm"
inputs = { checked = 1 }
outcomes.done = { done = 1 }
"#;

#[test]
fn finds_a_planted_deadlock_with_its_shortest_trace() {
    let r = report(DEADLOCK, 1);
    let Problem::Deadlock {
        cases,
        trace: steps,
        marking,
    } = &r.problems[0]
    else {
        panic!("{:?}", r.problems)
    };
    assert_eq!(*cases, 1);
    assert_eq!(trace(steps), vec!["check.odd#1"]);
    assert_eq!(
        marking,
        &vec![Tokens {
            place: "stuck".into(),
            case: Some(1),
            tokens: 1,
            dead_letter: None,
        }]
    );
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    let a = r.answers();
    assert_eq!(
        (a.states, a.deadlock, a.bounded),
        (Some(7), Some(true), Some(true)),
        "received, checked, stuck, done, aborted, and each input dead-lettered"
    );
    assert!(!r.sound());
}

const IMPROPER: &str = r#"
[net]
name = "improper"
[places.received]
start = true
[places.audit]
[places.done]
final = true
[transitions.triage]
guest = "triage.wasm"
inputs = { received = 1 }
outcomes.simple = { done = 1 }
outcomes.audited = { done = 1, audit = 1 }
[transitions.archive]
guest = "archive.wasm"
inputs = { audit = 1 }
outcomes.kept = { done = 1 }
"#;

#[test]
fn finds_an_improper_completion_with_its_shortest_trace() {
    let r = report(IMPROPER, 1);
    let p = r
        .problems
        .iter()
        .find(|p| p.kind() == "improper-completion")
        .expect("found");
    let Problem::ImproperCompletion {
        case,
        place,
        trace: steps,
        ..
    } = p
    else {
        unreachable!()
    };
    assert_eq!((*case, place.as_str()), (1, "done"));
    assert_eq!(trace(steps), vec!["triage.audited#1"]);
}

const UNBOUNDED: &str = r#"
[net]
name = "retry-log"
[places.work]
start = true
[places.log]
[places.done]
final = true
[transitions.attempt]
guest = "attempt.wasm"
inputs = { work = 1 }
outcomes.retry = { work = 1, log = 1 }
outcomes.ok = { done = 1 }
[transitions.flush]
guest = "flush.wasm"
inputs = { log = 1, done = 1 }
outcomes.flushed = { done = 1 }
"#;

#[test]
fn finds_an_unbounded_place_with_a_pumping_sequence() {
    let r = report(UNBOUNDED, 1);
    let p = r
        .problems
        .iter()
        .find(|p| p.kind() == "unbounded")
        .expect("found");
    let Problem::Unbounded {
        place,
        case,
        prefix,
        pump,
        ..
    } = p
    else {
        unreachable!()
    };
    assert_eq!((place.as_str(), *case), ("log", Some(1)));
    assert!(prefix.is_empty(), "{prefix:?}");
    assert_eq!(trace(pump), vec!["attempt.retry#1"]);
    assert_eq!(r.answers().bounded, Some(false));
    assert!(r.answers().inconclusive.is_some());
}

const CROSS: &str = r#"
[net]
name = "two-locks"
[places.request]
start = true
[places.a_first]
[places.b_first]
[places.has_a]
[places.has_b]
[places.both]
[places.done]
final = true
[places.lock_a]
shared = true
initial = 1
[places.lock_b]
shared = true
initial = 1
[transitions.plan]
guest = "plan.wasm"
inputs = { request = 1 }
outcomes.a = { a_first = 1 }
outcomes.b = { b_first = 1 }
[transitions.take_a]
guest = "take.wasm"
inputs = { a_first = 1, lock_a = 1 }
outcomes.taken = { has_a = 1 }
[transitions.then_b]
guest = "take.wasm"
inputs = { has_a = 1, lock_b = 1 }
outcomes.taken = { both = 1 }
[transitions.take_b]
guest = "take.wasm"
inputs = { b_first = 1, lock_b = 1 }
outcomes.taken = { has_b = 1 }
[transitions.then_a]
guest = "take.wasm"
inputs = { has_b = 1, lock_a = 1 }
outcomes.taken = { both = 1 }
[transitions.release]
guest = "release.wasm"
inputs = { both = 1 }
outcomes.released = { done = 1, lock_a = 1, lock_b = 1 }
"#;

#[test]
fn one_case_is_fine_but_two_cases_deadlock_on_shared_locks() {
    let one = report(CROSS, 1);
    assert!(one.problems.is_empty(), "{:?}", one.problems);
    let two = report(CROSS, 2);
    assert_eq!(two.problems.len(), 1, "{:?}", two.problems);
    let Problem::Deadlock {
        cases,
        trace: steps,
        marking,
    } = &two.problems[0]
    else {
        panic!("{:?}", two.problems)
    };
    assert_eq!(*cases, 2);
    // Four steps either way: each case holds one lock and waits for the
    // other, or a case aborts holding `lock_a` (it goes with the case's
    // token) and the other waits for it forever.
    assert_eq!(steps.len(), 4, "{:?}", trace(steps));
    assert!(
        marking.iter().any(|t| t.case == Some(2)),
        "case 2 is stuck: {marking:?}"
    );
}

#[test]
fn reports_dead_transitions_and_dead_outcomes() {
    let source = r#"
[net]
name = "dead"
[places.in]
start = true
[places.out]
final = true
[places.never]
[transitions.go]
guest = "go.wasm"
inputs = { in = 2 }
outcomes.ok = { out = 1 }
[transitions.step]
guest = "step.wasm"
inputs = { in = 1 }
outcomes.ok = { out = 1 }
outcomes.odd = { out = 1, never = 1 }
[transitions.idle]
guest = "idle.wasm"
inputs = { never = 1, in = 1 }
outcomes.ok = { out = 1 }
"#;
    let r = report(source, 1);
    let kinds: Vec<String> = r
        .problems
        .iter()
        .filter_map(|p| match p {
            Problem::DeadTransition { transition } => Some(transition.clone()),
            Problem::DeadOutcome {
                transition,
                outcome,
            } => Some(format!("{transition}.{outcome}")),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec!["go", "idle"]);
}

#[test]
fn translation_replicates_case_places_and_shares_resources() {
    let net = Net::parse(CROSS, "net.toml").unwrap();
    let t = translate(&net, 2);
    let names: Vec<&str> = t.net.places().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(&names[..3], &["request#1", "request#2", "a_first#1"]);
    assert!(names.contains(&"lock_a") && !names.contains(&"lock_a#1"));
    assert_eq!(
        t.net.initial_marking().iter().sum::<u32>(),
        4,
        "two requests, two locks"
    );
    assert_eq!(t.net.transitions()[0].name, "plan.a#1");
    // Per case: 7 outcomes, and an abort, a dead letter and a retry per guest.
    assert_eq!(t.origins.len(), 2 * (7 + 6 + 6 + 6));
    assert!(t.net.node("plan!abort#2").is_some());
    assert!(t.net.node("release!dead-letter#1").is_some());
}

#[test]
fn the_examples_pass_clean() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for example in ["refund", "order-approval"] {
        let net = Net::load(root.join(example).join("net.toml")).unwrap();
        for cases in [1, 2, 3] {
            let r = check(&net, cases, &Options::default());
            assert!(
                r.problems.is_empty(),
                "{example} with {cases} cases: {:?}",
                r.problems
            );
            assert!(r.sound(), "{example} with {cases} cases");
            assert_eq!(r.answers().bounded, Some(true));
        }
    }
}

/// The issue's net: after `t0→go` a case loops between `ping` and `pong`
/// and can never reach `done`.
pub(crate) const LIVELOCK: &str = r#"
[net]
name = "livelock"
[places.start]
start = true
[places.a]
[places.b]
[places.done]
final = true
[transitions.t0]
external = true
inputs = { start = 1 }
outcomes.go = { a = 1 }
outcomes.finish = { done = 1 }
[transitions.ping]
external = true
inputs = { a = 1 }
outcomes.go = { b = 1 }
[transitions.pong]
external = true
inputs = { b = 1 }
outcomes.go = { a = 1 }
"#;

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
