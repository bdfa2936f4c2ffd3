//! `petrel build NET`: builds every guest the net file references, whatever
//! its language, and says what it ran.
//!
//! A guest's project is the nearest directory at or above its `.wasm` path
//! holding a `Cargo.toml` (Rust: `cargo build --release --target
//! wasm32-wasip2`), a `pyproject.toml` (Python: componentize-py) or a
//! `package.json` (JavaScript/TypeScript: esbuild, then componentize-js).
//! Before building a Python or JavaScript guest (or a Rust one scaffolded by
//! `petrel new`), the WIT contract and the SDK this binary carries are
//! written to the project's `.petrel/`. Python and JavaScript components are
//! built for the world the net grants: `transition` (with `llm`) or
//! `offline` (without: the component does not import `llm`).

mod js;
mod python;
pub(crate) mod rust;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use petrel::Net;
use petrel::net::{Capability, Performer};

use super::{OK, Outcome, bad_input};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The net file whose guests to build.
    net: PathBuf,
}

/// How a guest project is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Lang {
    Rust,
    Python,
    Js,
}

/// One component to build.
#[derive(Debug)]
pub(crate) struct Guest {
    /// Where the net file expects the component.
    pub(crate) out: PathBuf,
    /// The project directory.
    pub(crate) project: PathBuf,
    pub(crate) lang: Lang,
    /// Whether a transition using it is granted `llm`.
    pub(crate) llm: bool,
    /// The transitions using it, for messages.
    pub(crate) transitions: Vec<String>,
}

impl Guest {
    /// The WIT world to build a Python or JavaScript component for.
    pub(crate) fn world(&self) -> &'static str {
        if self.llm { "transition" } else { "offline" }
    }
}

pub(crate) fn run(args: Args) -> Outcome {
    let net = Net::load(&args.net).map_err(bad_input)?;
    let guests = plan(&net).map_err(bad_input)?;
    if guests.is_empty() {
        println!(
            "{}: no transition runs a guest; nothing to build",
            args.net.display()
        );
        return Ok(OK);
    }
    let mut cargo_done = Vec::new();
    for guest in &guests {
        match guest.lang {
            Lang::Rust if cargo_done.contains(&guest.project) => {}
            Lang::Rust => {
                rust::build(guest)?;
                cargo_done.push(guest.project.clone());
            }
            Lang::Python => python::build(guest)?,
            Lang::Js => js::build(guest)?,
        }
        if !guest.out.is_file() {
            return Err(anyhow::anyhow!(
                "the build of `{}` succeeded but `{}` is not there (the net file expects the component at that path)",
                guest.project.display(),
                guest.out.display()
            )
            .into());
        }
    }
    println!("built {} guest(s) for {}", guests.len(), args.net.display());
    Ok(OK)
}

/// The guests of `net`, one per component path, in a stable order.
pub(crate) fn plan(net: &Net) -> anyhow::Result<Vec<Guest>> {
    let mut by_path: BTreeMap<PathBuf, Guest> = BTreeMap::new();
    for t in net.transitions() {
        let Performer::Guest { path, declared } = &t.performer else {
            continue;
        };
        if let Some(guest) = by_path.get_mut(path) {
            guest.llm |= t.grants(Capability::Llm);
            guest.transitions.push(t.name.clone());
            continue;
        }
        let (project, lang) = project_of(path).with_context(|| {
            format!(
                "transition `{}`: cannot tell how to build `{declared}`",
                t.name
            )
        })?;
        by_path.insert(
            path.clone(),
            Guest {
                out: path.clone(),
                project,
                lang,
                llm: t.grants(Capability::Llm),
                transitions: vec![t.name.clone()],
            },
        );
    }
    let mut guests: Vec<Guest> = by_path.into_values().collect();
    guests.sort_by(|a, b| (a.lang, &a.out).cmp(&(b.lang, &b.out)));
    Ok(guests)
}

/// The nearest project directory at or above `wasm`'s directory.
fn project_of(wasm: &Path) -> anyhow::Result<(PathBuf, Lang)> {
    let start = wasm.parent().unwrap_or(Path::new("."));
    let start = if start.as_os_str().is_empty() {
        Path::new(".")
    } else {
        start
    };
    for dir in start.ancestors() {
        for (marker, lang) in [
            ("Cargo.toml", Lang::Rust),
            ("pyproject.toml", Lang::Python),
            ("package.json", Lang::Js),
        ] {
            if dir.join(marker).is_file() {
                return Ok((dir.to_path_buf(), lang));
            }
        }
    }
    bail!(
        "no Cargo.toml, pyproject.toml or package.json in `{}` or any directory above it \
         (`petrel new DIR --lang rust|python|js` scaffolds a guest project)",
        start.display()
    )
}

/// Prints `cmd` the way a shell would run it, runs it, and fails naming it
/// when it does not succeed.
pub(crate) fn run_command(mut cmd: Command) -> anyhow::Result<()> {
    let shown = show(&cmd);
    println!("running: {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// A command line as a shell would take it (cwd first when set).
pub(crate) fn show(cmd: &Command) -> String {
    let quote = |s: &std::ffi::OsStr| {
        let s = s.to_string_lossy();
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
        {
            s.into_owned()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut line = String::new();
    if let Some(dir) = cmd.get_current_dir() {
        line.push_str(&format!("(cd {} && ", quote(dir.as_os_str())));
    }
    line.push_str(&quote(cmd.get_program()));
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    if cmd.get_current_dir().is_some() {
        line.push(')');
    }
    line
}

/// `name`'s path: in the project's own tool directory if it has one (a
/// `.venv/bin`, `node_modules/.bin`), else the first on `PATH`.
pub(crate) fn find_tool(project: &Path, local_dir: &str, name: &str) -> Option<PathBuf> {
    let local = project.join(local_dir).join(name);
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Whether `out` is newer than every file of `project` (the tools' own
/// directories, build outputs and `.petrel/build` aside) and was built by
/// the same command line, recorded in `stamp`.
fn up_to_date(project: &Path, out: &Path, stamp: &Path, command: &str) -> bool {
    let Ok(built) = out.metadata().and_then(|m| m.modified()) else {
        return false;
    };
    if std::fs::read_to_string(stamp).ok().as_deref() != Some(command) {
        return false;
    }
    newest_source(project, out).is_some_and(|newest| newest <= built)
}

fn newest_source(dir: &Path, out: &Path) -> Option<std::time::SystemTime> {
    let mut newest = std::time::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path == out
            || matches!(
                name.as_ref(),
                "node_modules" | ".venv" | "__pycache__" | "target" | "build" | ".git"
            )
            || name.ends_with(".wasm")
        {
            continue;
        }
        let meta = entry.metadata().ok()?;
        let time = if meta.is_dir() {
            newest_source(&path, out)?
        } else {
            meta.modified().ok()?
        };
        newest = newest.max(time);
    }
    Some(newest)
}

/// Runs `commands` to build `guest`, unless its component is up to date
/// with its project and was built by the same commands (recorded in
/// `.petrel/build/<name>.cmd`).
pub(crate) fn build_stamped(
    guest: &Guest,
    name: &str,
    commands: Vec<Command>,
) -> anyhow::Result<()> {
    let stamp = guest
        .project
        .join(".petrel/build")
        .join(format!("{name}.cmd"));
    let line = commands.iter().map(show).collect::<Vec<_>>().join("\n");
    if up_to_date(&guest.project, &guest.out, &stamp, &line) {
        println!("up to date: {}", guest.out.display());
        return Ok(());
    }
    if let Some(dir) = guest.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    for cmd in commands {
        run_command(cmd)?;
    }
    super::embedded::write_if_changed(&stamp, line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_project_of_each_kind() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (marker, sub) in [
            ("Cargo.toml", "rs"),
            ("pyproject.toml", "py"),
            ("package.json", "js"),
        ] {
            std::fs::create_dir_all(root.join(sub).join("out/deep")).unwrap();
            std::fs::write(root.join(sub).join(marker), "").unwrap();
        }
        let lang = |sub: &str| project_of(&root.join(sub).join("out/deep/x.wasm")).unwrap();
        assert_eq!(lang("rs"), (root.join("rs"), Lang::Rust));
        assert_eq!(lang("py"), (root.join("py"), Lang::Python));
        assert_eq!(lang("js"), (root.join("js"), Lang::Js));
    }

    #[test]
    fn shows_commands_as_a_shell_would_take_them() {
        let mut cmd = Command::new("componentize-py");
        cmd.args(["-w", "offline", "a b"]).current_dir("/tmp/x");
        assert_eq!(
            show(&cmd),
            "(cd /tmp/x && componentize-py -w offline 'a b')"
        );
    }
}
