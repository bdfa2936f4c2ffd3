//! Failure handling through the real binary: SIGKILL mid-backoff and
//! mid-compensation (the timer and the compensation chain continue exactly
//! once), and the `petrel dlq` commands.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{flaky_net, fulfilment};
use crate::util::{petrel, petrel_bin, write_net};

/// Runs `petrel run` with info logs and SIGKILLs it once its stderr has
/// shown `first` and then `then`; returns the stderr seen.
fn run_and_kill_when(data: &Path, first: &str, then: &str) -> String {
    let mut child = Command::new(petrel_bin())
        .args(["run", "--data", &data.display().to_string()])
        .env("PETREL_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn petrel run");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    let mut stage = 0;
    while stage < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            panic!("`petrel run` never logged `{first}` then `{then}`; stderr:\n{seen}");
        };
        seen.push_str(&line);
        seen.push('\n');
        if stage == 0 && line.contains(first) {
            stage = 1;
        } else if stage == 1 && line.contains(then) {
            stage = 2;
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-wait
    child.wait().unwrap();
    seen
}

fn start(net: &Path, data: &str, case: &str, token: &str) {
    let net = net.display().to_string();
    petrel(&[
        "start", &net, "--data", data, "--case", case, "--token", token,
    ])
    .expect_code(0);
}

fn history(data: &str, case: &str) -> Vec<Value> {
    petrel(&[
        "history", "--data", data, "--case", case, "--format", "json",
    ])
    .expect_code(0)
    .json()["events"]
        .as_array()
        .unwrap()
        .clone()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[test]
fn a_host_killed_mid_backoff_resumes_the_timer_and_retries_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.display().to_string();
    let net = write_net(
        dir.path(),
        "net.toml",
        &flaky_net("retry = { initial_delay_ms = 1500, jitter = 0.0 }"),
    );
    start(&net, &d, "c1", r#"todo={"fail":1,"how":"error"}"#);
    run_and_kill_when(&data, "firing failed", "waiting for a durable retry timer");
    let killed_at = crate::util::now_ms();

    let run = petrel(&["run", "--data", &d, "--format", "json"]).expect_code(0);
    let summary = run.json();
    assert_eq!(summary["completed"], 1, "{summary}");
    let events = history(&d, "c1");
    let failed = of_type(&events, "firing_failed");
    let completed = of_type(&events, "firing_completed");
    assert_eq!((failed.len(), completed.len()), (1, 1), "{events:#?}");
    assert_eq!(failed[0]["attempt"], 1);
    assert_eq!(completed[0]["attempt"], 2);
    let retry_at = failed[0]["retry_at_ms"].as_u64().unwrap();
    assert_eq!(retry_at - failed[0]["at_ms"].as_u64().unwrap(), 1500);
    let ran_at = completed[0]["at_ms"].as_u64().unwrap();
    assert!(
        ran_at >= retry_at,
        "the retry fired {} ms early",
        retry_at - ran_at
    );
    assert!(
        killed_at < retry_at,
        "the kill came after the timer; the test proved nothing"
    );
    petrel(&["replay", "--data", &d, "--verify"]).expect_code(0);
}

#[test]
fn a_host_killed_mid_compensation_runs_each_compensation_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.display().to_string();
    let net = fulfilment(dir.path(), |t| {
        t.replace(
            "retry = { max_attempts = 5, initial_delay_ms = 200 }",
            "retry = { max_attempts = 5, initial_delay_ms = 1500, jitter = 0.0 }",
        )
    });
    start(
        &net,
        &d,
        "lost",
        r#"order={"order_id":"o-9","amount_cents":500,"items":1,"carrier":"down","undo_fails":1}"#,
    );
    // release_charge fails its first attempt; kill the host in its backoff.
    run_and_kill_when(
        &data,
        "compensation failed",
        "waiting for a durable retry timer",
    );

    petrel(&["run", "--data", &d]).expect_code(0);
    let events = history(&d, "lost");
    let done: Vec<&str> = of_type(&events, "compensation_completed")
        .iter()
        .map(|e| e["transition"].as_str().unwrap())
        .collect();
    assert_eq!(done, ["release_charge", "release_stock"], "{events:#?}");
    let fired: Vec<&str> = of_type(&events, "firing_completed")
        .iter()
        .map(|e| e["transition"].as_str().unwrap())
        .collect();
    assert_eq!(fired, ["reserve_stock", "charge"]);
    assert_eq!(of_type(&events, "case_aborted").len(), 1);
    let marking = petrel(&[
        "marking", "--data", &d, "--case", "lost", "--format", "json",
    ])
    .expect_code(0)
    .json();
    let text = marking.to_string();
    assert!(text.contains("\"aborted\""), "{marking}");
    assert!(
        text.contains("charge_reversals") && text.contains("stock_releases"),
        "{marking}"
    );
    petrel(&["replay", "--data", &d, "--verify"]).expect_code(0);
}

#[test]
fn dlq_commands_list_show_retry_and_discard_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data").display().to_string();
    let net = write_net(
        dir.path(),
        "net.toml",
        &flaky_net("retry = { max_attempts = 2, initial_delay_ms = 10 }"),
    );
    start(&net, &d, "a", r#"todo={"fail":5,"how":"trap"}"#);
    start(&net, &d, "b", r#"todo={"fail":5,"how":"undeclared"}"#);
    // Stuck cases (their tokens are dead letters) make `run` exit 1.
    let run = petrel(&["run", "--data", &d, "--format", "json"]).expect_code(1);
    assert_eq!(run.json()["dead_lettered"], 2);

    let list = petrel(&["dlq", "list", "--data", &d, "--format", "json"])
        .expect_code(0)
        .json();
    let letters = list.as_array().unwrap();
    assert_eq!(letters.len(), 2, "{list}");
    let a = letters.iter().find(|l| l["case"] == "a").unwrap();
    assert_eq!(a["attempts"], 2);
    assert_eq!(a["failures"].as_array().unwrap().len(), 2);
    assert_eq!(
        a["tokens"][0]["payload"]["how"], "trap",
        "payloads are decoded"
    );
    let id_a = a["id"].as_u64().unwrap().to_string();
    let b = letters.iter().find(|l| l["case"] == "b").unwrap();
    assert_eq!(b["last_decision"]["outcome"], "no_such_outcome");
    let id_b = b["id"].as_u64().unwrap().to_string();

    let shown = petrel(&["dlq", "show", &id_a, "--data", &d])
        .expect_code(0)
        .stdout();
    assert!(
        shown.contains("attempt 2") && shown.contains("guest trapped"),
        "{shown}"
    );
    let marking = petrel(&["marking", "--data", &d, "--case", "a", "--format", "json"])
        .expect_code(0)
        .json();
    assert!(marking.to_string().contains("\"stuck\""), "{marking}");

    // Discard needs a reason; unknown ids are bad input; nothing changes.
    let no_reason = petrel(&["dlq", "discard", &id_b, "--data", &d]);
    assert_eq!(no_reason.code(), 2, "{}", no_reason.stderr());
    let missing = petrel(&["dlq", "retry", "999999999", "--data", &d]).expect_code(2);
    assert!(
        missing.stderr().contains("no dead letter 999999999"),
        "{}",
        missing.stderr()
    );
    petrel(&[
        "dlq",
        "discard",
        &id_b,
        "--reason",
        "bad input data",
        "--data",
        &d,
    ])
    .expect_code(0);
    petrel(&["dlq", "retry", &id_a, "--data", &d]).expect_code(0);
    let marking = petrel(&["marking", "--data", &d, "--case", "a", "--format", "json"])
        .expect_code(0)
        .json();
    assert!(
        marking.to_string().contains("\"todo\""),
        "the token is back: {marking}"
    );
    let history_b = history(&d, "b");
    assert!(
        of_type(&history_b, "dead_letter_discarded")[0]["reason"] == "bad input data",
        "{history_b:#?}"
    );
    // Retried: it fails twice more and is dead-lettered again.
    petrel(&["run", "--data", &d]).expect_code(1);
    let list = petrel(&["dlq", "list", "--data", &d, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    petrel(&["replay", "--data", &d, "--verify"]).expect_code(0);
}
