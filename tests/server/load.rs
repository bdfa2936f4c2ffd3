//! Short, bounded load smoke tests through `petrel bench-http`: in
//! process, and against the real `petrel serve` in a child process.

use crate::util::petrel;

fn bench_http(extra: &[&str]) -> String {
    let mut args = vec!["bench-http", "--seconds", "1", "--concurrency", "8"];
    args.extend_from_slice(extra);
    petrel(&args).expect_code(0).stdout()
}

fn assert_every_phase_ran_without_errors(out: &str) {
    for kind in ["start_case", "get_case", "claim", "complete"] {
        assert!(
            out.contains(&format!("  {kind} ")),
            "no {kind} line:\n{out}"
        );
    }
    assert_eq!(out.matches("errors      0").count(), 3, "{out}");
    assert!(out.contains("acknowledgements per flush"), "{out}");
    assert!(out.contains("one flush on this disk"), "{out}");
}

#[test]
fn bench_http_runs_without_errors_in_process() {
    assert_every_phase_ran_without_errors(&bench_http(&[]));
}

#[test]
fn bench_http_loads_a_child_petrel_serve_without_errors() {
    let out = bench_http(&["--spawn"]);
    assert!(out.contains("in a child process"), "{out}");
    assert!(out.contains("server RSS"), "{out}");
    assert_every_phase_ran_without_errors(&out);
}
