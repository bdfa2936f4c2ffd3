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

mod planted;
mod regions;
