//! A short, bounded load smoke test through `petrel bench-http`.

use crate::util::petrel;

#[test]
fn bench_http_runs_without_errors() {
    let run = petrel(&["bench-http", "--seconds", "2", "--concurrency", "8"]).expect_code(0);
    let out = run.stdout();
    assert!(out.contains("errors 0"), "{out}");
    assert!(
        out.contains("start_case") && out.contains("get_case"),
        "{out}"
    );
}
