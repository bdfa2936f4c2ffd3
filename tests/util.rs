//! Test harness: guests, temp data dirs, and running the real binary with a
//! report (command, stdout, stderr, data dir listing) when a check fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A built guest component.
pub fn guest(name: &str) -> PathBuf {
    let path = Path::new(env!("PETREL_GUESTS_DIR")).join(format!("{name}.wasm"));
    assert!(path.exists(), "guest {} was not built", path.display());
    path
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("PETREL_REPO_ROOT"))
}

/// Builds a target of the `petrel` package with this test's profile
/// (`args` picks it, e.g. `["--bin", "petrel"]`) and returns `path` under
/// the profile's directory.
fn build_petrel_target(args: &[&str], path: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/tests-<hash> -> target/<profile>/<path>
    let out = exe.parent().unwrap().parent().unwrap().join(path);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "petrel"])
        .args(args)
        .current_dir(repo());
    // What `cargo test` sets for this test binary must not reach the build:
    // a dependency's build script watches CARGO_MANIFEST_DIR and OUT_DIR (ring
    // does), and
    // a changed value rebuilds it and all above it here, then again in the
    // next `cargo test` (some 40 s each way on 2 cores).
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let per_crate = [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_BIN_EXE_",
            "CARGO_CRATE_",
        ];
        if per_crate.iter().any(|p| key.starts_with(p))
            || [
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "CARGO_BIN_NAME",
                "OUT_DIR",
            ]
            .contains(&key.as_str())
        {
            cmd.env_remove(&key);
        }
    }
    if exe.to_string_lossy().contains("/release/") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cannot run cargo build");
    assert!(status.success(), "building petrel {args:?} failed");
    assert!(out.exists(), "{} missing after build", out.display());
    out
}

/// The `petrel` binary of this build, built on first use; `PETREL_BIN`
/// names another one instead (e.g. an older build, to measure an attack
/// before its fix).
pub fn petrel_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("PETREL_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => build_petrel_target(&["--bin", "petrel"], "petrel"),
    })
}

/// Whether the binary under test is another build (`PETREL_BIN`), which
/// may not know this build's settings.
pub fn other_build() -> bool {
    std::env::var_os("PETREL_BIN").is_some()
}

/// Peak resident memory of process `pid` so far (`VmHWM`), in bytes.
pub fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("a VmHWM line");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in kB");
    kb * 1024
}

/// Bytes of every file under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    petrel::store::bytes_under(dir)
}

/// An example program of the `petrel` package (`host/examples/NAME.rs`), built.
pub fn petrel_example(name: &str) -> PathBuf {
    build_petrel_target(&["--example", name], &format!("examples/{name}"))
}

/// Writes `text` as a net file in `dir`, replacing `GUEST(name)` with the
/// path of that built guest.
pub fn write_net(dir: &Path, file: &str, text: &str) -> PathBuf {
    let mut out = text.to_string();
    while let Some(start) = out.find("GUEST(") {
        let end = start + out[start..].find(')').unwrap();
        let name = out[start + 6..end].to_string();
        out.replace_range(start..=end, &guest(&name).display().to_string());
    }
    let path = dir.join(file);
    std::fs::write(&path, out).unwrap();
    path
}

/// One finished run of the binary.
pub struct Run {
    pub command: String,
    pub output: Output,
    pub data: Option<PathBuf>,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| self.fail(&format!("stdout is not JSON: {e}")))
    }
    /// Panics with the whole report.
    pub fn fail(&self, why: &str) -> ! {
        let listing = self.data.as_ref().map(|d| list(d)).unwrap_or_default();
        panic!(
            "{why}\ncommand: {}\nexit: {}\n--- stdout\n{}--- stderr\n{}--- data dir\n{listing}",
            self.command,
            self.code(),
            self.stdout(),
            self.stderr()
        );
    }
    pub fn expect_code(self, code: i32) -> Run {
        if self.code() != code {
            self.fail(&format!("expected exit code {code}"));
        }
        self
    }
}

fn list(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let meta = entry.metadata().ok();
        out.push_str(&format!(
            "{} {}\n",
            entry.path().display(),
            meta.map_or(0, |m| m.len())
        ));
        if entry.path().is_dir() {
            out.push_str(&list(&entry.path()));
        }
    }
    out
}

/// Runs `petrel ARGS`, noting `--data DIR` for the failure report.
/// `args` followed by `store`, the flags that name a store (`--data DIR`,
/// or `--store URL --data DIR`): one test on sled and on PostgreSQL.
pub fn with_store<'a>(args: &[&'a str], store: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(store).copied().collect()
}

pub fn petrel(args: &[&str]) -> Run {
    petrel_env(args, &[])
}

/// `PATH` with the Python and JavaScript guest toolchains first: the ones
/// the README's test command installs (`guest-sdk/python/.venv`,
/// `guest-sdk/js/node_modules`).
pub fn toolchain_path() -> std::ffi::OsString {
    let root = repo();
    let mut dirs = vec![
        root.join("guest-sdk/python/.venv/bin"),
        root.join("guest-sdk/js/node_modules/.bin"),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH entries")
}

/// [`petrel`] with extra environment variables. Every run gets the guest
/// toolchains on `PATH` and one cache directory under `target/` for the
/// sources `demo` and `bench` write out and build (shared by the tests and
/// kept between runs, as a user's `~/.cache/petrel` is).
pub fn petrel_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(petrel_bin());
    cmd.args(args)
        .env_remove("PETREL_DATA")
        .env_remove("PETREL_STORE")
        .env_remove("PETREL_CONFIG")
        .env("PATH", toolchain_path())
        .env("XDG_CACHE_HOME", repo().join("target/petrel-test-cache"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("run petrel");
    let data = args
        .iter()
        .position(|a| *a == "--data")
        .map(|i| PathBuf::from(args[i + 1]));
    Run {
        command: format!("petrel {}", args.join(" ")),
        output,
        data,
    }
}

/// The order-approval example net.
pub fn order_net() -> PathBuf {
    repo().join("examples/order-approval/net.toml")
}

/// An engine on a fresh store in `dir/data`.
pub async fn open_engine(dir: &Path) -> petrel::engine::Engine {
    petrel::engine::Engine::open(petrel::engine::EngineConfig::new(dir.join("data")))
        .await
        .expect("open engine")
}

/// An order payload as `--token` argument.
pub fn order_token(id: &str, amount_cents: u64, items: u32) -> String {
    format!(
        r#"submitted={{"order_id":"{id}","customer":"c-{id}","amount_cents":{amount_cents},"items":{items}}}"#
    )
}

/// Order `i` of a generated load on the order-approval net: (amount in
/// cents, items, the final place it ends in, the firings that complete).
/// Items 0 is invalid (rejected at once); above 100,000 cents credit is
/// refused.
pub fn order_case(i: u64) -> (u64, u32, &'static str, usize) {
    let amount = (i * 7_919) % 150_000;
    let items = (i % 5) as u32;
    if amount == 0 || items == 0 {
        (amount, items, "rejected", 1)
    } else if amount <= 100_000 {
        (amount, items, "approved", 4)
    } else {
        (amount, items, "rejected", 4)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Runs `petrel build NET` (a path under the repository) once per test run,
/// however many tests ask: the Python and JavaScript components take
/// seconds each to build.
pub fn build_once(net: &str) {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.iter().any(|n| n == net) {
        return;
    }
    let path = repo().join(net);
    petrel(&["build", path.to_str().unwrap()]).expect_code(0);
    built.push(net.to_string());
}

/// xorshift64*: a reproducible stream from a printed seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
