//! Compiled components cached on disk.
//!
//! An artifact is tied to the engine's configuration (fuel on/off, target,
//! wasmtime version), so the key is the component's BLAKE3 hash plus the
//! engine's precompile-compatibility hash:
//! `<cache dir>/<component hash, 32 hex>-<engine hash, 16 hex>.cwasm`.
//! A missing, stale or unreadable artifact is simply recompiled.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Hex BLAKE3 hash of a component's bytes.
pub(crate) fn component_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

fn engine_hash(engine: &Engine) -> u64 {
    // DefaultHasher::new() has fixed keys: stable across runs of one build.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

fn artifact_path(dir: &Path, engine: &Engine, hash: &str) -> PathBuf {
    dir.join(format!(
        "{}-{:016x}.cwasm",
        &hash[..32],
        engine_hash(engine)
    ))
}

/// The artifact a previous run left in `dir` for the component `hash`, if
/// there is a usable one.
pub(crate) fn load(engine: &Engine, dir: Option<&Path>, hash: &str) -> Option<Component> {
    let path = artifact_path(dir?, engine, hash);
    if !path.exists() {
        return None;
    }
    // SAFETY: the file was written by `Component::serialize` for an
    // engine with this exact compatibility hash, under the data dir this
    // process owns (sled holds its lock); wasmtime re-checks the header.
    #[allow(unsafe_code)]
    match unsafe { Component::deserialize_file(engine, &path) } {
        Ok(component) => Some(component),
        Err(err) => {
            tracing::warn!(path = %path.display(), cause = %err, "stale compiled artifact; recompiling");
            None
        }
    }
}

/// Caches `component` (compiled from the component `hash`) in `dir`. Called
/// only for a component that passed every deploy check, so a refused one
/// leaves nothing behind.
pub(crate) fn store(engine: &Engine, dir: Option<&Path>, hash: &str, component: &Component) {
    let Some(dir) = dir else { return };
    let path = artifact_path(dir, engine, hash);
    let written = component
        .serialize()
        .map_err(|e| std::io::Error::other(format!("{e:#}")))
        .and_then(|bytes| write_atomically(dir, &path, &bytes));
    if let Err(err) = written {
        tracing::warn!(path = %path.display(), cause = %err, "cannot cache compiled artifact");
    }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
