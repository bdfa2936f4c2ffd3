//! The Python SDK's own unit tests (`guest-sdk/python/tests`), run with the
//! toolchain's Python: its builder, payload and `llm` helpers outside a
//! component.

use std::process::Command;

use crate::util::repo;

#[test]
fn python_sdk_unit_tests_pass() {
    let dir = repo().join("guest-sdk/python");
    let output = Command::new(dir.join(".venv/bin/python"))
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            "tests",
            "-p",
            "test_*.py",
        ])
        .current_dir(&dir)
        .output()
        .expect("run the toolchain's python (guest-sdk/install-toolchains installs it)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Ran ") && !stderr.contains("Ran 0 tests"),
        "{stderr}"
    );
}
