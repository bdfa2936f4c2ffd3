//! The `llm` capability through the real `petrel` binary: the key's
//! hygiene, a crash between an exchange and its commit, config errors, and
//! the refund demo.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::server::{ChatServer, Reply};
use crate::util::{petrel_bin, petrel_env, with_store, write_net};

const NET: &str = r#"
[net]
name = "llm-binary"
[places.prompts]
start = true
[places.answers]
final = true

[transitions.chain]
guest = "GUEST(llm_chain)"
inputs = { prompts = 1 }
outcomes.answered = { answers = 1 }
capabilities = ["llm"]
timeout_ms = 30000
"#;

/// The variable the binary tests keep the key in.
const KEY_VAR: &str = "PETREL_TEST_LLM_KEY";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `petrel ARGS` with extra environment variables.
fn write_config(dir: &Path, url: &str, extra: &str) -> PathBuf {
    let file = dir.join("petrel.toml");
    let text = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{url}\"\nmodel = \"test-model\"\napi_key_env = \"{KEY_VAR}\"\nbackoff_initial_ms = 10\nbackoff_max_ms = 50\n{extra}"
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Files under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|f| {
            let bytes = std::fs::read(f).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .collect()
}

fn answers_of(marking: &Value, case: &str) -> Value {
    let cases = marking["cases"].as_array().unwrap();
    let c = cases.iter().find(|c| c["id"] == case).unwrap();
    c["tokens"][0]["payload"].clone()
}

#[test]
fn the_api_key_reaches_the_server_and_nowhere_else() {
    const SECRET: &str = "sk-petrel-SECRET-3f9a2c71e8d4";
    let rt = runtime();
    // A careless endpoint that echoes the Authorization header back, in an
    // error body (retried), in an answer, and in a permanent error.
    let server = rt.block_on(ChatServer::start(|prompt, before, auth| {
        let auth = auth.unwrap_or("none").to_string();
        match (prompt, before) {
            ("echo my key", 0) => {
                Reply::status(500, &format!("bad gateway; you sent Authorization: {auth}"))
            }
            ("echo my key", _) => Reply::answer(&format!("your header was {auth}")),
            _ => Reply::status(401, &format!(r#"{{"error":"invalid key in `{auth}`"}}"#)),
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let config = write_config(dir.path(), &server.url, "max_retries = 2\n");
    let config_s = config.to_str().unwrap();
    let net = write_net(dir.path(), "net.toml", NET);
    let env = [
        (KEY_VAR, SECRET),
        (
            "PETREL_LOG",
            "petrel=trace,reqwest=trace,hyper=trace,hyper_util=trace",
        ),
    ];
    let mut runs = Vec::new();
    for (case, prompt) in [("k1", "echo my key"), ("k2", "reject me")] {
        let token = format!(r#"prompts={{"prompts":["{prompt}"]}}"#);
        runs.push(
            petrel_env(
                &[
                    "start",
                    net.to_str().unwrap(),
                    "--data",
                    data_s,
                    "--config",
                    config_s,
                    "--case",
                    case,
                    "--token",
                    &token,
                ],
                &env,
            )
            .expect_code(0),
        );
    }
    runs.push(petrel_env(&["run", "--data", data_s, "--config", config_s], &env).expect_code(0));
    for case in ["k1", "k2"] {
        runs.push(petrel_env(&["history", "--data", data_s, "--case", case], &env).expect_code(0));
        runs.push(
            petrel_env(
                &[
                    "history", "--data", data_s, "--case", case, "--format", "json",
                ],
                &env,
            )
            .expect_code(0),
        );
    }
    let marking =
        petrel_env(&["marking", "--data", data_s, "--format", "json"], &env).expect_code(0);
    let answers = marking.json();
    runs.push(marking);

    // It arrived where it belongs, on every request.
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for s in &seen {
        assert_eq!(
            s.authorization.as_deref(),
            Some(&*format!("Bearer {SECRET}"))
        );
    }
    // What the guests were told is scrubbed.
    let k1 = answers_of(&answers, "k1");
    assert_eq!(
        k1["answers"][0], "your header was Bearer [redacted]",
        "{k1}"
    );
    let k2 = answers_of(&answers, "k2");
    assert_eq!(k2["error_kind"], "provider_error", "{k2}");
    assert!(k2["error"].as_str().unwrap().contains("HTTP 401"), "{k2}");
    assert!(k2["error"].as_str().unwrap().contains("[redacted]"), "{k2}");
    // Nowhere in the data dir, the output, the logs or the errors.
    assert!(
        !files_containing(&data, "your header was").is_empty(),
        "positive control: answers are stored in plain bytes"
    );
    let leaks = files_containing(dir.path(), SECRET);
    assert!(leaks.is_empty(), "the key leaked into {leaks:?}");
    for run in &runs {
        if run.stdout().contains(SECRET) || run.stderr().contains(SECRET) {
            run.fail("the key appears in the command's output or logs");
        }
    }
    let logs: String = runs.iter().map(|r| r.stderr()).collect();
    assert!(
        logs.contains("llm exchange"),
        "the trace logs were captured: {logs}"
    );
}

#[test]
fn a_crash_between_exchange_and_commit_reuses_the_journaled_answer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    journal_reuse(dir.path(), &["--data", data.to_str().unwrap()]);
}

#[test]
fn a_crash_between_exchange_and_commit_reuses_the_journaled_answer_on_postgres() {
    let Some(schema) = crate::postgres::scratch() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    journal_reuse(
        dir.path(),
        &["--store", schema.url(), "--data", cache.to_str().unwrap()],
    );
}

/// The journal test in `dir` on the store `store` names (`--data DIR`, or
/// `--store URL --data DIR`).
fn journal_reuse(dir: &Path, store: &[&str]) {
    let rt = runtime();
    // The second question hangs the first time it is asked: the process is
    // killed while the first answer is journaled and the firing uncommitted.
    let server = rt.block_on(ChatServer::start(|prompt, before, _| {
        match (prompt, before) {
            ("second question", 0) => Reply::answer("never seen").after(Duration::from_secs(60)),
            (p, _) => Reply::answer(&format!("answer to {p}")),
        }
    }));
    let config = write_config(dir, &server.url, "");
    let config_s = config.to_str().unwrap();
    let net = write_net(dir, "net.toml", NET);
    let env = [(KEY_VAR, "sk-test-crash")];
    let token = r#"prompts={"prompts":["first question","second question"]}"#;
    let start = with_store(
        &[
            "start",
            net.to_str().unwrap(),
            "--config",
            config_s,
            "--case",
            "c1",
            "--token",
            token,
        ],
        store,
    );
    petrel_env(&start, &env).expect_code(0);

    let mut child = Command::new(petrel_bin())
        .args(with_store(&["run", "--config", config_s], store))
        .env(KEY_VAR, "sk-test-crash")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.count("second question") == 0 {
        assert!(
            Instant::now() < deadline,
            "the guest never asked its second question"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "petrel run exited before the kill"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(server.count("first question"), 1);

    petrel_env(&with_store(&["run", "--config", config_s], store), &env).expect_code(0);
    assert_eq!(
        server.count("first question"),
        1,
        "the journaled answer was reused, not asked again"
    );
    assert_eq!(
        server.count("second question"),
        2,
        "the cut-off call is asked again"
    );
    let marking = petrel_env(&with_store(&["marking", "--format", "json"], store), &env)
        .expect_code(0)
        .json();
    let out = answers_of(&marking, "c1");
    assert_eq!(
        out["answers"],
        serde_json::json!(["answer to first question", "answer to second question"]),
        "{out}"
    );

    let history = petrel_env(
        &with_store(&["history", "--case", "c1", "--format", "json"], store),
        &env,
    )
    .expect_code(0)
    .json();
    let events = history["events"].as_array().unwrap();
    let of = |t: &str| events.iter().filter(|e| e["type"] == t).collect::<Vec<_>>();
    assert_eq!(of("firing_abandoned").len(), 1, "{history}");
    assert_eq!(of("firing_completed").len(), 1, "{history}");
    let exchanges = of("llm_exchange");
    assert_eq!(
        exchanges.len(),
        3,
        "first (run 1), first from the journal + second (run 2): {history}"
    );
    let replayed: Vec<_> = exchanges
        .iter()
        .filter(|e| !e["replayed_from"].is_null())
        .collect();
    assert_eq!(replayed.len(), 1, "{history}");
    assert_eq!(replayed[0]["call"], 0);
    assert_eq!(replayed[0]["replayed_from"], exchanges[0]["firing"]);
    assert_eq!(
        replayed[0]["key"], exchanges[0]["key"],
        "the re-run has the same journal key"
    );
    assert_eq!(
        replayed[0]["firing"], exchanges[0]["firing"],
        "the cut-off firing itself runs again"
    );

    // Replay rebuilds the marking from the log and never asks the model.
    let before = server.seen().len();
    petrel_env(
        &with_store(&["replay", "--config", config_s, "--verify"], store),
        &env,
    )
    .expect_code(0);
    assert_eq!(server.seen().len(), before);
}

#[test]
fn bad_config_files_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("petrel.toml");
    let data_s = data.to_str().unwrap();
    let config_s = config.to_str().unwrap();
    std::fs::write(&config, "[llm]\nprovider = \"anthropic\"\n").unwrap();
    let run = petrel_env(&["run", "--data", data_s, "--config", config_s], &[]).expect_code(2);
    let expected = format!("{config_s}:2: `llm.provider`: unknown provider `anthropic`");
    if !run.stderr().contains(&expected) {
        run.fail(&format!("expected `{expected}`"));
    }
    std::fs::write(
        &config,
        "[llm]\nmodel = \"m\"\napi_key_env = \"PETREL_TEST_UNSET_KEY_VAR\"\n",
    )
    .unwrap();
    let run = petrel_env(&["run", "--data", data_s, "--config", config_s], &[]).expect_code(2);
    let expected = format!(
        "{config_s}:3: `llm.api_key_env`: the environment variable `PETREL_TEST_UNSET_KEY_VAR` is not set"
    );
    if !run.stderr().contains(&expected) {
        run.fail(&format!("expected `{expected}`"));
    }
}

#[test]
fn the_refund_demo_runs_offline_on_its_cassette() {
    let run = petrel_env(&["demo"], &[]).expect_code(0);
    let out = run.stdout();
    for expected in [
        "language model: ",
        "r-1 → refunded",
        "payment worker: claimed firing",
        "pay_refund firing",
        "r-2 → closed",
        "r-3 → denied",
        "r-4 → denied",
        "r-5 → closed",
        "r-6 → refunded",
        "classify_intent fired `timed_out` (deadline passed) -> human_handoff",
        "reviewer (a person at the inbox): claimed firing",
        "review_refund firing",
        "the stored marking agrees",
    ] {
        if !out.contains(expected) {
            run.fail(&format!("expected `{expected}` in the demo's output"));
        }
    }
}
