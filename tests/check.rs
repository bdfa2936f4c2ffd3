//! `petrel check` on Petrel net files and `petrel graph`, through the real
//! binary. The Mermaid drawings are parsed by Mermaid itself (node with the
//! `mermaid` package under jsdom, installed by
//! `npm ci --prefix tests/mermaid`).

use std::path::Path;
use std::process::Command;

use crate::util::{petrel, repo};

const DEADLOCK: &str = r#"
[net]
name = "planted"
[places.received]
start = true
[places.checked]
[places.stuck]
[places.done]
final = true
[places.desk]
shared = true
initial = 1
[transitions.check]
guest = "check.wasm"
inputs = { received = 1, desk = 1 }
outcomes.ok = { checked = 1, desk = 1 }
outcomes.odd = { stuck = 1 }
on_timeout = "ok"
capabilities = ["llm"]
[transitions.finish]
external = true
inputs = { checked = 2 }
outcomes.done = { done = 1 }
"#;

#[test]
fn examples_check_clean_with_exit_0() {
    for example in ["refund", "order-approval", "order-fulfilment"] {
        let net = repo().join("examples").join(example).join("net.toml");
        let run = petrel(&[
            "check",
            net.to_str().unwrap(),
            "--format",
            "json",
            "--cases",
            "2",
        ])
        .expect_code(0);
        let out = run.json();
        assert_eq!(out["problems"], serde_json::json!([]), "{}", run.stdout());
        assert_eq!(out["bounded"], true);
        assert_eq!(
            out["deadlock"], true,
            "contest sense: completed cases enable nothing"
        );
        assert_eq!(out["cases"], 2);
        assert!(out["states"].as_u64().unwrap() > 1);
    }
}

#[test]
fn a_planted_deadlock_exits_1_with_its_shortest_trace() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.toml");
    std::fs::write(&file, DEADLOCK).unwrap();
    let run = petrel(&["check", file.to_str().unwrap(), "--format", "json"]).expect_code(1);
    let out = run.json();
    let problems = out["problems"].as_array().unwrap();
    assert_eq!(problems[0]["kind"], "deadlock", "{}", run.stdout());
    assert_eq!(
        problems[0]["trace"],
        serde_json::json!([{ "transition": "check", "outcome": "ok", "case": 1 }])
    );
    assert!(
        problems
            .iter()
            .any(|p| p["kind"] == "dead-transition" && p["transition"] == "finish")
    );
    assert_eq!(
        out["lints"],
        serde_json::json!([]),
        "llm with on_timeout; every place used"
    );
    let text = petrel(&["check", file.to_str().unwrap()])
        .expect_code(1)
        .stdout();
    assert!(
        text.contains("problem: deadlock with 1 case(s) after check→ok (case 1)"),
        "{text}"
    );
}

#[test]
fn bad_net_files_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.toml");
    std::fs::write(
        &file,
        DEADLOCK.replace("inputs = { checked = 2 }", "inputs = { nowhere = 2 }"),
    )
    .unwrap();
    let run = petrel(&["check", file.to_str().unwrap()]).expect_code(2);
    assert!(
        run.stderr().contains("transitions.finish.inputs.nowhere"),
        "{}",
        run.stderr()
    );
}

/// Runs Mermaid's parser on `files`; panics with its output on failure.
fn mermaid_parse(files: &[&Path]) {
    let script = repo().join("tests/mermaid/parse.mjs");
    assert!(
        repo().join("tests/mermaid/node_modules/mermaid").is_dir(),
        "the Mermaid parser is not installed: run `npm ci --prefix tests/mermaid`"
    );
    let out = Command::new("node")
        .arg(&script)
        .args(files)
        .output()
        .expect(
            "cannot run node (the Mermaid test needs node and `npm ci --prefix tests/mermaid`)",
        );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "mermaid refused the drawing:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        files.len(),
        "{stdout}"
    );
}

#[test]
fn graph_mermaid_output_parses_with_mermaid() {
    let dir = tempfile::tempdir().unwrap();
    let planted = dir.path().join("net.toml");
    std::fs::write(&planted, DEADLOCK).unwrap();
    let mut drawings = Vec::new();
    let nets = [
        repo().join("examples/refund/net.toml"),
        repo().join("examples/order-approval/net.toml"),
        repo().join("examples/order-fulfilment/net.toml"),
        planted,
    ];
    for (i, net) in nets.iter().enumerate() {
        let run = petrel(&["graph", net.to_str().unwrap(), "--format", "mermaid"]).expect_code(0);
        let text = run.stdout();
        assert!(text.starts_with("flowchart LR"), "{text}");
        let file = dir.path().join(format!("{i}.mmd"));
        std::fs::write(&file, text).unwrap();
        drawings.push(file);
    }
    let dot = petrel(&["graph", nets[3].to_str().unwrap(), "--format", "dot"])
        .expect_code(0)
        .stdout();
    assert!(
        dot.starts_with("digraph \"planted\" {") && dot.contains("shape=parallelogram"),
        "{dot}"
    );
    let saga = std::fs::read_to_string(&drawings[2]).unwrap();
    assert!(saga.contains("t1 -.->|\"undone by\"| t3"), "{saga}");
    let paths: Vec<&Path> = drawings.iter().map(|p| p.as_path()).collect();
    mermaid_parse(&paths);
}
