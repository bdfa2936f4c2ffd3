//! Model Checking Contest conformance: `petrel check --format json` on every
//! net of `tests/mcc/models` (gzip-compressed PNML, as the contest ships
//! them) must give the contest oracle's state count, both token maxima and
//! the four verdicts of `tests/mcc/expected.tsv`; the sparse engine must
//! agree too on the models of up to [`SPARSE_STATES`] markings.
//!
//! The models run in parallel, one `petrel check` process each, largest
//! first. `PETREL_MCC_DIR` points elsewhere than `tests/mcc`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::util::{petrel, repo};

/// The sparse engine is checked on the models of at most this many markings.
const SPARSE_STATES: u64 = 300_000;

/// The directory holding `models/` and `expected.tsv`.
fn mcc_dir() -> PathBuf {
    let dir =
        std::env::var_os("PETREL_MCC_DIR").map_or_else(|| repo().join("tests/mcc"), PathBuf::from);
    assert!(
        dir.join("expected.tsv").is_file(),
        "no MCC data at {} (expected models/ and expected.tsv; set PETREL_MCC_DIR)",
        dir.display()
    );
    dir
}

/// One row of `expected.tsv`.
#[derive(Debug, Clone)]
struct Expected {
    model: String,
    states: u64,
    max_token_in_place: u64,
    max_token_per_marking: u64,
    deadlock: bool,
    live: bool,
    quasi_live: bool,
    one_safe: bool,
}

fn expected(dir: &std::path::Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (states, in_place, per_marking) = (
        col("states"),
        col("max_token_in_place"),
        col("max_token_per_marking"),
    );
    let (deadlock, live, quasi_live, one_safe) = (
        col("deadlock"),
        col("live"),
        col("quasi_live"),
        col("one_safe"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let num = |i: usize| {
                f[i].parse::<u64>()
                    .unwrap_or_else(|e| panic!("{l}: column {i}: {e}"))
            };
            let flag = |i: usize| match f[i] {
                "true" => true,
                "false" => false,
                other => panic!("{l}: column {i}: `{other}` is not a boolean"),
            };
            Expected {
                model: f[0].to_string(),
                states: num(states),
                max_token_in_place: num(in_place),
                max_token_per_marking: num(per_marking),
                deadlock: flag(deadlock),
                live: flag(live),
                quasi_live: flag(quasi_live),
                one_safe: flag(one_safe),
            }
        })
        .collect()
}

/// Runs `petrel check --format json --engine ENGINE` on one model; the
/// differences, if any.
fn compare(dir: &std::path::Path, e: &Expected, engine: &str) -> Option<String> {
    let file = dir.join("models").join(format!("{}.pnml.gz", e.model));
    let run = petrel(&[
        "check",
        file.to_str().unwrap(),
        "--format",
        "json",
        "--engine",
        engine,
    ]);
    if run.code() != 0 && run.code() != 1 {
        return Some(format!(
            "{} ({engine}): exit {}: {}",
            e.model,
            run.code(),
            run.stderr()
        ));
    }
    let got = run.json();
    let mut diffs = Vec::new();
    let mut field = |name: &str, want: serde_json::Value| {
        if got[name] != want {
            diffs.push(format!("{name} {} (expected {want})", got[name]));
        }
    };
    field("states", e.states.into());
    field("max_token_in_place", e.max_token_in_place.into());
    field("max_token_per_marking", e.max_token_per_marking.into());
    field("deadlock", e.deadlock.into());
    field("live", e.live.into());
    field("quasi_live", e.quasi_live.into());
    field("one_safe", e.one_safe.into());
    field("bounded", true.into());
    field("inconclusive", serde_json::Value::Null);
    let want_code = if e.deadlock || !e.quasi_live { 1 } else { 0 };
    if run.code() != want_code {
        diffs.push(format!("exit {} (expected {want_code})", run.code()));
    }
    (!diffs.is_empty()).then(|| format!("{} ({engine}): {}", e.model, diffs.join(", ")))
}

#[test]
fn every_mcc_model_agrees_with_the_oracle() {
    let dir = mcc_dir();
    let mut models = expected(&dir);
    assert_eq!(models.len(), 98, "expected.tsv lists 98 models");
    // Largest first, so the long ones overlap with everything else.
    models.sort_by_key(|e| std::cmp::Reverse(e.states));
    let mut runs: Vec<(Expected, &str)> = models.iter().map(|e| (e.clone(), "auto")).collect();
    runs.extend(
        models
            .iter()
            .filter(|e| e.states <= SPARSE_STATES)
            .map(|e| (e.clone(), "sparse")),
    );
    let queue = Mutex::new(runs.into_iter());
    let failures = Mutex::new(BTreeMap::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let Some((e, engine)) = queue.lock().unwrap().next() else {
                        break;
                    };
                    if let Some(diff) = compare(&dir, &e, engine) {
                        failures
                            .lock()
                            .unwrap()
                            .insert(format!("{} {engine}", e.model), diff);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} runs disagree with the oracle:\n{}",
        failures.len(),
        failures.into_values().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn check_reports_bad_pnml_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.pnml");
    std::fs::write(
        &file,
        "<pnml><net id=\"n\" type=\"ptnet\"><page id=\"g\"><place id=\"p\"/></page>",
    )
    .unwrap();
    let run = petrel(&["check", file.to_str().unwrap()]).expect_code(2);
    assert!(
        run.stderr().contains("bad.pnml:1: malformed XML"),
        "{}",
        run.stderr()
    );
    let file = dir.path().join("net.txt");
    std::fs::write(&file, "").unwrap();
    let run = petrel(&["check", file.to_str().unwrap()]).expect_code(2);
    assert!(
        run.stderr().contains("unknown file type"),
        "{}",
        run.stderr()
    );
}

#[test]
fn check_reads_plain_and_gzip_pnml_and_refuses_a_gzip_bomb() {
    let dir = tempfile::tempdir().unwrap();
    let gz = mcc_dir().join("models/Dekker-PT-010.pnml.gz");
    let plain = dir.path().join("dekker.pnml");
    let mut xml = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()),
        &mut xml,
    )
    .unwrap();
    std::fs::write(&plain, &xml).unwrap();
    let a = petrel(&["check", gz.to_str().unwrap(), "--format", "json"]).json();
    let b = petrel(&["check", plain.to_str().unwrap(), "--format", "json"]).json();
    assert_eq!(a["states"], b["states"]);
    assert!(a["states"].as_u64().unwrap() > 1);
    // Too much XML, compressed or not, is refused before it is held.
    let run = petrel(&["check", gz.to_str().unwrap(), "--max-input", "1K"]).expect_code(2);
    assert!(
        run.stderr().contains("more than 1024 bytes of XML"),
        "{}",
        run.stderr()
    );
}
