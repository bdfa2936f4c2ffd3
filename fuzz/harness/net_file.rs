//! The net file parser: any text is a net or an error naming the file,
//! never a panic; an accepted net stays within the host's ceilings and its
//! `on_timeout` outcomes produce only what they consume.

use petrel::limits::HostLimits;
use petrel::net::{Net, Transition};

/// Ceilings small enough that fuzzed inputs reach them.
fn small() -> HostLimits {
    HostLimits {
        timeout_ms: 10_000,
        fuel: 1_000_000,
        memory_mb: 16,
        max_output_kb: 64,
        max_attempts: 5,
        llm_request_kb: 8,
        places: 16,
        transitions: 16,
        arcs: 64,
        initial_tokens: 32,
        ..HostLimits::default()
    }
}

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for limits in [HostLimits::default(), small()] {
        match Net::parse_within(text, "fuzz.toml", &limits) {
            Ok(net) => accepted(&net, &limits),
            Err(e) => assert!(e.to_string().starts_with("fuzz.toml"), "{e}"),
        }
    }
}

fn accepted(net: &Net, limits: &HostLimits) {
    assert!(net.places().len() <= limits.places as usize);
    assert!(net.transitions().len() <= limits.transitions as usize);
    let initial: usize = net.places().iter().map(|p| p.initial.len()).sum();
    assert!(initial as u64 <= limits.initial_tokens);
    let arcs: usize = net
        .transitions()
        .iter()
        .map(|t| t.inputs.len() + t.outcomes.iter().map(|o| o.outputs.len()).sum::<usize>())
        .sum();
    assert!(arcs <= limits.arcs as usize);
    for t in net.transitions() {
        assert!(t.limits.timeout_ms <= limits.timeout_ms);
        assert!(t.limits.fuel <= limits.fuel);
        assert!(t.limits.memory_mb <= limits.memory_mb);
        assert!(t.limits.max_output_kb <= limits.max_output_kb);
        assert!(t.retry.max_attempts <= limits.max_attempts);
        assert!(t.llm.max_request_kb <= limits.llm_request_kb);
        for arc in t
            .inputs
            .iter()
            .chain(t.outcomes.iter().flat_map(|o| &o.outputs))
        {
            assert!(arc.place < net.places().len() && arc.weight >= 1);
        }
        conserves_on_timeout(net, t);
    }
    // What the store keeps parses back to the same net.
    let again = Net::parse_stored(net.source(), net.file(), limits).expect("a stored net parses");
    assert_eq!(again.places(), net.places());
    assert_eq!(again.transitions(), net.transitions());
}

/// The timeout route's outcome moves as many case tokens as consumed, and
/// into each shared place at most what was consumed from it.
fn conserves_on_timeout(net: &Net, t: &Transition) {
    let Some(k) = t.on_timeout else { return };
    let shared = |p: usize| net.places()[p].shared;
    let weight = |arcs: &[petrel::net::Arc], place: &dyn Fn(usize) -> bool| -> u64 {
        arcs.iter()
            .filter(|a| place(a.place))
            .map(|a| u64::from(a.weight))
            .sum()
    };
    let outputs = &t.outcomes[k].outputs;
    assert_eq!(
        weight(&t.inputs, &|p| !shared(p)),
        weight(outputs, &|p| !shared(p))
    );
    for arc in outputs.iter().filter(|a| shared(a.place)) {
        assert!(u64::from(arc.weight) <= weight(&t.inputs, &|p| p == arc.place));
    }
}
