//! Embeds the files an installed `petrel` writes out: the WIT contract, the
//! guest SDKs (Rust, Python, JavaScript), the `petrel new` templates, and the
//! examples with their guests' sources (for `petrel demo` and `petrel bench`),
//! so that `cargo install --path host` gives a binary that needs no source
//! tree. The list is generated: every file under the directories below,
//! without build outputs, dependencies and dotfiles.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Repository paths embedded (files, or directories walked recursively).
const EMBEDDED: &[&str] = &[
    "Cargo.toml",
    "wit",
    "guest-sdk/Cargo.toml",
    "guest-sdk/src",
    "guest-sdk/python/requirements.txt",
    "guest-sdk/python/petrel_guest",
    "guest-sdk/js/package.json",
    "guest-sdk/js/package-lock.json",
    "guest-sdk/js/src",
    "guests",
    "examples",
    "host/templates",
];

/// Names never embedded: build outputs, installed dependencies, caches.
const SKIPPED: &[&str] = &["target", "node_modules", "__pycache__", "dist"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.parent().expect("host/ has a parent").to_path_buf();
    let mut files = Vec::new();
    for entry in EMBEDDED {
        collect(&root, &root.join(entry), &mut files);
    }
    files.sort();
    let mut out = String::from(
        "/// Every embedded file: (path relative to the repository root, contents).\n\
         pub(crate) static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (relative, absolute) in &files {
        writeln!(
            out,
            "    ({relative:?}, include_bytes!({:?})),",
            absolute.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("embedded.rs");
    std::fs::write(dest, out).expect("write embedded.rs");
}

fn collect(root: &Path, path: &Path, files: &mut Vec<(String, PathBuf)>) {
    if skipped(path) {
        return;
    }
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        // Watching a directory makes cargo scan all of it: only those
        // holding nothing skipped (a guest's build outputs would otherwise
        // rebuild the host every time a guest is built).
        if !entries.iter().any(|e| skipped(e)) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        for entry in entries {
            collect(root, &entry, files);
        }
    } else if path.is_file() {
        println!("cargo:rerun-if-changed={}", path.display());
        let relative = path
            .strip_prefix(root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        files.push((relative, path.to_path_buf()));
    }
}

fn skipped(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.starts_with('.') || SKIPPED.contains(&name.as_str()) || name.ends_with(".wasm")
}
