//! JavaScript and TypeScript guests: esbuild bundles the module with the SDK
//! and `@msgpack/msgpack`, componentize-js makes the component with every
//! WASI feature disabled (`--disable stdio random clocks http
//! fetch-event`), so it imports only `petrel:transition/*`.
//!
//! The project is a directory with a `package.json` whose `main` names the
//! module (`.ts` or `.js`) exporting `decide = transition(...)`; it imports
//! the SDK as `petrel-guest`. The tools come from the project's
//! `node_modules/.bin`, else from `PATH`; packages the project does not
//! install itself resolve from the toolchain's `node_modules` (`NODE_PATH`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::python::absolute;
use super::{Guest, build_stamped, find_tool};
use crate::cli::embedded;

/// WASI features componentize-js can leave out: all of them.
const DISABLED: &[&str] = &["stdio", "random", "clocks", "http", "fetch-event"];

pub(crate) fn build(guest: &Guest) -> anyhow::Result<()> {
    let project = &guest.project;
    let entry = entry_of(project)?;
    let support = project.join(".petrel");
    embedded::write_tree("wit", &support.join("wit"))?;
    let sdk = support.join("js");
    embedded::write_tree_except(
        "guest-sdk/js/src",
        &sdk,
        &["wit-llm.ts", "wit-llm-offline.ts"],
    )?;
    // Without `llm`, the SDK's import of it is replaced by a stub that
    // refuses every call, so the component does not import it.
    let llm_source = if guest.llm {
        "guest-sdk/js/src/wit-llm.ts"
    } else {
        "guest-sdk/js/src/wit-llm-offline.ts"
    };
    embedded::write_if_changed(&sdk.join("wit-llm.ts"), embedded::file(llm_source)?)?;

    let missing = |tool: &str| {
        format!(
            "{tool} is not installed: in `{}` run `npm install` (or put {tool} on PATH)",
            project.display()
        )
    };
    let esbuild =
        find_tool(project, "node_modules/.bin", "esbuild").with_context(|| missing("esbuild"))?;
    let componentize = find_tool(project, "node_modules/.bin", "componentize-js")
        .with_context(|| missing("componentize-js"))?;
    let node_path = toolchain_modules(&componentize);

    let out = absolute(&guest.out)?;
    let bundle = ".petrel/build/bundle.js";
    let mut bundler = Command::new(&esbuild);
    bundler
        .current_dir(project)
        .arg(&entry)
        .args([
            "--bundle",
            "--format=esm",
            "--platform=neutral",
            "--main-fields=module,main",
            "--external:petrel:*",
            "--alias:petrel-guest=./.petrel/js/index.ts",
            "--log-level=warning",
        ])
        .arg(format!("--outfile={bundle}"));
    if let Some(modules) = &node_path {
        bundler.env("NODE_PATH", modules);
    }
    let mut componentizer = Command::new(&componentize);
    componentizer
        .current_dir(project)
        .arg(bundle)
        .args([
            "--wit",
            ".petrel/wit",
            "--world-name",
            guest.world(),
            "--disable",
        ])
        .args(DISABLED)
        .arg("--out")
        .arg(&out);

    build_stamped(guest, "js", vec![bundler, componentizer])
}

/// The `main` of the project's `package.json`.
fn entry_of(project: &Path) -> anyhow::Result<String> {
    let file = project.join("package.json");
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not valid JSON", file.display()))?;
    let Some(main) = json.get("main").and_then(|m| m.as_str()) else {
        bail!(
            "{}: `main`: expected the path of the guest's module (e.g. \"src/index.ts\")",
            file.display()
        );
    };
    if !project.join(main).is_file() {
        bail!("{}: `main`: `{main}` does not exist", file.display());
    }
    Ok(main.to_string())
}

/// The `node_modules` directory the toolchain (componentize-js) lives in.
fn toolchain_modules(tool: &Path) -> Option<PathBuf> {
    let real = tool.canonicalize().ok()?;
    real.ancestors()
        .find(|dir| dir.file_name().is_some_and(|n| n == "node_modules"))
        .map(Path::to_path_buf)
}
