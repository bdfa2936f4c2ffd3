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

/// Compiles `bytes`, or loads the artifact a previous run left in `dir`.
pub(crate) fn compile(
    engine: &Engine,
    dir: Option<&Path>,
    hash: &str,
    bytes: &[u8],
) -> wasmtime::Result<Component> {
    let Some(dir) = dir else {
        return Component::from_binary(engine, bytes);
    };
    let path = artifact_path(dir, engine, hash);
    if path.exists() {
        // SAFETY: the file was written by `Component::serialize` for an
        // engine with this exact compatibility hash, under the data dir this
        // process owns (sled holds its lock); wasmtime re-checks the header.
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), cause = %err, "stale compiled artifact; recompiling")
            }
        }
    }
    let component = Component::from_binary(engine, bytes)?;
    if let Err(err) = write_atomically(dir, &path, &component.serialize()?) {
        tracing::warn!(path = %path.display(), cause = %err, "cannot cache compiled artifact");
    }
    Ok(component)
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
