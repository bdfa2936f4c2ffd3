//! Builds the guest components from source (`guests/`, its own workspace,
//! for wasm32-wasip2) and tells the tests where they are, like wasmtime's
//! test-programs artifacts.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    for dir in ["guests", "guest-sdk", "wit"] {
        watch(&root.join(dir));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(root.join("guests/Cargo.toml"));
    // Settings meant for this build script's own compilation must not leak
    // into the guests' (other target, other workspace, other profile).
    for (key, _) in std::env::vars() {
        if (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_MAKEFLAGS")
            || key == "RUSTFLAGS"
            || key == "RUSTC_WRAPPER"
        {
            cmd.env_remove(&key);
        }
    }
    let status = cmd.status().expect("cannot run cargo to build the guests");
    assert!(
        status.success(),
        "building guests/ for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );
    println!(
        "cargo:rustc-env=PETREL_GUESTS_DIR={}",
        root.join("guests/target/wasm32-wasip2/release").display()
    );
    println!("cargo:rustc-env=PETREL_REPO_ROOT={}", root.display());
}

fn watch(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let skipped = ["target", "node_modules", "__pycache__", "dist"];
        if skipped.iter().any(|s| name == *s) || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            watch(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
