//! The real binary on a PostgreSQL store (`PETREL_TEST_POSTGRES`, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`; skipped, saying so, without
//! it): migrate, start, run, read back and replay the order-approval flow
//! with `--store`, and two hosts sharing the database.

use std::path::Path;

use petrel::store::postgres::Scratch;

use crate::server::Daemon;
use crate::util::{order_net, order_token, petrel};

/// A schema of its own in the test database, or `None` (printing why).
pub fn scratch() -> Option<Scratch> {
    let Ok(admin) = std::env::var("PETREL_TEST_POSTGRES") else {
        eprintln!(
            "skipped: PETREL_TEST_POSTGRES is not set (e.g. PETREL_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test)"
        );
        return None;
    };
    Some(Scratch::new(&admin, "e2e").expect("PETREL_TEST_POSTGRES: cannot create a schema"))
}

#[test]
fn the_order_approval_flow_runs_on_postgres_through_the_cli() {
    let Some(schema) = scratch() else {
        return;
    };
    let store = schema.url();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    let text = petrel(&["migrate", "--store", store])
        .expect_code(0)
        .stdout();
    assert!(text.contains("applied version(s) 1"), "{text}");
    assert!(!text.contains("password"), "{text}");
    let text = petrel(&["migrate", "--store", store])
        .expect_code(0)
        .stdout();
    assert!(text.contains("nothing to apply"), "{text}");

    let net = order_net();
    let net = net.to_str().unwrap();
    for (case, cents) in [("o-1", 2_500), ("o-2", 900_000)] {
        let token = order_token(case, cents, 1);
        petrel(&[
            "start", net, "--store", store, "--data", cache, "--case", case, "--token", &token,
        ])
        .expect_code(0);
    }
    let summary = petrel(&["run", "--store", store, "--data", cache, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(summary["cases"]["completed"], 2, "{summary}");
    let marking = petrel(&[
        "marking", "--store", store, "--case", "o-1", "--format", "json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(
        marking["cases"][0]["tokens"][0]["place"], "approved",
        "{marking}"
    );
    let history = petrel(&[
        "history", "--store", store, "--case", "o-2", "--format", "json",
    ])
    .expect_code(0)
    .json();
    let last = history["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["type"], "case_completed", "{history}");
    let replay = petrel(&[
        "replay", "--store", store, "--data", cache, "--verify", "--format", "json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(replay["agree"], true, "{replay}");

    // Retention works on it too: the log of finished cases moves to an
    // archive file, and replay still agrees.
    let compacted = petrel(&[
        "compact",
        "--store",
        store,
        "--data",
        cache,
        "--keep-last",
        "0",
        "--format",
        "json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(compacted["cases"], 2, "{compacted}");
    let replay = petrel(&[
        "replay", "--store", store, "--data", cache, "--verify", "--format", "json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(replay["agree"], true, "{replay}");
    let history = petrel(&[
        "history",
        "--store",
        store,
        "--data",
        cache,
        "--case",
        "o-2",
        "--archive",
        "--format",
        "json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(
        history["events"].as_array().unwrap().last().unwrap()["type"],
        "case_completed",
        "{history}"
    );

    // Several hosts share a database: while `petrel serve` runs on it,
    // other commands still read it, and a second `petrel serve` joins.
    let daemon = Daemon::start(Path::new(cache), &["--store", store], &[], None);
    let marking = petrel(&[
        "marking", "--store", store, "--case", "o-1", "--format", "json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(
        marking["cases"][0]["tokens"][0]["place"], "approved",
        "{marking}"
    );
    let other = tempfile::tempdir().unwrap();
    let second = Daemon::start(other.path(), &["--store", store], &[], None);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for host in [&daemon, &second] {
        let cases = runtime.block_on(host.api.get("/v1/cases")).expect(200).body;
        assert_eq!(cases["cases"].as_array().unwrap().len(), 2, "{cases}");
    }
    // `petrel hosts` lists both, where they listen, and no case waiting.
    let hosts = petrel(&["hosts", "--store", store, "--format", "json"])
        .expect_code(0)
        .json();
    let urls: Vec<&str> = hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [daemon.api.base.as_str(), second.api.base.as_str()],
        "{hosts}"
    );
    assert_eq!(hosts["waiting"], 0, "{hosts}");
    drop(second);
    drop(daemon);
}
