//! State-space engine benchmark: the full StateSpace answer (states, both
//! token maxima, deadlock, liveness, quasi-liveness, 1-safety) for
//! Kanban-PT-00005 (2.55 M states) and FMS-PT-00005 (2.90 M states).
//!
//! ```text
//! cargo bench -p petrel --bench verify [-- MODEL_OR_PNML ...] [--runs N] [--engine packed|sparse]
//! cargo bench -p petrel --bench verify -- --ring 100000 [--toggles 3]
//! cargo bench -p petrel --bench verify -- --arcs 1000000
//! ```
//!
//! `--ring N` explores a generated ring of `N` places and transitions
//! holding one token, beside `--toggles K` independent two-place toggles
//! (`N * 2^K` markings), checks the answers are exact and prints the time
//! and the process's peak resident memory (`VmHWM`). `--arcs N` writes a
//! gzip PNML ring of `N` arcs to a temp file and loads it, with the same
//! figures. Run each alone: the peak is the whole process's.
//!
//! Models are looked up in `$PETREL_MCC_DIR/models` (default `tests/mcc/models`
//! in the repository, `MODEL.pnml.gz`). Prints, per run, wall and CPU time,
//! states/s and bytes per stored state (peak of the visited set, parents and
//! queue, over the states), and the peak of the liveness search.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use petrel::verify::{Engine, Options, PtNet, PtPlace, analyse, pnml};

/// CPU time of this process (user + system) from `/proc/self/stat`, if readable.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The process's peak resident memory, in bytes (`VmHWM`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("?".into(), |b| {
        format!("{:.0} MiB", b as f64 / (1 << 20) as f64)
    })
}

/// The value after flag `name`, removed from `args`.
fn take(args: &mut Vec<String>, name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    let value = args
        .get(i + 1)
        .cloned()
        .unwrap_or_else(|| panic!("{name} N"));
    args.drain(i..=i + 1);
    Some(value)
}

/// A ring of `n` places and transitions holding one token, and `toggles`
/// independent two-place toggles.
fn ring(n: usize, toggles: usize) -> PtNet {
    let mut net = PtNet::new("ring");
    for i in 0..n {
        net.add_place(PtPlace::new(format!("p{i}"), u32::from(i == 0)))
            .expect("unique");
    }
    for i in 0..n {
        net.add_transition(format!("t{i}"), None, &[(i, 1)], &[((i + 1) % n, 1)])
            .expect("unique");
    }
    for j in 0..toggles {
        let on = net
            .add_place(PtPlace::new(format!("on{j}"), 1))
            .expect("unique");
        let off = net
            .add_place(PtPlace::new(format!("off{j}"), 0))
            .expect("unique");
        net.add_transition(format!("up{j}"), None, &[(on, 1)], &[(off, 1)])
            .expect("unique");
        net.add_transition(format!("down{j}"), None, &[(off, 1)], &[(on, 1)])
            .expect("unique");
    }
    net
}

fn bench_ring(n: usize, toggles: usize) {
    let start = Instant::now();
    let net = ring(n, toggles);
    let a = analyse(&net, &Options::default());
    let x = &a.answers;
    let expected = n as u64 * (1 << toggles);
    assert_eq!(x.states, Some(expected), "{:?}", x);
    assert_eq!(
        (x.deadlock, x.live, x.one_safe, x.bounded),
        (Some(false), Some(true), Some(true), Some(true))
    );
    println!(
        "ring of {n} places + {toggles} toggles: {expected} states exactly, {:.2} s ({} engine, {} B/marking), peak RSS {}",
        start.elapsed().as_secs_f64(),
        a.cost.engine,
        a.cost.marking_bytes,
        mib(peak_rss())
    );
}

fn bench_arcs(arcs: usize) {
    let n = arcs / 2;
    let file = tempfile::Builder::new()
        .suffix(".pnml.gz")
        .tempfile()
        .expect("a temp file");
    {
        let mut out = flate2::write::GzEncoder::new(file.as_file(), flate2::Compression::fast());
        let mut w = |s: String| out.write_all(s.as_bytes()).expect("write");
        w("<?xml version=\"1.0\"?>\n<pnml><net id=\"big\" type=\"http://www.pnml.org/version-2009/grammar/ptnet\"><page id=\"g\">\n".into());
        for i in 0..n {
            let m = if i == 0 {
                "<initialMarking><text>1</text></initialMarking>"
            } else {
                ""
            };
            w(format!(
                "<place id=\"p{i}\">{m}</place><transition id=\"t{i}\"/>\n"
            ));
        }
        for i in 0..n {
            w(format!(
                "<arc id=\"a{i}\" source=\"p{i}\" target=\"t{i}\"/><arc id=\"b{i}\" source=\"t{i}\" target=\"p{}\"/>\n",
                (i + 1) % n
            ));
        }
        w("</page></net></pnml>\n".into());
        out.finish().expect("gzip");
    }
    let start = Instant::now();
    let net = pnml::load(file.path()).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{} arcs ({} places, {} transitions) loaded from {} B of gzip in {:.2} s, peak RSS {}",
        net.arcs(),
        net.places().len(),
        net.transitions().len(),
        std::fs::metadata(file.path()).map_or(0, |m| m.len()),
        start.elapsed().as_secs_f64(),
        mib(peak_rss())
    );
}

fn main() {
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Some(n) = take(&mut args, "--ring") {
        let toggles = take(&mut args, "--toggles").map_or(3, |k| k.parse().expect("--toggles K"));
        bench_ring(n.parse().expect("--ring N"), toggles);
        return;
    }
    if let Some(n) = take(&mut args, "--arcs") {
        bench_arcs(n.parse().expect("--arcs N"));
        return;
    }
    let runs: usize = take(&mut args, "--runs").map_or(3, |n| n.parse().expect("--runs N"));
    let mut options = Options::default();
    if let Some(engine) = take(&mut args, "--engine") {
        options.engine = match engine.as_str() {
            "packed" => Engine::Packed,
            "sparse" => Engine::Sparse,
            _ => panic!("--engine packed|sparse"),
        };
    }
    if args.is_empty() {
        args = vec!["Kanban-PT-00005".into(), "FMS-PT-00005".into()];
    }
    let dir = std::env::var_os("PETREL_MCC_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/mcc"),
            PathBuf::from,
        )
        .join("models");
    println!(
        "{:<24} {:>9} {:>8} {:>8} {:>8} {:>8} {:>12} {:>10} {:>10}",
        "model",
        "states",
        "parse s",
        "explore",
        "live s",
        "total s",
        "states/s",
        "B/state",
        "live B/st"
    );
    for model in &args {
        let path = if model.ends_with(".pnml") || model.ends_with(".pnml.gz") {
            PathBuf::from(model)
        } else {
            dir.join(format!("{model}.pnml.gz"))
        };
        for _ in 0..runs {
            let cpu0 = cpu_seconds();
            let start = Instant::now();
            let net = pnml::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let parsed = start.elapsed();
            let a = analyse(&net, &options);
            let total = start.elapsed();
            let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
            let states = a.explored as f64;
            println!(
                "{:<24} {:>9} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>12.0} {:>10.1} {:>10.1}   cpu {} s, {} marking {} B, live {:?}",
                model,
                a.explored,
                parsed.as_secs_f64(),
                a.cost.explore.as_secs_f64(),
                a.cost.components.as_secs_f64(),
                total.as_secs_f64(),
                states / total.as_secs_f64(),
                a.cost.store_bytes as f64 / states,
                a.cost.components_bytes as f64 / states,
                cpu.map_or("?".into(), |c| format!("{c:.2}")),
                a.cost.engine,
                a.cost.marking_bytes,
                a.answers.live,
            );
        }
    }
}
