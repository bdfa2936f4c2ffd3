//! Rust guests: `cargo build --release --target wasm32-wasip2`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::bail;

use super::{Guest, run_command};
use crate::cli::embedded;

/// Where cargo puts a project's components.
const OUT_DIR: &str = "target/wasm32-wasip2/release";

/// Builds the cargo project (workspace) holding `guest`: all of its
/// components at once.
pub(crate) fn build(guest: &Guest) -> anyhow::Result<()> {
    let expected = guest.project.join(OUT_DIR);
    let out_dir = guest.out.parent().unwrap_or(Path::new("."));
    if !same_dir(out_dir, &expected) {
        bail!(
            "`{}` is in a Rust project (`{}`), whose components cargo writes to `{}`; \
             point the net file's `guest` there",
            guest.out.display(),
            guest.project.join("Cargo.toml").display(),
            expected.display()
        );
    }
    // A project `petrel new` scaffolded depends on the SDK in `.petrel/`:
    // refresh it from this binary.
    let support = guest.project.join(".petrel");
    if support.join("rust").is_dir() {
        embedded::write_rust_sdk(&support.join("rust"))?;
    }
    run_command(cargo(&guest.project.join("Cargo.toml"), None))?;
    copy_from_target_dir(guest)
}

/// `cargo build --release --target wasm32-wasip2 --manifest-path MANIFEST`,
/// without the settings an outer cargo (`cargo run`, a build script) would
/// leak into it; `target_dir` overrides where it builds.
pub(crate) fn cargo(manifest: &Path, target_dir: Option<&Path>) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(manifest);
    if let Some(dir) = target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let keep = matches!(key.as_str(), "CARGO_HOME" | "CARGO_TARGET_DIR");
        if (key.starts_with("CARGO_") && !keep) || key == "RUSTFLAGS" || key == "RUSTC_WRAPPER" {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// With `CARGO_TARGET_DIR` set, cargo wrote the component there: copy it
/// where the net file expects it.
fn copy_from_target_dir(guest: &Guest) -> anyhow::Result<()> {
    let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") else {
        return Ok(());
    };
    let name = guest.out.file_name().unwrap_or_default();
    let built = PathBuf::from(dir).join("wasm32-wasip2/release").join(name);
    if built.is_file() {
        std::fs::create_dir_all(guest.out.parent().unwrap_or(Path::new(".")))?;
        std::fs::copy(&built, &guest.out)?;
        println!("copied {} to {}", built.display(), guest.out.display());
    }
    Ok(())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| {
        // The output directory may not exist before the first build: compare
        // its parent's canonical path plus its name instead.
        p.canonicalize().ok().or_else(|| {
            let parent = p.parent()?.canonicalize().ok()?;
            Some(parent.join(p.file_name()?))
        })
    };
    match (canon(a), canon(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}
