//! The instance pool fits the biggest guests: a componentize-py component
//! instantiates 38 core modules, and the pool once kept 8 per slot (2 slots
//! held none, 64 held 13). Regression test named after that.

use petrel::Net;
use petrel::sandbox::{Determinism, Firing, Sandbox, SandboxConfig, Token};

use crate::util::{build_once, repo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pool_slots_hold_python_guests() {
    build_once("tests/guests/hostile-py.toml");
    let wasm = repo().join("tests/guests/hostile-py/dist/hostile.wasm");
    let net = Net::parse(
        &format!(
            "[net]\nname = \"pool\"\n[places.a]\nstart = true\n[places.b]\nfinal = true\n\
             [transitions.random]\nguest = \"{}\"\ninputs = {{ a = 1 }}\noutcomes.done = {{ b = 1 }}\n\
             capabilities = [\"llm\"]\n",
            wasm.display()
        ),
        repo().join("pool.toml"),
    )
    .unwrap();
    let sandbox = Sandbox::new(SandboxConfig {
        instance_slots: 2,
        // Kept between test runs, like a data dir's cache.
        cache_dir: Some(repo().join("target/petrel-test-cache/compiled")),
        ..SandboxConfig::default()
    })
    .unwrap();
    let guest = sandbox.load(&net.transitions()[0]).unwrap();
    let firing = Firing {
        net: "pool".into(),
        version: "v".into(),
        transition: "random".into(),
        case_id: "c".into(),
        attempt: 1,
        inputs: vec![Token {
            place: "a".into(),
            payload: vec![1],
        }],
        compensating: None,
    };
    let det = Determinism {
        now_unix_ms: 0,
        seed: [1; 32],
    };
    let (a, b) = tokio::join!(
        sandbox.call(&guest, &firing, det),
        sandbox.call(&guest, &firing, det)
    );
    for result in [a, b] {
        assert!(result.decision.is_ok(), "{:?}", result.decision);
    }
}
