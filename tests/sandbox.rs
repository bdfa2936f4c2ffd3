//! Hostile guests, built from source: each costs one failed firing with a
//! typed error; its input token moves unchanged to a dead letter (their
//! policy allows one attempt); other cases keep firing in the same host.

use std::time::{Duration, Instant};

use petrel::engine::{Engine, EngineError, RunOptions};
use petrel::sandbox::{DeployError, GuestFailure};
use petrel::store::{CaseStatus, Event, FiringError, Owner};
use serde_json::json;

use crate::util::{guest, open_engine, order_net, write_net};

const HOSTILE_NET: &str = r#"
[net]
name = "hostile"

# A case picks one hostile guest (the tests start theirs in its `in_` place).
[places.pick]
start = true
[places.in_spin]
[places.in_grow]
[places.in_recurse]
[places.in_huge]
[places.in_undeclared]
[places.in_wrong_place]
[places.in_not_msgpack]
[places.in_panic]
[places.in_env]
[places.in_clock]
[places.in_remember]
[places.out]
final = true
[places.elsewhere]
final = true

[transitions.choose]
external = true
inputs = { pick = 1 }
outcomes.spin = { in_spin = 1 }
outcomes.grow = { in_grow = 1 }
outcomes.recurse = { in_recurse = 1 }
outcomes.huge = { in_huge = 1 }
outcomes.undeclared = { in_undeclared = 1 }
outcomes.wrong_place = { in_wrong_place = 1 }
outcomes.not_msgpack = { in_not_msgpack = 1 }
outcomes.panic = { in_panic = 1 }
outcomes.env = { in_env = 1 }
outcomes.clock = { in_clock = 1 }
outcomes.remember = { in_remember = 1 }

[transitions.spin]
guest = "GUEST(hostile)"
inputs = { in_spin = 1 }
outcomes.out = { out = 1 }
timeout_ms = 300
# Enough fuel that the wall-clock deadline is what stops it.
fuel = 1_000_000_000_000

[transitions.grow]
guest = "GUEST(hostile)"
inputs = { in_grow = 1 }
outcomes.out = { out = 1 }
memory_mb = 16

[transitions.recurse]
guest = "GUEST(hostile)"
inputs = { in_recurse = 1 }
outcomes.out = { out = 1 }

[transitions.huge]
guest = "GUEST(hostile)"
inputs = { in_huge = 1 }
outcomes.out = { out = 1 }
memory_mb = 400

[transitions.undeclared]
guest = "GUEST(hostile)"
inputs = { in_undeclared = 1 }
outcomes.out = { out = 1 }

[transitions.wrong_place]
guest = "GUEST(hostile)"
inputs = { in_wrong_place = 1 }
outcomes.out = { out = 1 }

[transitions.not_msgpack]
guest = "GUEST(hostile)"
inputs = { in_not_msgpack = 1 }
outcomes.out = { out = 1 }

[transitions.panic]
guest = "GUEST(hostile)"
inputs = { in_panic = 1 }
outcomes.out = { out = 1 }

[transitions.env]
guest = "GUEST(hostile)"
inputs = { in_env = 1 }
outcomes.out = { out = 1 }

[transitions.clock]
guest = "GUEST(hostile)"
inputs = { in_clock = 1 }
outcomes.out = { out = 1 }

[transitions.remember]
guest = "GUEST(hostile)"
inputs = { in_remember = 1 }
outcomes.out = { out = 1 }
"#;

/// The hostile net, each transition allowed a single attempt.
fn hostile_net() -> String {
    HOSTILE_NET.replace(
        "outcomes.out = { out = 1 }\n",
        "outcomes.out = { out = 1 }\nretry = { max_attempts = 1 }\n",
    )
}

fn failure_of(engine: &Engine, case: &str) -> FiringError {
    let events = engine.store().events(Some(case), 0, usize::MAX).unwrap();
    let failures: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::FiringFailed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures.len(),
        1,
        "case {case}: expected exactly one failed firing, log: {events:#?}"
    );
    failures[0].clone()
}

fn payload_of_out(engine: &Engine, case: &str) -> serde_json::Value {
    let tokens = engine.store().tokens(&Owner::Case(case.into())).unwrap();
    assert_eq!(tokens.len(), 1, "case {case}: {tokens:?}");
    assert_eq!(tokens[0].place, "out");
    petrel::engine::decode_payload(&tokens[0].payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_guests_cost_one_failed_firing_each_and_keep_their_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path()).await;
    let net = write_net(dir.path(), "hostile.toml", &hostile_net());
    let hostile = engine.deploy(&net).await.unwrap();
    let orders = engine.deploy(&order_net()).await.unwrap();

    let hostile_cases = [
        "spin",
        "grow",
        "recurse",
        "huge",
        "undeclared",
        "wrong_place",
        "not_msgpack",
        "panic",
        "env",
        "clock",
    ];
    for name in hostile_cases {
        let token = (format!("in_{name}"), json!({ "case": name }));
        engine
            .start_case(&hostile.version, name, vec![token])
            .await
            .unwrap();
    }
    let order = json!({ "order_id": "o-1", "customer": "ada", "amount_cents": 100, "items": 1 });
    engine
        .start_case(&orders.version, "order", vec![("submitted".into(), order)])
        .await
        .unwrap();

    let started = Instant::now();
    let summary = engine.run(RunOptions::default()).await.unwrap();
    let elapsed = started.elapsed();
    // The spinning guest is stopped at its 300 ms deadline (plus scheduling
    // margin on a loaded 2-core machine), not after the 5 s default.
    assert!(elapsed < Duration::from_secs(3), "run took {elapsed:?}");
    assert_eq!(summary.failed, 8, "{summary:?}");

    let store = engine.store();
    let spin = failure_of(&engine, "spin");
    assert!(
        matches!(
            spin,
            FiringError::Guest(GuestFailure::Deadline { timeout_ms: 300 })
        ),
        "{spin:?}"
    );
    assert!(matches!(
        failure_of(&engine, "grow"),
        FiringError::Guest(GuestFailure::MemoryCap { memory_mb: 16 })
    ));
    assert!(matches!(
        failure_of(&engine, "recurse"),
        FiringError::Guest(GuestFailure::Trap { .. })
    ));
    match failure_of(&engine, "huge") {
        FiringError::Guest(GuestFailure::OutputTooLarge { bytes, cap }) => {
            // Refused while lifting, past the call's copy budget (about
            // twice the cap), before the 100 MB were copied into the host.
            assert!(bytes > 2 * cap && bytes < 100_000_000, "{bytes}");
            assert_eq!(cap, 1024 * 1024);
        }
        other => panic!("huge: {other:?}"),
    }
    assert_eq!(
        failure_of(&engine, "undeclared").to_string(),
        "undeclared outcome `no_such_outcome` (declared outcomes: out)"
    );
    assert_eq!(
        failure_of(&engine, "wrong_place").to_string(),
        "outcome `out` does not produce into place `elsewhere` (its places: out)"
    );
    assert_eq!(
        failure_of(&engine, "not_msgpack").to_string(),
        "the payload produced into `out` is not one MessagePack value: wrong msgpack marker Reserved"
    );
    match failure_of(&engine, "panic") {
        FiringError::Guest(GuestFailure::Trap { message }) => {
            assert!(message.contains("wasm trap"), "{message}")
        }
        other => panic!("panic: {other:?}"),
    }

    // Each failed case's input token lies unchanged in its dead letter, and
    // the case is stuck.
    let letters = engine.dead_letters().unwrap();
    for name in [
        "spin",
        "grow",
        "recurse",
        "huge",
        "undeclared",
        "wrong_place",
        "not_msgpack",
        "panic",
    ] {
        assert!(store.tokens(&Owner::Case(name.into())).unwrap().is_empty());
        let letter = letters.iter().find(|d| d.case == name).unwrap();
        let tokens = &letter.tokens;
        assert_eq!(
            (tokens.len(), letter.attempts),
            (1, 1),
            "{name}: {letter:?}"
        );
        assert_eq!(tokens[0].place, format!("in_{name}"));
        assert_eq!(
            petrel::engine::decode_payload(&tokens[0].payload),
            json!({ "case": name })
        );
        assert_eq!(
            store.case(name).unwrap().unwrap().status,
            CaseStatus::Stuck,
            "{name}"
        );
    }

    // The deny-all WASI context: no environment, no arguments.
    assert_eq!(
        payload_of_out(&engine, "env"),
        json!({ "vars": [], "args": [] })
    );
    // The clock is frozen at the firing's start, which lies within this test.
    let clock = payload_of_out(&engine, "clock");
    let now_ms = clock["now_unix_ms"]
        .as_u64()
        .expect("clock payload has now_unix_ms");
    let test_start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - elapsed.as_millis() as u64
        - 60_000;
    assert!(now_ms > test_start, "{clock}");

    // The order case in the same host completed meanwhile.
    assert_eq!(
        store.case("order").unwrap().unwrap().status,
        CaseStatus::Completed
    );
    assert!(
        petrel::store::replay(store.as_ref())
            .unwrap()
            .mismatches
            .is_empty()
    );
}

const ONE_GUEST: &str = r#"
[net]
name = "one"
[places.a]
start = true
[places.b]
final = true
[transitions.t]
guest = "GUEST_PATH"
inputs = { a = 1 }
outcomes.done = { b = 1 }
CAPS
"#;

async fn deploy_one(
    engine: &Engine,
    dir: &std::path::Path,
    guest_path: &str,
    caps: &str,
) -> Result<String, EngineError> {
    let text = ONE_GUEST
        .replace("GUEST_PATH", guest_path)
        .replace("CAPS", caps);
    let file = dir.join(format!("one-{}.toml", text.len()));
    std::fs::write(&file, text).unwrap();
    engine.deploy(&file).await.map(|d| d.version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_importing_what_is_not_granted_are_refused_at_deploy() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path()).await;
    let path = |name: &str| guest(name).display().to_string();

    let err = deploy_one(&engine, dir.path(), &path("hostile_fs"), "")
        .await
        .unwrap_err();
    match &err {
        EngineError::Deploy(DeployError::ForbiddenImport {
            import, transition, ..
        }) => {
            assert!(import.starts_with("wasi:filesystem/"), "{err}");
            assert_eq!(transition, "t");
        }
        other => panic!("hostile_fs: {other}"),
    }
    let err = deploy_one(&engine, dir.path(), &path("hostile_socket"), "")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Deploy(DeployError::ForbiddenImport { import, .. }) if import.starts_with("wasi:sockets/")),
        "{err}"
    );
    let err = deploy_one(&engine, dir.path(), &path("llm_echo"), "")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Deploy(DeployError::NotGranted { import, capability: "llm", .. }) if import.starts_with("petrel:transition/llm")),
        "{err}"
    );
    assert!(
        err.to_string().contains("add `capabilities = [\"llm\"]`"),
        "{err}"
    );
    // Granted, the same component deploys.
    deploy_one(
        &engine,
        dir.path(),
        &path("llm_echo"),
        "capabilities = [\"llm\"]",
    )
    .await
    .unwrap();

    let err = deploy_one(&engine, dir.path(), "no-such.wasm", "")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::Deploy(DeployError::Read { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("no-such.wasm"), "{err}");
    // Nothing refused was stored.
    assert_eq!(engine.store().nets().unwrap().len(), 1);
}

/// Pool slots keep their pages resident between instances: each instance
/// must still start from the component's pristine memory, with nothing a
/// previous firing left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_instance_never_sees_a_previous_firings_memory() {
    use petrel::sandbox::{Determinism, Firing, Sandbox, SandboxConfig, Token};
    let dir = tempfile::tempdir().unwrap();
    let net = write_net(dir.path(), "hostile.toml", HOSTILE_NET);
    let net = petrel::Net::load(&net).unwrap();
    let remember = net
        .transitions()
        .iter()
        .find(|t| t.name == "remember")
        .expect("the hostile net has `remember`");
    // One slot: every call reuses the slot (and pages) of the one before.
    let sandbox = Sandbox::new(SandboxConfig {
        instance_slots: 1,
        cache_dir: None,
        ..SandboxConfig::default()
    })
    .unwrap();
    let guest = sandbox.load(remember).unwrap();
    let firing = Firing {
        net: "hostile".into(),
        version: "v".into(),
        transition: "remember".into(),
        case_id: "c".into(),
        attempt: 1,
        inputs: vec![Token {
            place: "in_remember".into(),
            payload: rmp_serde::to_vec_named(&json!({})).unwrap(),
        }],
        compensating: None,
    };
    let det = Determinism {
        now_unix_ms: 0,
        seed: [1; 32],
    };
    for call in 1..=5 {
        let result = sandbox.call(&guest, &firing, det).await;
        let petrel::sandbox::Decision::Fire(fire) = result.decision.expect("decides") else {
            panic!("call {call}: expected a fire decision");
        };
        let seen = petrel::engine::decode_payload(&fire.outputs[0].payload);
        assert_eq!(seen, json!({ "calls": 1 }), "call {call}");
    }
}
