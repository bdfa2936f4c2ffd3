//! The checker on nets generated from the input: a P/T net (places,
//! initial tokens, capacities, weighted arcs, resets) explored by both
//! engines, which must agree whenever both finish; and a Petrel net file
//! (start and final places, shared places, outcomes, guests and workers,
//! retry policies) checked as a workflow for one and two cases. Never a
//! panic, and nothing called sound that is not.

#![no_main]

use libfuzzer_sys::fuzz_target;
use petrel::net::Net;
use petrel::verify::{Engine, Options, PtNet, PtPlace, analyse, check};

/// Bytes as small numbers, zero once used up.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self, n: u8) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        if n == 0 { 0 } else { b % n }
    }
}

fn options(engine: Engine) -> Options {
    Options {
        max_states: 3_000,
        max_memory: 64 << 20,
        engine,
        ..Options::default()
    }
}

fn pt_net(b: &mut Bytes<'_>) -> PtNet {
    let mut net = PtNet::new("fuzz");
    let places = 1 + usize::from(b.next(8));
    for p in 0..places {
        let capacity = (b.next(4) == 0).then(|| u32::from(b.next(4)));
        let place = PtPlace {
            capacity,
            ..PtPlace::new(format!("p{p}"), u32::from(b.next(4)))
        };
        net.add_place(place).expect("unique names");
    }
    let resets = b.next(2) == 1;
    for t in 0..usize::from(b.next(10)) {
        let arcs = |b: &mut Bytes<'_>| -> Vec<(usize, u32)> {
            (0..b.next(4))
                .map(|_| (usize::from(b.next(places as u8)), 1 + u32::from(b.next(3))))
                .collect()
        };
        let (inputs, outputs) = (arcs(b), arcs(b));
        let reset: Vec<usize> = if resets && b.next(3) == 0 {
            vec![usize::from(b.next(places as u8))]
        } else {
            Vec::new()
        };
        net.add_resetting_transition(format!("t{t}"), None, &inputs, &outputs, &reset)
            .expect("unique names, small weights");
    }
    net
}

fn net_file(b: &mut Bytes<'_>) -> String {
    let places = 2 + b.next(6);
    let mut text = String::from("[net]\nname = \"fuzz\"\n");
    for p in 0..places {
        text += &format!("[places.p{p}]\n");
        match (p, b.next(6)) {
            (0, _) => text += "start = true\n",
            (_, 0) => text += "shared = true\ninitial = 1\n",
            (_, 1 | 2) => text += "final = true\n",
            (_, 3) => text += &format!("capacity = {}\n", 1 + b.next(2)),
            _ => {}
        }
    }
    for t in 0..1 + b.next(6) {
        text += &format!("[transitions.t{t}]\n");
        text += if b.next(2) == 0 {
            "external = true\n"
        } else {
            "guest = \"g.wasm\"\n"
        };
        let inputs: Vec<String> = (0..1 + b.next(2))
            .map(|_| format!("p{} = {}", b.next(places), 1 + b.next(2)))
            .collect();
        text += &format!("inputs = {{ {} }}\n", inputs.join(", "));
        for o in 0..1 + b.next(3) {
            let outputs: Vec<String> = (0..b.next(3))
                .map(|_| format!("p{} = {}", b.next(places), 1 + b.next(2)))
                .collect();
            text += &format!("outcomes.o{o} = {{ {} }}\n", outputs.join(", "));
        }
        if b.next(3) == 0 {
            text += "retry = { on_exhausted = \"abort\" }\n";
        }
    }
    text
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    if b.next(2) == 0 {
        let net = pt_net(&mut b);
        let packed = analyse(&net, &options(Engine::Packed));
        let sparse = analyse(&net, &options(Engine::Sparse));
        if !net.has_resets() && packed.answers.states.is_some() && sparse.answers.states.is_some() {
            assert_eq!(packed.answers, sparse.answers, "{net:?}");
        }
        return;
    }
    // Invalid files (duplicate arcs, all-shared inputs...) are refused by
    // the parser with an error; the others are checked.
    let Ok(net) = Net::parse(&net_file(&mut b), "fuzz.toml") else {
        return;
    };
    for cases in [1, 2] {
        let report = check(&net, cases, &options(Engine::Auto));
        if report.sound() {
            assert!(report.problems.is_empty());
            assert!(report.runs.iter().all(|r| r.analysis.answers.inconclusive.is_none()));
        }
    }
});
