//! schemathesis (PyPI) against `/openapi.json` of a real `petrel serve`:
//! no 5xx, and every response (status, content type, headers, body)
//! matches the document. Installed by `.ci/run` and the README's test
//! command into `target/schemathesis`; skipped, saying so, when absent.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use super::Target;
use crate::server::PAYMENTS_NET;
use crate::util::repo;

/// The schemathesis executable: `$SCHEMATHESIS`, the one the test command
/// installs, or one on the PATH.
fn schemathesis() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    let installed = repo().join("target/schemathesis/bin/schemathesis");
    if installed.exists() {
        return Some(installed);
    }
    let on_path = Command::new("schemathesis").arg("--version").output();
    on_path
        .is_ok_and(|o| o.status.success())
        .then(|| PathBuf::from("schemathesis"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_as_its_openapi_document_says() {
    let Some(st) = schemathesis() else {
        eprintln!(
            "SKIPPED: schemathesis is not installed (the README's test command installs it into target/schemathesis; or set SCHEMATHESIS)"
        );
        return;
    };
    let target = Target::start("");
    let api = target.api();
    api.post("/v1/nets", json!({ "source": PAYMENTS_NET }))
        .await
        .expect(201);
    api.post("/v1/cases", json!({ "net": "payments", "id": "c-1" }))
        .await
        .expect(201);
    let reports = target.dir.path().join("schemathesis-report");
    let base = api.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&st)
            .arg("run")
            .arg(format!("{base}/openapi.json"))
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
                "--max-examples",
                "20",
                "--seed",
                "1",
                "--workers",
                "1",
                "--no-color",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
                // An endless stream: nothing to check in one response.
                "--exclude-path",
                "/v1/events",
            ])
            .arg("--report-dir")
            .arg(&reports)
            .current_dir(repo().join("target"))
            .output()
            .expect("cannot run schemathesis")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout.lines().rev().take(40).collect::<Vec<_>>();
    eprintln!(
        "{}",
        summary.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    assert!(
        output.status.success(),
        "schemathesis found responses that break the document:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
