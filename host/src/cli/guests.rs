//! The examples and their guests' sources, written out from this binary and
//! built (for `demo` and `bench`): no source tree needed, so an installed
//! `petrel` runs them anywhere.

use std::path::PathBuf;

use anyhow::Context;

use super::build::rust;
use super::embedded;

/// The written-out tree: `examples/`, `guests/` (a cargo workspace),
/// `guest-sdk/`, `wit/`.
pub(crate) struct Examples {
    /// Its root.
    pub(crate) root: PathBuf,
    /// Where the built components are.
    pub(crate) components: PathBuf,
}

/// Where this version's tree is written: `$XDG_CACHE_HOME/petrel/<version>`
/// (`~/.cache/petrel/<version>`), kept between runs so that cargo rebuilds
/// only what changed.
fn root() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("petrel").join(env!("CARGO_PKG_VERSION"))
}

/// Writes the examples and guests out (unchanged files are left alone) and
/// builds the guests for wasm32-wasip2 (a no-op when up to date).
pub(crate) fn build() -> anyhow::Result<Examples> {
    let root = root();
    for dir in ["examples", "guests", "wit"] {
        embedded::write_tree(dir, &root.join(dir))?;
    }
    embedded::write_rust_sdk(&root.join("guest-sdk"))?;
    println!(
        "building the example guests in {} ...",
        root.join("guests").display()
    );
    let mut cmd = rust::cargo(&root.join("guests/Cargo.toml"), None);
    cmd.arg("--quiet").env_remove("CARGO_TARGET_DIR");
    let status = cmd
        .status()
        .context("cannot run cargo to build the guests")?;
    if !status.success() {
        anyhow::bail!(
            "building the guests failed (is the target installed? `rustup target add wasm32-wasip2`)"
        );
    }
    Ok(Examples {
        components: root.join("guests/target/wasm32-wasip2/release"),
        root,
    })
}
