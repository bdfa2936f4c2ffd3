//! `petrel new DIR --lang rust|python|js`: a guest project and a net file
//! with one transition using it (start place, final place), ready for
//! `petrel build` and `petrel start`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum;
use serde_json::json;

use super::{OK, Outcome, bad_input, embedded};

/// A guest language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Lang {
    /// Rust, with the `petrel-guest` crate (cargo).
    Rust,
    /// Python, with componentize-py.
    Python,
    /// TypeScript (or JavaScript), with componentize-js.
    Js,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The directory to create (it must not exist, or be empty).
    dir: PathBuf,
    /// The guest's language.
    #[arg(long, value_enum)]
    lang: Lang,
    /// The net's and the transition's name (default: the directory's name,
    /// as an identifier).
    #[arg(long)]
    name: Option<String>,
}

pub(crate) fn run(args: Args) -> Outcome {
    if std::fs::read_dir(&args.dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(bad_input(anyhow::anyhow!(
            "`{}` exists and is not empty (choose a new directory)",
            args.dir.display()
        )));
    }
    let name = match &args.name {
        Some(name) => name.clone(),
        None => identifier(
            &args
                .dir
                .canonicalize()
                .unwrap_or_else(|_| args.dir.clone())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(bad_input(anyhow::anyhow!(
            "`--name {name}`: expected a name of lowercase letters, digits and `_`, not starting with a digit"
        )));
    }
    let written = scaffold(&args.dir, args.lang, &name)?;
    for path in &written {
        println!("created {}", path.display());
    }
    let net = args.dir.join("net.toml");
    let net = net.display();
    let setup = match args.lang {
        Lang::Rust => "rustup target add wasm32-wasip2".to_string(),
        Lang::Python => format!(
            "(cd {} && python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)",
            args.dir.join("guest").display()
        ),
        Lang::Js => format!("npm install --prefix {}", args.dir.join("guest").display()),
    };
    println!(
        "\nnext:\n  {setup}\n  petrel build {net}\n  petrel start {net} --data {data} --case c-1 --token 'start={{\"message\":\"hello\"}}'\n  petrel run --data {data}",
        data = args.dir.join("data").display()
    );
    Ok(OK)
}

/// Writes the project; returns the files written (the SDK's aside).
pub(crate) fn scaffold(dir: &Path, lang: Lang, name: &str) -> anyhow::Result<Vec<PathBuf>> {
    let guest = dir.join("guest");
    let crate_name = name.replace('_', "-");
    let (template, wasm, lang_name) = match lang {
        Lang::Rust => (
            "host/templates/rust",
            format!("guest/target/wasm32-wasip2/release/{name}.wasm"),
            "Rust",
        ),
        Lang::Python => (
            "host/templates/python",
            format!("guest/dist/{name}.wasm"),
            "Python",
        ),
        Lang::Js => (
            "host/templates/js",
            format!("guest/dist/{name}.wasm"),
            "TypeScript",
        ),
    };
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{guest}}", &wasm)
            .replace("{{lang}}", lang_name)
    };
    let mut written = Vec::new();
    let mut write = |path: PathBuf, text: String| -> anyhow::Result<()> {
        embedded::write_if_changed(&path, text.as_bytes())?;
        written.push(path);
        Ok(())
    };
    write(
        dir.join("net.toml"),
        fill(embedded::text("host/templates/net.toml")?),
    )?;
    let prefix = format!("{template}/");
    for (path, bytes) in embedded::FILES {
        if let Some(rest) = path.strip_prefix(&prefix) {
            let text = std::str::from_utf8(bytes).context("a template is not UTF-8")?;
            write(guest.join(rest), fill(text))?;
        }
    }
    match lang {
        Lang::Rust => {
            // The same dependency versions as the examples' guests.
            write(
                guest.join("Cargo.lock"),
                embedded::text("guests/Cargo.lock")?.to_string(),
            )?;
            embedded::write_rust_sdk(&guest.join(".petrel/rust"))?;
        }
        Lang::Python => write(
            guest.join("requirements.txt"),
            embedded::text("guest-sdk/python/requirements.txt")?.to_string(),
        )?,
        Lang::Js => write(guest.join("package.json"), js_package(&crate_name, name)?)?,
    }
    write(
        guest.join(".gitignore"),
        ".petrel/\n.venv/\nnode_modules/\ntarget/\ndist/\n".into(),
    )?;
    Ok(written)
}

/// The guest's `package.json`: the SDK's pinned toolchain and MessagePack.
fn js_package(crate_name: &str, name: &str) -> anyhow::Result<String> {
    let sdk: serde_json::Value = serde_json::from_str(embedded::text("guest-sdk/js/package.json")?)
        .context("embedded guest-sdk/js/package.json")?;
    let package = json!({
        "name": crate_name,
        "description": format!("Transition `{name}`"),
        "version": "0.1.0",
        "private": true,
        "type": "module",
        "main": "src/index.ts",
        "dependencies": sdk["dependencies"],
        "devDependencies": sdk["devDependencies"],
    });
    Ok(serde_json::to_string_pretty(&package)? + "\n")
}

/// `name` as a net identifier: lowercase ASCII letters, digits and `_`.
fn identifier(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert_str(0, "guest_");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_become_identifiers() {
        assert_eq!(identifier("My-Guest.v2"), "my_guest_v2");
        assert_eq!(identifier("2fa"), "guest_2fa");
    }

    #[test]
    fn every_language_gets_a_net_and_a_project() {
        for (lang, marker) in [
            (Lang::Rust, "guest/Cargo.toml"),
            (Lang::Python, "guest/pyproject.toml"),
            (Lang::Js, "guest/package.json"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            scaffold(dir.path(), lang, "hello").unwrap();
            assert!(dir.path().join(marker).is_file(), "{lang:?}");
            let net = petrel::Net::load(dir.path().join("net.toml")).unwrap();
            assert_eq!(net.transitions()[0].name, "hello");
            let text = std::fs::read_to_string(dir.path().join(marker)).unwrap();
            assert!(!text.contains("{{"), "{lang:?}: {text}");
        }
    }
}
