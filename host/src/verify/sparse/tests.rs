use super::*;
use crate::verify::analysis::{finish, finish_sparse};
use crate::verify::explore::StateSpace;
use crate::verify::ptnet::PtPlace;

fn place(name: String, initial: u32) -> PtPlace {
    PtPlace::new(name, initial)
}

/// A ring of `n` places holding one token, and `toggles` independent
/// two-place toggles: `n * 2^toggles` markings.
pub(crate) fn ring(n: usize, toggles: usize) -> PtNet {
    let mut net = PtNet::new("ring");
    for i in 0..n {
        net.add_place(place(format!("p{i}"), u32::from(i == 0)))
            .unwrap();
    }
    for i in 0..n {
        net.add_transition(format!("t{i}"), None, &[(i, 1)], &[((i + 1) % n, 1)])
            .unwrap();
    }
    for j in 0..toggles {
        let on = net.add_place(place(format!("on{j}"), 1)).unwrap();
        let off = net.add_place(place(format!("off{j}"), 0)).unwrap();
        net.add_transition(format!("up{j}"), None, &[(on, 1)], &[(off, 1)])
            .unwrap();
        net.add_transition(format!("down{j}"), None, &[(off, 1)], &[(on, 1)])
            .unwrap();
    }
    net
}

/// A small pseudo-random net: `seed` picks places, initial tokens, arcs
/// and weights (xorshift, so the cases are the same every run).
fn random_net(seed: u64) -> PtNet {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let places = 2 + next(5) as usize;
    let mut net = PtNet::new("random");
    for p in 0..places {
        net.add_place(place(format!("p{p}"), next(3) as u32))
            .unwrap();
    }
    for t in 0..1 + next(6) {
        let arcs = |next: &mut dyn FnMut(u64) -> u64| {
            (0..next(3))
                .map(|_| (next(places as u64) as usize, 1 + next(2) as u32))
                .collect::<Vec<_>>()
        };
        let inputs = arcs(&mut next);
        let outputs = arcs(&mut next);
        net.add_transition(format!("t{t}"), None, &inputs, &outputs)
            .unwrap();
    }
    net
}

fn small() -> Options {
    Options {
        max_states: 5_000,
        ..Options::default()
    }
}

#[test]
fn agrees_with_the_packed_engine_on_random_nets() {
    for seed in 0..300 {
        let net = random_net(seed);
        let packed = finish(StateSpace::explore(&net, &small(), &mut ()), &small());
        let sparse = finish_sparse(SparseSpace::explore(&net, &small(), &mut ()), &small());
        if packed.answers.states.is_none() {
            // Stopped early: the engines order successors differently, so
            // they stop at different markings; boundedness still agrees.
            assert!(sparse.answers.states.is_none(), "seed {seed}: {net:?}");
            assert_eq!(
                packed.answers.bounded, sparse.answers.bounded,
                "seed {seed}"
            );
            continue;
        }
        assert_eq!(packed.answers, sparse.answers, "seed {seed}: {net:?}");
        assert_eq!(
            packed.dead_transitions, sparse.dead_transitions,
            "seed {seed}"
        );
        if let (Some(a), Some(b)) = (&packed.deadlock_trace, &sparse.deadlock_trace) {
            assert_eq!(a.len(), b.len(), "seed {seed}: shortest traces");
        }
    }
}

#[test]
fn a_ring_with_toggles_answers_in_full() {
    let net = ring(1000, 3);
    let a = finish_sparse(
        SparseSpace::explore(&net, &Options::default(), &mut ()),
        &Options::default(),
    );
    assert_eq!(a.answers.states, Some(8000));
    assert_eq!(a.answers.edges, Some(8000 * 4));
    assert_eq!(a.answers.live, Some(true));
    assert_eq!(a.answers.one_safe, Some(true));
    assert_eq!(a.answers.max_token_per_marking, Some(4));
    assert!(
        a.cost.marking_bytes < 8,
        "a few bytes a marking: {}",
        a.cost.marking_bytes
    );
}

#[test]
fn stops_at_the_memory_bound_instead_of_growing_past_it() {
    let net = ring(100, 12);
    let options = Options {
        max_memory: 16 << 20,
        ..Options::default()
    };
    let space = SparseSpace::explore(&net, &options, &mut ());
    assert_eq!(space.summary.stop, Stop::Memory);
    assert!(
        space.summary.peak_bytes <= 16 << 20,
        "{}",
        space.summary.peak_bytes
    );
    assert!(space.states() > 10_000);
    let a = finish_sparse(space, &options);
    assert!(a.answers.inconclusive.unwrap().contains("--max-memory"));
}

#[test]
fn resets_empty_places_and_do_not_fake_a_pump() {
    // `work` loops forever adding to `log`, but `reset` empties it each
    // round: bounded. `leak` adds to `heap`, never emptied: unbounded.
    let mut net = PtNet::new("resets");
    let work = net.add_place(place("work".into(), 1)).unwrap();
    let log = net.add_place(place("log".into(), 0)).unwrap();
    let idle = net.add_place(place("idle".into(), 0)).unwrap();
    net.add_transition("write", None, &[(work, 1)], &[(idle, 1), (log, 1)])
        .unwrap();
    net.add_resetting_transition("reset", None, &[(idle, 1)], &[(work, 1), (log, 1)], &[log])
        .unwrap();
    let space = SparseSpace::explore(&net, &Options::default(), &mut ());
    assert_eq!(space.summary.stop, Stop::Complete);
    assert_eq!(
        space.states(),
        4,
        "{{work}}, {{idle, log}}, {{work, log}}, {{idle, log×2}}"
    );
    let heap = net.add_place(place("heap".into(), 0)).unwrap();
    net.add_transition("leak", None, &[(work, 1)], &[(work, 1), (heap, 1)])
        .unwrap();
    let space = SparseSpace::explore(&net, &Options::default(), &mut ());
    assert!(
        matches!(space.summary.stop, Stop::Unbounded { .. }),
        "{:?}",
        space.summary.stop
    );
    let a = finish_sparse(space, &Options::default());
    assert_eq!(a.answers.bounded, Some(false));
    assert_eq!(
        a.unbounded.iter().map(|u| u.place).collect::<Vec<_>>(),
        vec![heap]
    );
}

#[test]
fn traces_are_shortest_and_replay() {
    let net = ring(50, 2);
    let space = SparseSpace::explore(&net, &Options::default(), &mut ());
    for s in [1, 57, 150, space.states() as StateId - 1] {
        let trace = space.trace(s);
        let mut m = net.initial_marking();
        for &t in &trace {
            assert!(net.enabled(&m, t));
            net.fire(&mut m, t).unwrap();
        }
        assert_eq!(m, space.marking(s));
        assert!(trace.len() <= 49 + 2);
    }
}
