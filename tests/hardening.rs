//! Attacks on the host's bounds, each reproduced at a size this machine
//! survives against the real `petrel serve`, each asserting the bound on
//! what the attack makes the host hold (its peak resident memory, `VmHWM`
//! from `/proc/<pid>/status`) or write (bytes added to its data dir).
//!
//! Every test prints its figures (`hardening: ...`, shown with
//! `--nocapture`). With `PETREL_BIN=<an older petrel>` the same attacks run
//! against that build (without this build's settings) to measure it.

mod deploy;
mod guest;
mod http;
mod net_file;
mod schema;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::server::{Api, Daemon, Reply, upload};
use crate::util::{dir_bytes, other_build, vm_hwm, write_net};

const MIB: u64 = 1 << 20;

/// A daemon under attack, over a fresh data dir.
pub struct Target {
    pub daemon: Daemon,
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    /// Peak memory and data dir size once started, before the attack.
    hwm: u64,
    bytes: u64,
}

impl Target {
    /// Starts `petrel serve` with `config` as its petrel.toml (left out
    /// when measuring another build, which may not know the settings).
    pub fn start(config: &str) -> Target {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let file = dir.path().join("petrel.toml");
        std::fs::write(&file, config).unwrap();
        let file = file.display().to_string();
        let args: Vec<&str> = if config.is_empty() || other_build() {
            Vec::new()
        } else {
            vec!["--config", &file]
        };
        let daemon = Daemon::start(&data, &args, &[], None);
        let hwm = vm_hwm(daemon.pid());
        let bytes = dir_bytes(&data);
        Target {
            daemon,
            dir,
            data,
            hwm,
            bytes,
        }
    }

    /// Takes the current peak memory and data dir size as the new start
    /// (after the setup an attack needs, such as compiling its guest).
    pub fn mark(&mut self) {
        self.hwm = vm_hwm(self.daemon.pid());
        self.bytes = dir_bytes(&self.data);
    }

    pub fn api(&self) -> &Api {
        &self.daemon.api
    }

    /// Writes a net file (`GUEST(name)` → a built guest) into the temp dir.
    pub fn net(&self, text: &str) -> PathBuf {
        write_net(self.dir.path(), "attack.toml", text)
    }

    /// Uploads the net file `net` with its guests.
    pub async fn deploy(&self, net: &Path) -> Reply {
        self.api().post("/v1/nets", upload(net)).await
    }

    /// How much the peak resident memory grew since the start, printed.
    pub fn memory_growth(&self, attack: &str) -> u64 {
        let grown = vm_hwm(self.daemon.pid()).saturating_sub(self.hwm);
        eprintln!(
            "hardening: {attack}: peak memory (VmHWM) grew {:.1} MiB over {:.1} MiB at start",
            grown as f64 / MIB as f64,
            self.hwm as f64 / MIB as f64
        );
        grown
    }

    /// How much the data dir grew since the start, printed.
    pub fn data_growth(&self, attack: &str) -> u64 {
        let grown = dir_bytes(&self.data).saturating_sub(self.bytes);
        eprintln!(
            "hardening: {attack}: data dir grew {:.2} MiB",
            grown as f64 / MIB as f64
        );
        grown
    }

    /// Starts a case on `net` with one token and waits (at most `within`)
    /// until it is no longer running; its view.
    pub async fn run_case(&self, net: &str, id: &str, place: &str, within: Duration) -> Value {
        let body = serde_json::json!({ "net": net, "id": id, "tokens": [{ "place": place, "payload": id }] });
        self.api().post("/v1/cases", body).await.expect(201);
        let deadline = Instant::now() + within;
        loop {
            let case = self.api().get(&format!("/v1/cases/{id}")).await.body;
            if case["status"] != "running" || Instant::now() > deadline {
                return case;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
