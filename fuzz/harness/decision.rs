//! Decision validation with arbitrary decisions: whatever outcome, places
//! and payloads a guest returns, the check accepts exactly a declared
//! outcome with exactly its arc weights per place and one MessagePack value
//! per payload, and never panics.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use petrel::engine::check_decision;
use petrel::net::Net;
use petrel::sandbox::{Fire, Token};

/// Outcomes with several places and weights, a shared place among them.
const NET: &str = r#"
[net]
name = "fuzz"
[places.inbox]
start = true
[places.pool]
shared = true
initial = 2
[places.a]
final = true
[places.b]
final = true
[transitions.t]
guest = "t.wasm"
inputs = { inbox = 1, pool = 1 }
outcomes.one = { a = 1, pool = 1 }
outcomes.two = { a = 2, b = 1, pool = 1 }
outcomes.many = { b = 7 }
"#;

fn net() -> &'static Net {
    static NET_PARSED: OnceLock<Net> = OnceLock::new();
    NET_PARSED.get_or_init(|| Net::parse(NET, "fuzz.toml").expect("the fuzz net parses"))
}

const NAMES: [&str; 6] = ["one", "two", "many", "a", "b", "pool"];

/// A name: mostly a declared one, sometimes anything.
#[derive(Debug, Arbitrary)]
enum Name {
    Known(u8),
    Other(String),
}

impl Name {
    fn get(self) -> String {
        match self {
            Name::Known(i) => NAMES[i as usize % NAMES.len()].to_string(),
            Name::Other(s) => s,
        }
    }
}

/// A payload: mostly a valid MessagePack value, sometimes any bytes.
#[derive(Debug, Arbitrary)]
enum Payload {
    Nil,
    Int(i64),
    Text(String),
    Raw(Vec<u8>),
}

impl Payload {
    fn get(self) -> Vec<u8> {
        match self {
            Payload::Nil => vec![0xc0],
            Payload::Int(n) => rmp_serde::to_vec(&n).unwrap(),
            Payload::Text(s) => rmp_serde::to_vec(&s).unwrap(),
            Payload::Raw(bytes) => bytes,
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Decision {
    outcome: Name,
    outputs: Vec<(Name, Payload)>,
}

pub fn run(data: &[u8]) {
    let Ok(decision) = Decision::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let fire = Fire {
        outcome: decision.outcome.get(),
        outputs: decision
            .outputs
            .into_iter()
            .map(|(place, payload)| Token {
                place: place.get(),
                payload: payload.get(),
            })
            .collect(),
    };
    let net = net();
    let t = &net.transitions()[0];
    let verdict = check_decision(net, t, &fire);
    if fire.outputs.iter().any(|t| one_value(&t.payload).is_none()) {
        return; // Nested past what the oracle judges.
    }
    let expected = declared_exactly(net, &fire);
    assert_eq!(verdict.is_ok(), expected, "{fire:?}: {verdict:?}");
    if let Err(e) = verdict {
        // The error is text an operator reads: it renders.
        assert!(!e.to_string().is_empty());
    }
}

/// An independent statement of the rule: a declared outcome, every token
/// in one of its places, exactly the arc weight per place, and each
/// payload one complete MessagePack value that does not start with 0xC1.
fn declared_exactly(net: &Net, fire: &Fire) -> bool {
    let t = &net.transitions()[0];
    let Some(outcome) = t.outcome(&fire.outcome) else {
        return false;
    };
    for arc in &outcome.outputs {
        let name = &net.places()[arc.place].name;
        let got = fire.outputs.iter().filter(|tok| &tok.place == name).count();
        if got != arc.weight as usize {
            return false;
        }
    }
    let in_outcome = |place: &str| {
        outcome
            .outputs
            .iter()
            .any(|a| net.places()[a.place].name == place)
    };
    fire.outputs
        .iter()
        .all(|tok| in_outcome(&tok.place) && one_value(&tok.payload).unwrap_or(false))
}

/// Whether `bytes` is exactly one MessagePack value, by the specification
/// rather than the host's decoder; `None` when nested too deep to say
/// (decoders stop at different depths).
pub fn one_value(bytes: &[u8]) -> Option<bool> {
    match item(bytes, 0) {
        Err(TooDeep) => None,
        Ok(read) => Some(read == Some(bytes.len())),
    }
}

pub struct TooDeep;

/// The length of the MessagePack item at the start of `b` (`None`:
/// invalid or truncated).
fn item(b: &[u8], depth: usize) -> Result<Option<usize>, TooDeep> {
    if depth > 500 {
        return Err(TooDeep);
    }
    let Some(&m) = b.first() else { return Ok(None) };
    let be = |n: usize| -> Option<usize> {
        let bytes = b.get(1..1 + n)?;
        Some(bytes.iter().fold(0usize, |acc, &x| (acc << 8) | x as usize))
    };
    // (header bytes, data bytes) of a leaf, or (header, items) of a container.
    let leaf = |head: usize, data: Option<usize>| data.map(|d| head + d).filter(|&n| n <= b.len());
    let seq = |head: usize, items: Option<usize>| -> Result<Option<usize>, TooDeep> {
        let Some(items) = items else { return Ok(None) };
        let mut at = head;
        for _ in 0..items {
            let Some(rest) = b.get(at..) else {
                return Ok(None);
            };
            match item(rest, depth + 1)? {
                Some(n) => at += n,
                None => return Ok(None),
            }
        }
        Ok(Some(at))
    };
    Ok(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Some(1),
        0x80..=0x8f => return seq(1, Some(2 * (m & 0x0f) as usize)),
        0x90..=0x9f => return seq(1, Some((m & 0x0f) as usize)),
        0xa0..=0xbf => leaf(1, Some((m & 0x1f) as usize)),
        0xc1 => None,
        0xc4 | 0xd9 => leaf(2, be(1)),
        0xc5 | 0xda => leaf(3, be(2)),
        0xc6 | 0xdb => leaf(5, be(4)),
        0xc7 => leaf(3, be(1)),
        0xc8 => leaf(4, be(2)),
        0xc9 => leaf(6, be(4)),
        0xca => leaf(1, Some(4)),
        0xcb => leaf(1, Some(8)),
        0xcc | 0xd0 => leaf(1, Some(1)),
        0xcd | 0xd1 => leaf(1, Some(2)),
        0xce | 0xd2 => leaf(1, Some(4)),
        0xcf | 0xd3 => leaf(1, Some(8)),
        0xd4 => leaf(2, Some(1)),
        0xd5 => leaf(2, Some(2)),
        0xd6 => leaf(2, Some(4)),
        0xd7 => leaf(2, Some(8)),
        0xd8 => leaf(2, Some(16)),
        0xdc => return seq(3, be(2)),
        0xdd => return seq(5, be(4)),
        0xde => return seq(3, be(2).map(|n| 2 * n)),
        0xdf => return seq(5, be(4).map(|n| 2 * n)),
    })
}
