//! Building the example guests from source (for `demo` and `bench`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The source tree this binary was built from.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Builds `guests/` for wasm32-wasip2 (a no-op when up to date) and returns
/// the directory holding the `.wasm` components.
pub(crate) fn build(root: &Path) -> anyhow::Result<PathBuf> {
    let manifest = root.join("guests/Cargo.toml");
    if !manifest.exists() {
        bail!(
            "`{}` is missing: the demo needs the Petrel source tree (guests/ and examples/)",
            manifest.display()
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(&manifest);
    // Settings of an outer cargo invocation must not leak into the guests' build.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key == "RUSTFLAGS" {
            cmd.env_remove(&key);
        }
    }
    let status = cmd
        .status()
        .context("cannot run cargo to build the guests")?;
    if !status.success() {
        bail!(
            "building the guests failed (is the target installed? `rustup target add wasm32-wasip2`)"
        );
    }
    Ok(root.join("guests/target/wasm32-wasip2/release"))
}
