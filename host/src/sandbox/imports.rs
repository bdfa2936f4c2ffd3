//! Which imports a guest component may have.
//!
//! Least privilege is structural: a component is linked only against the
//! interfaces below, and refused at deploy (naming the import) if it imports
//! anything else. The WASI interfaces a plain Rust `wasm32-wasip2` guest
//! imports even when unused are satisfied deny-all (see `state`).

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::net::Capability;

/// WASI interfaces linked for every guest, satisfied deny-all and deterministically.
const WASI_ALLOWED: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// Interfaces of the contract that carry only types.
const TYPES_ONLY: &[&str] = &["petrel:transition/types"];

/// What an import is, for deploy-time checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImportKind {
    /// Deny-all WASI or type-only contract interface: always fine.
    Allowed,
    /// A Petrel capability: fine only when the transition is granted it.
    Capability(Capability),
    /// Anything else: never linked.
    Forbidden,
}

/// The import name without its `@version`.
pub(crate) fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(base, _)| base)
}

/// Classifies one import name such as `wasi:io/poll@0.2.6`.
pub(crate) fn classify(name: &str) -> ImportKind {
    let base = unversioned(name);
    if WASI_ALLOWED.contains(&base) || TYPES_ONLY.contains(&base) {
        ImportKind::Allowed
    } else if base == Capability::Log.interface() {
        ImportKind::Capability(Capability::Log)
    } else if base == Capability::Llm.interface() {
        ImportKind::Capability(Capability::Llm)
    } else {
        ImportKind::Forbidden
    }
}

/// The names of everything `component` imports, in its own order.
pub(crate) fn imports_of(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_wasi_capabilities_and_everything_else() {
        assert_eq!(classify("wasi:cli/environment@0.2.6"), ImportKind::Allowed);
        assert_eq!(
            classify("petrel:transition/types@0.1.0"),
            ImportKind::Allowed
        );
        assert_eq!(
            classify("petrel:transition/llm@0.1.0"),
            ImportKind::Capability(Capability::Llm)
        );
        assert_eq!(
            classify("wasi:filesystem/preopens@0.2.6"),
            ImportKind::Forbidden
        );
        assert_eq!(classify("wasi:sockets/tcp@0.2.6"), ImportKind::Forbidden);
        assert_eq!(
            classify("wasi:http/outgoing-handler@0.2.6"),
            ImportKind::Forbidden
        );
    }
}
