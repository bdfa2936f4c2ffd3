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
    for example in [
        "refund/net.toml",
        "order-approval/net.toml",
        "order-fulfilment/net.toml",
        "order-fulfilment/net-branches.toml",
    ] {
        let net = repo().join("examples").join(example);
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
        assert_eq!(out["sound"], true);
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
        repo().join("examples/order-fulfilment/net-branches.toml"),
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
    let branches = std::fs::read_to_string(&drawings[4]).unwrap();
    assert!(
        branches.contains("subgraph r0[\"region shipping\"]"),
        "{branches}"
    );
    let paths: Vec<&Path> = drawings.iter().map(|p| p.as_path()).collect();
    mermaid_parse(&paths);
}

/// Issue 17's net: after `t0→go` the case loops between `ping` and `pong`
/// and can never reach `done`; `petrel check` used to call it sound.
pub(crate) const LIVELOCK: &str = include_str!("nets/livelock.toml");

#[test]
fn a_livelocked_net_is_not_called_sound_and_exits_1_with_its_trace_and_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.toml");
    std::fs::write(&file, LIVELOCK).unwrap();
    let text = petrel(&["check", file.to_str().unwrap()])
        .expect_code(1)
        .stdout();
    assert!(
        text.contains(
            "problem: livelock with 1 case(s): after t0→go (case 1), case 1 can never complete"
        ) && text.contains("it cycles forever through ping→go (case 1), pong→go (case 1)"),
        "{text}"
    );
    assert!(
        !text.contains("sound") && !text.contains("completes properly"),
        "{text}"
    );
    let run = petrel(&["check", file.to_str().unwrap(), "--format", "json"]).expect_code(1);
    let out = run.json();
    assert_eq!(out["sound"], false);
    let livelock = &out["problems"][0];
    assert_eq!(livelock["kind"], "livelock", "{}", run.stdout());
    assert_eq!(
        livelock["trace"],
        serde_json::json!([{ "transition": "t0", "outcome": "go", "case": 1 }])
    );
    assert_eq!(
        livelock["cycle"],
        serde_json::json!([
            { "transition": "ping", "outcome": "go", "case": 1 },
            { "transition": "pong", "outcome": "go", "case": 1 }
        ])
    );
    assert_eq!(livelock["marking"][0]["place"], "a");
}

#[test]
fn start_refuses_a_net_that_fails_its_check_unless_problems_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.toml");
    std::fs::write(&file, LIVELOCK).unwrap();
    let data = dir.path().join("data");
    let (net, data) = (file.to_str().unwrap(), data.to_str().unwrap());
    let refused = petrel(&["start", net, "--data", data]).expect_code(1);
    assert!(
        refused
            .stderr()
            .contains("net `livelock` failed its check, so it is not deployed")
            && refused
                .stderr()
                .contains("problem: livelock with 1 case(s)")
            && refused.stderr().contains("--allow-problems"),
        "{}",
        refused.stderr()
    );
    let allowed = petrel(&[
        "start",
        net,
        "--data",
        data,
        "--allow-problems",
        "--case",
        "c-1",
    ])
    .expect_code(0);
    assert!(
        allowed
            .stderr()
            .contains("warning: net `livelock` deployed with a problem: livelock"),
        "{}",
        allowed.stderr()
    );
    assert!(
        allowed.stdout().contains("started case c-1"),
        "{}",
        allowed.stdout()
    );
}

/// A gzip PNML ring of `n` places and transitions holding one token, with
/// `toggles` independent two-place toggles: `n * 2^toggles` markings.
fn ring_pnml(file: &Path, n: usize, toggles: usize) {
    use std::io::Write as _;
    let out = std::fs::File::create(file).unwrap();
    let mut z = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    let mut w = |s: String| z.write_all(s.as_bytes()).unwrap();
    w("<pnml><net id=\"ring\" type=\"http://www.pnml.org/version-2009/grammar/ptnet\"><page id=\"g\">".into());
    for i in 0..n {
        let m = if i == 0 {
            "<initialMarking><text>1</text></initialMarking>"
        } else {
            ""
        };
        w(format!(
            "<place id=\"p{i}\">{m}</place><transition id=\"t{i}\"/><arc id=\"a{i}\" source=\"p{i}\" target=\"t{i}\"/><arc id=\"b{i}\" source=\"t{i}\" target=\"p{}\"/>\n",
            (i + 1) % n
        ));
    }
    for j in 0..toggles {
        w(format!(
            "<place id=\"on{j}\"><initialMarking><text>1</text></initialMarking></place><place id=\"off{j}\"/>\
             <transition id=\"up{j}\"/><transition id=\"down{j}\"/>\
             <arc id=\"u{j}\" source=\"on{j}\" target=\"up{j}\"/><arc id=\"v{j}\" source=\"up{j}\" target=\"off{j}\"/>\
             <arc id=\"d{j}\" source=\"off{j}\" target=\"down{j}\"/><arc id=\"e{j}\" source=\"down{j}\" target=\"on{j}\"/>\n"
        ));
    }
    w("</page></net></pnml>".into());
    z.finish().unwrap();
}

/// Issue 17: this ring made `petrel check` abort asking for 419 GB. Run
/// with `cargo test -p petrel-tests --test tests -- --ignored ring` (a few
/// seconds in release); the process's peak memory is printed.
#[test]
#[ignore = "explores 800,000 markings of a 100,006-place net"]
fn a_ring_of_100000_places_and_three_toggles_answers_exactly_within_2_gb() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ring.pnml.gz");
    ring_pnml(&file, 100_000, 3);
    let bin = crate::util::petrel_bin();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .args([
            "check",
            file.to_str().unwrap(),
            "--format",
            "json",
            "--max-memory",
            "2G",
        ])
        .output()
        .or_else(|_| {
            Command::new(bin)
                .args([
                    "check",
                    file.to_str().unwrap(),
                    "--format",
                    "json",
                    "--max-memory",
                    "2G",
                ])
                .output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let got: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(got["states"], 800_000, "{got}");
    assert_eq!(got["inconclusive"], serde_json::Value::Null);
    assert_eq!(
        (got["live"].clone(), got["deadlock"].clone()),
        (true.into(), false.into())
    );
    assert!(got["peak_bytes"].as_u64().unwrap() < 2 << 30, "{got}");
    if let Some(rss) = stderr
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
    {
        let kb: u64 = rss.rsplit(' ').next().unwrap().parse().unwrap();
        println!("peak RSS {} MiB, engine {}", kb / 1024, got["engine"]);
        assert!(kb < 2 << 20, "{rss}");
    }
}

#[test]
#[ignore = "writes and reads a PNML file of a million arcs"]
fn a_net_of_a_million_arcs_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.pnml.gz");
    ring_pnml(&file, 500_000, 0);
    let run = petrel(&[
        "check",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--max-states",
        "1000",
    ])
    .expect_code(1);
    let out = run.json();
    assert_eq!(
        (out["places"].clone(), out["transitions"].clone()),
        (500_000.into(), 500_000.into())
    );
    assert!(
        out["inconclusive"]
            .as_str()
            .unwrap()
            .contains("--max-states"),
        "{out}"
    );
}
