//! Token payload checks: any bytes a guest returns as a payload are
//! accepted exactly when they are one MessagePack value (never one that
//! starts with the store's marker byte 0xC1), shown without a panic, and a
//! JSON value a client sends always becomes an accepted payload.

use petrel::engine::{check_decision, decode_payload, encode_json};
use petrel::net::Net;
use petrel::sandbox::{Fire, Token};
use std::sync::OnceLock;

const NET: &str = r#"
[net]
name = "payload"
[places.inbox]
start = true
[places.out]
final = true
[transitions.t]
guest = "t.wasm"
inputs = { inbox = 1 }
outcomes.done = { out = 1 }
"#;

fn net() -> &'static Net {
    static PARSED: OnceLock<Net> = OnceLock::new();
    PARSED.get_or_init(|| Net::parse(NET, "payload.toml").expect("the payload net parses"))
}

/// Whether the host accepts `payload` as a produced token's.
fn accepted(payload: &[u8]) -> bool {
    let net = net();
    let fire = Fire {
        outcome: "done".into(),
        outputs: vec![Token {
            place: "out".into(),
            payload: payload.to_vec(),
        }],
    };
    check_decision(net, &net.transitions()[0], &fire).is_ok()
}

pub fn run(data: &[u8]) {
    // As a guest's payload.
    let ok = accepted(data);
    if let Some(expected) = super::decision::one_value(data) {
        assert_eq!(ok, expected, "{data:?}");
    }
    assert!(!ok || data.first() != Some(&0xc1));
    let shown = decode_payload(data);
    if ok && let Ok(again) = encode_json(&shown) {
        // What the API shows of an accepted payload is itself accepted.
        assert!(accepted(&again), "{data:?} shown as {shown}");
    }
    // As a client's JSON payload (`POST /v1/cases`, a work completion).
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let payload = encode_json(&value).expect("any JSON value encodes");
        assert!(accepted(&payload), "{value}");
        assert_eq!(decode_payload(&payload), value);
    }
}
