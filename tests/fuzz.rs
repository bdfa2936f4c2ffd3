//! A smoke run of every fuzz target (`fuzz/`): its body over its seed
//! corpus and a few thousand deterministic mutations of it, so a target
//! that no longer builds or fails on its own seeds breaks the suite. The
//! coverage-guided runs themselves are `cargo fuzz run` (fuzz/README.md).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::Rng;

#[path = "../fuzz/harness/mod.rs"]
mod harness;

/// Mutations of the corpus per target, at most this long.
const BUDGET: Duration = Duration::from_secs(3);

/// One mutation of `input`: flip a byte, insert, delete, duplicate a
/// range, or splice in part of `other`.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, rng.next() as u8),
            2 if at < out.len() => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out.drain(at..end);
            }
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(32)).min(out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            _ if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(64)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => {}
        }
    }
    out
}

fn smoke(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("PETREL_REPO_ROOT"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    for seed in &seeds {
        run(seed);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    let started = Instant::now();
    let mut runs = seeds.len();
    while started.elapsed() < BUDGET && runs < 20_000 {
        let input = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        let mutated = mutate(&mut rng, input, other);
        run(&mutated);
        runs += 1;
    }
    eprintln!(
        "fuzz smoke {target}: {runs} inputs in {:?}",
        started.elapsed()
    );
}

#[test]
fn fuzz_target_net_file_holds_on_its_corpus() {
    smoke("net_file", harness::net_file::run);
}

#[test]
fn fuzz_target_decision_holds_on_its_corpus() {
    smoke("decision", harness::decision::run);
}

#[test]
fn fuzz_target_payload_holds_on_its_corpus() {
    smoke("payload", harness::payload::run);
}

#[test]
fn fuzz_target_http_body_holds_on_its_corpus() {
    smoke("http_body", harness::http_body::run);
}
