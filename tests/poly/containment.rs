//! The sandbox holds Python and TypeScript guests as it holds Rust ones.
//! `tests/guests/hostile-{py,js}` try files, sockets, the environment, the
//! clock, randomness, a language model they are not given, an endless loop,
//! unbounded memory and decisions the net does not allow. Each attempt is
//! refused at deploy (a component importing `llm` where the net does not
//! grant it), harmless (the guest sees nothing real), or one failed
//! firing with a typed error; no token is lost.

use serde_json::Value;

use crate::util::{build_once, now_ms, petrel, petrel_env, repo};

/// How one attempt ends.
enum End {
    /// A failed firing, dead-lettered (no retries) with this error: the
    /// `error` field, or the `kind` of a guest failure.
    Fails(&'static str),
    /// The guest fired `done`; what it saw (`got`) passes the check, given
    /// when (ms since the epoch) the run began.
    Fires(fn(&Value, u64) -> bool),
}

use End::{Fails, Fires};

/// What each attempt must end as, by language.
fn expected(lang: &str) -> Vec<(&'static str, End)> {
    let shared = [
        ("spin", Fails("deadline")),
        ("memory", Fails("memory_cap")),
        ("undeclared_outcome", Fails("undeclared_outcome")),
        ("wrong_place", Fails("wrong_place")),
        ("too_many_tokens", Fails("wrong_count")),
        ("not_msgpack", Fails("not_message_pack")),
    ];
    let mut ends = match lang {
        // componentize-py --stub-wasi: every WASI call traps.
        "py" => vec![
            ("files", Fails("trap")),
            ("list_dir", Fails("trap")),
            ("sockets", Fails("trap")),
            ("clock", Fails("trap")),
            ("os_random", Fails("trap")),
            ("env", Fires(|got, _| got == &serde_json::json!({}))),
            ("random", Fires(|got, _| got.is_f64())),
            ("llm", Fails("guest")),
        ],
        // componentize-js, every feature disabled: no such APIs, or frozen.
        _ => vec![
            ("files", Fires(|got, _| got == "no require")),
            ("list_dir", Fires(|got, _| got == "no filesystem API")),
            ("sockets", Fails("trap")),
            ("env", Fires(|got, _| got == "no process")),
            // Frozen when the component was built, before this test ran it.
            (
                "clock",
                Fires(|got, ran| got.as_u64().is_some_and(|ms| ms < ran)),
            ),
            ("random", Fires(|got, _| got.is_f64())),
            ("os_random", Fires(|got, _| got.is_array())),
            (
                "llm",
                Fires(|got, _| {
                    got.as_str()
                        .is_some_and(|s| s.contains("no language model is configured"))
                }),
            ),
        ],
    };
    ends.extend(shared);
    ends
}

fn contained(lang: &str) {
    let net = format!("tests/guests/hostile-{lang}.toml");
    build_once(&net);
    let net = repo().join(&net);
    let net = net.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let ends = expected(lang);
    // One case per attempt, and a second case of each harmless attempt that
    // could differ per firing (`_again`).
    let again = ["random", "os_random", "clock"].map(|w| (w, format!("{w}_again")));
    let cases = ends
        .iter()
        .map(|(what, _)| (*what, what.to_string()))
        .chain(again);
    for (what, case) in cases {
        petrel(&[
            "start",
            net,
            "--data",
            data,
            "--case",
            &case,
            "--token",
            &format!("start_{what}=1"),
        ])
        .expect_code(0);
    }
    let ran = now_ms();
    // A secret in the host's environment must not reach any guest.
    let run = petrel_env(
        &["run", "--data", data, "--format", "json"],
        &[("PETREL_CANARY", "s3cret")],
    );
    let summary = run.json();
    assert!(!run.stdout().contains("s3cret") && !run.stderr().contains("s3cret"));

    let marking = petrel(&["marking", "--data", data, "--format", "json"])
        .expect_code(0)
        .json();
    let dead = petrel(&["dlq", "list", "--data", data, "--format", "json"])
        .expect_code(0)
        .json();
    let case = |id: &str| -> &Value {
        marking["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
    };
    let fired = |id: &str| -> Option<Value> {
        let tokens = case(id)["tokens"].as_array().unwrap();
        tokens.first().map(|t| {
            assert_eq!(
                (tokens.len(), &t["place"]),
                (1, &Value::from("done")),
                "{id}: {marking}"
            );
            t["payload"]["got"].clone()
        })
    };
    for (what, end) in &ends {
        let letter = dead.as_array().unwrap().iter().find(|d| d["case"] == *what);
        match (end, letter, fired(what)) {
            (Fails(error), Some(letter), None) => {
                let e = &letter["failures"][0]["error"];
                let got = if e["error"] == "guest" {
                    &e["kind"]
                } else {
                    &e["error"]
                };
                assert_eq!(got, error, "{lang} {what}: {letter}");
                assert_eq!(letter["attempts"], 1, "{letter}");
                // Nothing lost: the dead letter holds the case's one token.
                assert_eq!(
                    letter["tokens"][0]["place"],
                    format!("start_{what}"),
                    "{letter}"
                );
            }
            (Fires(check), None, Some(got)) => {
                assert!(check(&got, ran), "{lang} {what}: the guest saw {got}");
            }
            (_, letter, got) => {
                panic!("{lang} {what}: dead letter {letter:?}, fired {got:?}\n{summary}")
            }
        }
    }
    for what in ["random", "os_random", "clock"] {
        if let (Some(a), Some(b)) = (fired(what), fired(&format!("{what}_again"))) {
            assert_eq!(
                a, b,
                "{lang} {what}: the same in every firing (not the host's)"
            );
        }
    }
    assert!(!marking.to_string().contains("s3cret"));
    petrel(&["replay", "--data", data, "--verify"]).expect_code(0);
    refused_without_the_llm_grant(lang, dir.path(), data);
}

/// The same component (built for a net that grants `llm`, so importing it)
/// is refused at deploy by a net that does not, naming the import; nothing
/// is stored. (Same data dir: the compiled component comes from its cache.)
fn refused_without_the_llm_grant(lang: &str, dir: &std::path::Path, data: &str) {
    let wasm = repo().join(format!("tests/guests/hostile-{lang}/dist/hostile.wasm"));
    let net = dir.join("ungranted.toml");
    std::fs::write(
        &net,
        format!(
            "[net]\nname = \"ungranted\"\n[places.a]\nstart = true\n[places.b]\nfinal = true\n\
             [transitions.files]\nguest = \"{}\"\ninputs = {{ a = 1 }}\noutcomes.done = {{ b = 1 }}\n",
            wasm.display()
        ),
    )
    .unwrap();
    let before = petrel(&["marking", "--data", data, "--format", "json"])
        .expect_code(0)
        .json();
    let run = petrel(&[
        "start",
        net.to_str().unwrap(),
        "--data",
        data,
        "--case",
        "c",
        "--token",
        "a=1",
    ])
    .expect_code(2);
    assert!(
        run.stderr().contains("petrel:transition/llm"),
        "{}",
        run.stderr()
    );
    let after = petrel(&["marking", "--data", data, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(before, after, "a refused deploy changes nothing");
}

#[test]
fn hostile_python_guests_are_contained() {
    contained("py");
}

#[test]
fn hostile_typescript_guests_are_contained() {
    contained("js");
}
