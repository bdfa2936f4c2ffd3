//! Crash safety: the real binary is killed with SIGKILL at random moments
//! while it fires, restarted, and run to completion. Every case must end with
//! exactly its expected tokens (none lost, none duplicated), every firing
//! must be logged exactly once, and replay must agree with the store. The
//! same on sled and on PostgreSQL (`PETREL_TEST_POSTGRES`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Rng, order_case, order_net, order_token, petrel, petrel_bin, with_store};

const CASES: u64 = 200;

#[test]
fn sigkill_at_random_moments_never_loses_or_duplicates_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    sigkill_run(&["--data", data.to_str().unwrap()], 10);
}

#[test]
fn sigkill_at_random_moments_never_loses_or_duplicates_a_token_on_postgres() {
    let Some(schema) = crate::postgres::scratch() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    // A run connects and loads before it fires: kill it later than sled's.
    let store = ["--store", schema.url(), "--data", cache.to_str().unwrap()];
    sigkill_run(&store, 25);
}

/// Starts the cases, kills `petrel run` at random moments, then checks
/// every case, its history and replay; `store` names the store (`--data
/// DIR` or `--store URL --data DIR`). A kill comes `min_ms` to 5 × `min_ms`
/// after a run starts.
fn sigkill_run(store: &[&str], min_ms: u64) {
    let run = |args: &[&str]| petrel(&with_store(args, store));
    let net = order_net();
    for i in 0..CASES {
        let (amount, items, _, _) = order_case(i);
        let id = format!("o-{i}");
        run(&[
            "start",
            net.to_str().unwrap(),
            "--case",
            &id,
            "--token",
            &order_token(&id, amount, items),
        ])
        .expect_code(0);
    }

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    // Kill runs until one finishes on its own (all work done) or time is up.
    while Instant::now() < deadline {
        let mut child = Command::new(petrel_bin())
            .args(with_store(&["run", "--max-firings", "400"], store))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(min_ms + rng.next() % (4 * min_ms)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
        } else {
            let status = child.wait().unwrap();
            assert!(status.code().is_some(), "seed {seed}: run died: {status:?}");
            if kills > 0 && rng.next().is_multiple_of(4) {
                break;
            }
        }
    }
    eprintln!("killed {kills} runs");
    assert!(
        kills > 0,
        "seed {seed}: no run was killed mid-flight; the test proved nothing"
    );

    run(&["run"]).expect_code(0);
    let marking = run(&["marking", "--format", "json"]).expect_code(0).json();
    let cases = marking["cases"].as_array().unwrap();
    let mut abandoned = 0;
    assert_eq!(cases.len() as u64, CASES);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let i: u64 = id[2..].parse().unwrap();
        let (_, _, place, firings) = order_case(i);
        let tokens = case["tokens"].as_array().unwrap();
        assert_eq!(case["status"], "completed", "seed {seed}: {case}");
        assert_eq!(tokens.len(), 1, "seed {seed}: case {id} tokens {tokens:?}");
        assert_eq!(tokens[0]["place"], place, "seed {seed}: case {id}");
        assert_eq!(tokens[0]["payload"]["order_id"], id, "seed {seed}");

        let history = run(&["history", "--case", id, "--format", "json"])
            .expect_code(0)
            .json();
        let completed = history["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "firing_completed")
            .count();
        assert_eq!(
            completed, firings,
            "seed {seed}: case {id} logged {completed} firings: {history}"
        );
        abandoned += history["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "firing_abandoned")
            .count();
    }
    eprintln!("{abandoned} firings were cut off by a kill and ran again");
    let shared = marking["shared"].as_array().unwrap();
    assert_eq!(
        shared.len(),
        1,
        "seed {seed}: exactly one reviewer token: {shared:?}"
    );
    assert_eq!(shared[0]["payload"]["name"], "ana");
    run(&["replay", "--verify"]).expect_code(0);
}
