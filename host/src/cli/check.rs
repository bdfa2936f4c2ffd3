//! `petrel check`: explores a net's state space and reports what can go
//! wrong, whatever the guests (and the language models behind them) decide.
//!
//! A `.toml` net file is checked as a workflow (one case, then `--cases`
//! concurrent cases: soundness, see [`petrel::verify::check`]) and linted;
//! a `.pnml` or `.pnml.gz` file is checked as a plain place/transition net.
//! Exit status: 0 no problem (for a net file: sound), 1 a problem (or an
//! inconclusive check), 2 bad input.
//!
//! The answers (`states`, `deadlock`, `live`, …) are in the Model Checking
//! Contest's sense, for the net as explored: a workflow marking where every
//! case has completed enables nothing, so it counts as a `deadlock` there.
//! Workflow deadlocks (a case stuck outside its final places) are listed in
//! `problems`, with the shortest firing sequence to them. Lints never change
//! the exit status.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use petrel::net::{Net, Performer};
use petrel::sandbox::{Sandbox, SandboxConfig};
use petrel::verify::{
    self, Analysis, Answers, Engine, Imports, Lint, Options, PtNet, Report, parse_bytes,
};
use serde_json::{Value, json};

use super::{Format, OK, Outcome, PROBLEM, bad_input};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Net file (`.toml`) or place/transition net in PNML (`.pnml`, or
    /// gzip-compressed `.pnml.gz`).
    file: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Concurrent cases to check besides one (net files only): shared
    /// resource places that starve or deadlock cases show up here.
    #[arg(long, value_name = "K", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    cases: u16,
    /// Stop after this many markings; the answer is then inconclusive.
    #[arg(long, value_name = "N", default_value_t = Options::default().max_states,
          value_parser = clap::value_parser!(u64).range(1..=verify::MAX_STATES))]
    max_states: u64,
    /// Stop, inconclusively, rather than hold more than this many bytes of
    /// state space (e.g. `2G`, `512M`; default: half the machine's memory).
    #[arg(long, value_name = "SIZE", value_parser = memory)]
    max_memory: Option<u64>,
    /// Most bytes of PNML read (decompressed), e.g. `1G`.
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes,
          default_value_t = verify::pnml::MAX_PNML_BYTES)]
    max_input: u64,
    /// State-space engine: `packed` keeps every place in every stored
    /// marking (fast on nets of thousands of places), `sparse` only the
    /// marked ones (any size); `auto` picks by the number of places.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    engine: EngineArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EngineArg {
    Auto,
    Packed,
    Sparse,
}

fn memory(text: &str) -> Result<u64, String> {
    let bytes = parse_bytes(text)?;
    if bytes < verify::MIN_MEMORY {
        return Err(format!(
            "`{text}`: at least {} MiB",
            verify::MIN_MEMORY >> 20
        ));
    }
    Ok(bytes)
}

pub(crate) fn run(args: Args) -> Outcome {
    let options = Options {
        max_states: args.max_states,
        max_memory: args.max_memory.unwrap_or_else(verify::default_max_memory),
        engine: match args.engine {
            EngineArg::Auto => Engine::Auto,
            EngineArg::Packed => Engine::Packed,
            EngineArg::Sparse => Engine::Sparse,
        },
        progress: true,
        ..Options::default()
    };
    let name = args.file.to_string_lossy();
    let kind = if name.ends_with(".pnml") || name.ends_with(".pnml.gz") {
        Some("pnml")
    } else {
        args.file.extension().and_then(|e| e.to_str())
    };
    match kind {
        Some("pnml") => {
            let net = verify::pnml::load_bounded(&args.file, args.max_input).map_err(bad_input)?;
            let analysis = verify::analyse(&net, &options);
            Ok(pnml_report(&args, &net, &analysis))
        }
        Some("toml") => {
            let net = Net::load(&args.file).map_err(bad_input)?;
            let report = verify::check(&net, usize::from(args.cases), &options);
            let (lints, notes) = verify::lint(&net, imports(&net).as_ref());
            Ok(net_report(&args, &net, &report, &lints, &notes))
        }
        _ => Err(bad_input(anyhow::anyhow!(
            "cannot check `{}`: unknown file type (expected a `.toml` net file or a `.pnml` or `.pnml.gz` place/transition net)",
            args.file.display()
        ))),
    }
}

/// What each guest component imports, read by the sandbox; `None` when
/// the sandbox cannot start.
fn imports(net: &Net) -> Option<Imports> {
    let guests: Vec<(&str, &Path)> = net
        .transitions()
        .iter()
        .filter_map(|t| match &t.performer {
            Performer::Guest { path, .. } => Some((t.name.as_str(), path.as_path())),
            Performer::External => None,
        })
        .collect();
    if guests.is_empty() {
        return Some(Imports::new());
    }
    let sandbox = Sandbox::new(SandboxConfig {
        instance_slots: 1,
        cache_dir: None,
        ..SandboxConfig::default()
    })
    .ok()?;
    let mut out = BTreeMap::new();
    for (name, path) in guests {
        let found = if path.is_file() {
            sandbox
                .component_imports(path)
                .map_err(|e| format!("cannot read component `{}`: {e:#}", path.display()))
        } else {
            Err(format!(
                "component `{}` not found (build the guests first)",
                path.display()
            ))
        };
        out.insert(name.to_string(), found);
    }
    Some(out)
}

fn answers_json(a: &Answers) -> serde_json::Map<String, Value> {
    match serde_json::to_value(a) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

fn names<'a>(net: &'a PtNet, trace: &[usize]) -> Vec<&'a str> {
    trace
        .iter()
        .map(|&t| net.transitions()[t].name.as_str())
        .collect()
}

fn pnml_report(args: &Args, net: &PtNet, a: &Analysis) -> u8 {
    let x = &a.answers;
    let dead: Vec<&str> = a
        .dead_transitions
        .iter()
        .map(|&t| net.transitions()[t].name.as_str())
        .collect();
    let problem = x.deadlock != Some(false)
        || x.bounded != Some(true)
        || !dead.is_empty()
        || x.inconclusive.is_some();
    match args.format {
        Format::Json => {
            let mut out = answers_json(x);
            out.insert("file".into(), json!(args.file));
            out.insert("net".into(), json!(net.name));
            out.insert("places".into(), json!(net.places().len()));
            out.insert("transitions".into(), json!(net.transitions().len()));
            out.insert("explored".into(), json!(a.explored));
            out.insert("engine".into(), json!(a.cost.engine));
            out.insert(
                "peak_bytes".into(),
                json!(a.cost.store_bytes.max(a.cost.components_bytes)),
            );
            out.insert(
                "deadlock_trace".into(),
                json!(a.deadlock_trace.as_ref().map(|t| names(net, t))),
            );
            let unbounded: Vec<Value> = a
                .unbounded
                .iter()
                .map(|u| json!({ "place": net.places()[u.place].name, "prefix": names(net, &u.prefix), "pump": names(net, &u.pump) }))
                .collect();
            out.insert("unbounded".into(), json!(unbounded));
            out.insert("dead_transitions".into(), json!(dead));
            out.insert(
                "seconds".into(),
                json!((a.cost.explore + a.cost.components).as_secs_f64()),
            );
            println!("{}", Value::Object(out));
        }
        Format::Text => {
            println!(
                "{} ({}): {} places, {} transitions",
                net.name,
                args.file.display(),
                net.places().len(),
                net.transitions().len()
            );
            print_answers(x, a.explored);
            if let Some(t) = &a.deadlock_trace {
                println!(
                    "deadlock after {} firing(s): {}",
                    t.len(),
                    names(net, t).join(" ")
                );
            }
            for u in &a.unbounded {
                println!(
                    "unbounded place `{}`: fire {} then repeat {}",
                    net.places()[u.place].name,
                    display_seq(&names(net, &u.prefix)),
                    display_seq(&names(net, &u.pump))
                );
            }
            if !dead.is_empty() {
                println!("dead transitions: {}", dead.join(", "));
            }
        }
    }
    if problem { PROBLEM } else { OK }
}

fn display_seq(s: &[&str]) -> String {
    if s.is_empty() {
        "nothing".into()
    } else {
        s.join(" ")
    }
}

fn show(v: Option<impl ToString>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

fn print_answers(x: &Answers, explored: u64) {
    println!(
        "  states {} (explored {explored}), max tokens in a place {}, in a marking {}",
        show(x.states),
        show(x.max_token_in_place),
        show(x.max_token_per_marking)
    );
    println!(
        "  deadlock {}, live {}, quasi-live {}, 1-safe {}, bounded {}",
        show(x.deadlock),
        show(x.live),
        show(x.quasi_live),
        show(x.one_safe),
        show(x.bounded)
    );
    if let Some(why) = &x.inconclusive {
        println!("  inconclusive: {why}");
    }
}

fn net_report(args: &Args, net: &Net, report: &Report, lints: &[Lint], notes: &[String]) -> u8 {
    match args.format {
        Format::Json => {
            let mut out = answers_json(report.answers());
            out.insert("file".into(), json!(args.file));
            out.insert("net".into(), json!(net.name()));
            out.insert(
                "cases".into(),
                json!(report.runs.last().map_or(1, |r| r.cases)),
            );
            let runs: Vec<Value> = report
                .runs
                .iter()
                .map(|r| {
                    let mut m = answers_json(&r.analysis.answers);
                    m.insert("cases".into(), json!(r.cases));
                    m.insert("explored".into(), json!(r.analysis.explored));
                    m.insert("completes".into(), json!(r.completes));
                    Value::Object(m)
                })
                .collect();
            out.insert("runs".into(), json!(runs));
            out.insert("sound".into(), json!(report.sound()));
            out.insert("problems".into(), json!(report.problems));
            out.insert("lints".into(), json!(lints));
            out.insert("notes".into(), json!(notes));
            println!("{}", Value::Object(out));
        }
        Format::Text => {
            println!("{} ({})", net.name(), args.file.display());
            for r in &report.runs {
                println!("{} case(s):", r.cases);
                print_answers(&r.analysis.answers, r.analysis.explored);
            }
            if report.sound() {
                let cases: Vec<String> = report.runs.iter().map(|r| r.cases.to_string()).collect();
                println!(
                    "sound with {} case(s): from every reachable marking every case can still complete (no deadlock, no livelock), every case completes properly, every outcome can fire; bounded",
                    cases.join(" and ")
                );
            }
            for p in &report.problems {
                println!("problem: {p}");
            }
            for l in lints {
                println!("{}: {} [{}]: {}", l.code, l.name, l.subject, l.message);
            }
            for n in notes {
                println!("note: {n}");
            }
        }
    }
    if report.sound() { OK } else { PROBLEM }
}
