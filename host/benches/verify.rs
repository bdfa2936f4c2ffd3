//! State-space engine benchmark: the full StateSpace answer (states, both
//! token maxima, deadlock, liveness, quasi-liveness, 1-safety) for
//! Kanban-PT-00005 (2.55 M states) and FMS-PT-00005 (2.90 M states).
//!
//! ```text
//! cargo bench -p petrel --bench verify [-- MODEL_OR_PNML ...] [--runs N]
//! ```
//!
//! Models are looked up in `$PETREL_MCC_DIR/models` (default
//! `../shared/mcc/models` beside the repository). Prints, per run, wall and
//! CPU time, states/s and bytes per stored state (peak of the visited set,
//! parents and queue, over the states), and the peak of the liveness search.

use std::path::PathBuf;
use std::time::Instant;

use petrel::verify::{Options, analyse, pnml};

/// CPU time of this process (user + system) from `/proc/self/stat`, if readable.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut runs = 3;
    if let Some(i) = args.iter().position(|a| a == "--runs") {
        runs = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .expect("--runs N");
        args.drain(i..=i + 1);
    }
    if args.is_empty() {
        args = vec!["Kanban-PT-00005".into(), "FMS-PT-00005".into()];
    }
    let dir = std::env::var_os("PETREL_MCC_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/mcc"),
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
        let path = if model.ends_with(".pnml") {
            PathBuf::from(model)
        } else {
            dir.join(format!("{model}.pnml"))
        };
        for _ in 0..runs {
            let cpu0 = cpu_seconds();
            let start = Instant::now();
            let net = pnml::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let parsed = start.elapsed();
            let a = analyse(&net, &Options::default());
            let total = start.elapsed();
            let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
            let states = a.explored as f64;
            println!(
                "{:<24} {:>9} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>12.0} {:>10.1} {:>10.1}   cpu {} s, marking {} B, live {:?}",
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
                a.cost.marking_bytes,
                a.answers.live,
            );
        }
    }
}
