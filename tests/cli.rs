//! The real `petrel` binary: the order-approval flow, output formats, exit
//! codes and bad input.

use crate::util::{order_net, order_token, petrel, write_net};

#[test]
fn order_approval_runs_to_completion_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let net = order_net();
    let net = net.to_str().unwrap();

    let started = petrel(&[
        "start",
        net,
        "--data",
        data,
        "--case",
        "o-1",
        "--token",
        &order_token("o-1", 2_500, 2),
        "--format",
        "json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(started["case"], "o-1");
    assert_eq!(started["deployed"], true);
    let again = petrel(&[
        "start",
        net,
        "--data",
        data,
        "--case",
        "o-2",
        "--token",
        &order_token("o-2", 900_000, 1),
        "--format",
        "json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(again["deployed"], false, "same file, same version");
    assert_eq!(again["version"], started["version"]);

    let summary = petrel(&["run", "--data", data, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(summary["completed"], 8, "{summary}");
    assert_eq!(summary["cases"]["completed"], 2, "{summary}");

    let marking = petrel(&[
        "marking", "--data", data, "--case", "o-1", "--format", "json",
    ])
    .expect_code(0)
    .json();
    let tokens = &marking["cases"][0]["tokens"];
    assert_eq!(tokens.as_array().unwrap().len(), 1, "{marking}");
    assert_eq!(tokens[0]["place"], "approved");
    assert_eq!(tokens[0]["payload"]["order_id"], "o-1");
    assert_eq!(tokens[0]["payload"]["reviewer"], "ana");
    let all = petrel(&["marking", "--data", data, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(
        all["shared"].as_array().unwrap().len(),
        1,
        "the reviewer is back: {all}"
    );

    let history = petrel(&[
        "history", "--data", data, "--case", "o-2", "--format", "json",
    ])
    .expect_code(0)
    .json();
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"case_started"));
    assert_eq!(kinds.last(), Some(&"case_completed"));
    let outcomes: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert!(
        outcomes.contains(&"refused") && outcomes.contains(&"rejected"),
        "{outcomes:?}"
    );
    let text = petrel(&["history", "--data", data, "--case", "o-2"])
        .expect_code(0)
        .stdout();
    assert!(text.contains("check_credit fired `refused`"), "{text}");

    let replay = petrel(&["replay", "--data", data, "--verify", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(replay["agree"], true, "{replay}");
}

#[test]
fn bad_input_exits_2_naming_file_line_and_field_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let bad = std::fs::read_to_string(order_net()).unwrap().replace(
        "outcomes.ok = { credit_ok = 1 }",
        "outcomes.ok = { credit_okay = 1 }",
    );
    let bad = write_net(
        dir.path(),
        "bad.toml",
        &bad.replace(
            "../../guests/target/wasm32-wasip2/release/",
            "/nonexistent/",
        ),
    );
    let run = petrel(&[
        "start",
        bad.to_str().unwrap(),
        "--data",
        data,
        "--case",
        "x",
    ])
    .expect_code(2);
    let err = run.stderr();
    assert!(
        err.contains("bad.toml:39: `transitions.check_credit.outcomes.ok.credit_okay`: unknown place `credit_okay`"),
        "{err}"
    );

    let net = order_net();
    let net = net.to_str().unwrap();
    let run = petrel(&[
        "start",
        net,
        "--data",
        data,
        "--case",
        "x",
        "--token",
        "submitted={not json",
    ])
    .expect_code(2);
    assert!(
        run.stderr().contains("--token `submitted={not json}`")
            || run.stderr().contains("the payload is not JSON"),
        "{}",
        run.stderr()
    );
    let run = petrel(&[
        "start",
        net,
        "--data",
        data,
        "--case",
        "x",
        "--token",
        "nowhere=1",
    ])
    .expect_code(2);
    assert!(
        run.stderr().contains("token for unknown place `nowhere`"),
        "{}",
        run.stderr()
    );
    let run = petrel(&[
        "start",
        net,
        "--data",
        data,
        "--case",
        "bad id",
        "--token",
        "submitted=1",
    ])
    .expect_code(2);
    assert!(
        run.stderr().contains("invalid case id `bad id`"),
        "{}",
        run.stderr()
    );

    petrel(&[
        "start",
        net,
        "--data",
        data,
        "--case",
        "x",
        "--token",
        &order_token("x", 1, 1),
    ])
    .expect_code(0);
    let run = petrel(&[
        "start",
        net,
        "--data",
        data,
        "--case",
        "x",
        "--token",
        &order_token("x", 1, 1),
    ])
    .expect_code(2);
    assert!(
        run.stderr().contains("case `x` exists already"),
        "{}",
        run.stderr()
    );
    let marking = petrel(&["marking", "--data", data, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(
        marking["cases"].as_array().unwrap().len(),
        1,
        "only the good case is stored: {marking}"
    );
    petrel(&["history", "--data", data, "--case", "nope"]).expect_code(2);
}

#[test]
fn the_embedding_example_runs_the_saga_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::util::petrel_example("embed"))
        .arg(dir.path().join("data"))
        .output()
        .expect("run the embed example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("case ships: completed"), "{stdout}");
    assert!(stdout.contains("case carrier-down: aborted"), "{stdout}");
    assert!(stdout.contains("charge_reversals"), "{stdout}");
}

#[test]
fn the_benchmark_prints_every_measure_with_its_ratios() {
    let run = petrel(&[
        "bench",
        "--calls",
        "20",
        "--transactions",
        "200",
        "--cases",
        "40",
        "--rounds",
        "2",
    ])
    .expect_code(0);
    let out = run.stdout();
    // The number after `label` on the line holding it, which must be > 0.
    let number = |label: &str| -> f64 {
        let line = out.lines().find(|l| l.contains(label));
        let line = line.unwrap_or_else(|| panic!("no `{label}` in:\n{out}"));
        let rest = &line[line.find(label).unwrap() + label.len()..];
        let value: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        assert!(value > 0.0, "{line}");
        value
    };
    assert!(number("p50") <= number("p99"), "{out}");
    for round in ["round 1:", "round 2:"] {
        assert!(out.contains(round), "{out}");
    }
    number("end-to-end / raw sled, median of 2 rounds:");
    number("CPU time per firing / per raw transaction (all threads), median of 2 rounds:");
    assert!(
        out.contains("µs CPU each") && out.contains("cores busy"),
        "{out}"
    );
}
