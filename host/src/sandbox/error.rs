//! Errors of loading and calling guests.

use std::path::PathBuf;

/// A guest component refused at deploy.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The component file could not be read (missing, not a regular file,
    /// larger than `[limits] component_kb`).
    #[error("transition `{transition}`: cannot read guest `{}`: {source}{}", path.display(), read_hint(source))]
    Read {
        /// The transition whose guest it is.
        transition: String,
        /// The component path.
        path: PathBuf,
        /// Why.
        source: crate::limits::ReadError,
    },
    /// The file is not a valid WebAssembly component for this engine.
    #[error("transition `{transition}`: guest `{}` is not a valid component: {message}", path.display())]
    Compile {
        /// The transition whose guest it is.
        transition: String,
        /// The component path.
        path: PathBuf,
        /// What wasmtime said.
        message: String,
    },
    /// The component imports an interface that no transition may use.
    #[error("transition `{transition}`: guest `{}` imports `{import}`, which Petrel never grants (guests get no filesystem, network or other host access; only `petrel:transition/log`, `petrel:transition/llm` when granted, and deny-all WASI cli/io/clocks/random)", path.display())]
    ForbiddenImport {
        /// The transition whose guest it is.
        transition: String,
        /// The component path.
        path: PathBuf,
        /// The import's name.
        import: String,
    },
    /// The component imports a capability its transition is not granted.
    #[error("transition `{transition}`: guest `{}` imports `{import}` but the net does not grant it (add `capabilities = [\"{capability}\"]` to the transition)", path.display())]
    NotGranted {
        /// The transition whose guest it is.
        transition: String,
        /// The component path.
        path: PathBuf,
        /// The import's name.
        import: String,
        /// The capability that would grant it.
        capability: &'static str,
    },
    /// The component does not implement the Petrel transition world.
    #[error("transition `{transition}`: guest `{}` does not implement the `petrel:transition/transition` world: {message}", path.display())]
    NotATransition {
        /// The transition whose guest it is.
        transition: String,
        /// The component path.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
}

fn read_hint(e: &crate::limits::ReadError) -> &'static str {
    match e {
        crate::limits::ReadError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            " (build the guests first, e.g. `cargo build --release --target wasm32-wasip2 --manifest-path guests/Cargo.toml`)"
        }
        crate::limits::ReadError::TooLarge { .. } => {
            " (the host's limit is `[limits] component_kb` in petrel.toml)"
        }
        _ => "",
    }
}
