//! Python guests: componentize-py, `--stub-wasi`.
//!
//! The project is a directory with a `pyproject.toml`; its module (default
//! `app`, or `[tool.petrel] module`) binds `WitWorld = transition(decide)`.
//! `--stub-wasi` replaces every WASI import with a trapping stub, so the
//! component imports only `petrel:transition/*`: no files, sockets,
//! environment, clocks or OS randomness (using them traps: a failed firing).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::{Guest, build_stamped, find_tool};
use crate::cli::embedded;

pub(crate) fn build(guest: &Guest) -> anyhow::Result<()> {
    let project = &guest.project;
    let module = module_of(project)?;
    let support = project.join(".petrel");
    embedded::write_tree("wit", &support.join("wit"))?;
    embedded::write_tree("guest-sdk/python", &support.join("python"))?;
    let tool = find_tool(project, ".venv/bin", "componentize-py").with_context(|| {
        format!(
            "componentize-py is not installed: in `{}` run `python3 -m venv .venv && \
             .venv/bin/pip install -r requirements.txt` (or put componentize-py on PATH)",
            project.display()
        )
    })?;
    let out = absolute(&guest.out)?;
    let mut cmd = Command::new(tool);
    cmd.current_dir(project)
        .args(["-d", ".petrel/wit", "-w", guest.world(), "--quiet"])
        .args([
            "componentize",
            "--stub-wasi",
            "-p",
            ".",
            "-p",
            ".petrel/python",
        ])
        .arg(&module)
        .arg("-o")
        .arg(&out);
    build_stamped(guest, "python", vec![cmd])
}

/// `[tool.petrel] module` of the project's `pyproject.toml`, default `app`.
fn module_of(project: &Path) -> anyhow::Result<String> {
    let file = project.join("pyproject.toml");
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("`{}` is not valid TOML", file.display()))?;
    let module = table
        .get("tool")
        .and_then(|t| t.get("petrel"))
        .and_then(|p| p.get("module"));
    let module = match module {
        None => "app".to_string(),
        Some(toml::Value::String(m)) => m.clone(),
        Some(other) => bail!(
            "{}: `tool.petrel.module`: expected the name of a Python module, found {}",
            file.display(),
            other.type_str()
        ),
    };
    let file_of_module = project.join(format!("{}.py", module.replace('.', "/")));
    let package_of_module = project.join(module.replace('.', "/")).join("__init__.py");
    if !file_of_module.is_file() && !package_of_module.is_file() {
        bail!(
            "{}: module `{module}` not found (expected `{}`)",
            file.display(),
            file_of_module.display()
        );
    }
    Ok(module)
}

pub(super) fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}
