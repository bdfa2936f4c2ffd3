//! What a guest's store holds: a deny-all, deterministic WASI context, the
//! firing's log, and the host side of the `log` and `llm` imports.

use std::time::Duration;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::bindings::log;
use crate::llm::LlmSession;
use crate::store::LogLine;

/// Most log lines one firing keeps; later ones are counted, not stored.
pub(crate) const MAX_LOG_LINES: usize = 256;
/// Longest log line kept (longer ones are cut).
pub(crate) const MAX_LOG_LINE: usize = 4096;
/// Bytes of stdout and of stderr kept per firing.
pub(crate) const MAX_STDIO: usize = 64 * 1024;

/// Inputs that make a call deterministic: the same firing sees the same
/// clock and the same random bytes on every attempt and on replay.
#[derive(Debug, Clone, Copy)]
pub struct Determinism {
    /// Wall-clock time the guest sees, frozen (milliseconds since the Unix epoch).
    pub now_unix_ms: u64,
    /// Seed of the guest's randomness.
    pub seed: [u8; 32],
}

pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) log: Vec<LogLine>,
    pub(crate) dropped_log_lines: u32,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    /// The firing's language-model session (transitions granted `llm`);
    /// without one, `llm.complete` answers `not-configured` (see `sandbox::llm`).
    pub(crate) llm: Option<LlmSession>,
}

struct FrozenWall(Duration);

impl HostWallClock for FrozenWall {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

struct FrozenMonotonic;

impl HostMonotonicClock for FrozenMonotonic {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl HostState {
    pub(crate) fn new(limits: StoreLimits, det: Determinism) -> Self {
        let stdout = MemoryOutputPipe::new(MAX_STDIO);
        let stderr = MemoryOutputPipe::new(MAX_STDIO);
        let mut random = [0u8; 528];
        blake3::Hasher::new_keyed(&det.seed)
            .update(b"petrel.random")
            .finalize_xof()
            .fill(&mut random);
        let insecure_seed = u128::from_le_bytes(random[..16].try_into().expect("16 bytes"));
        // No preopens, no env, no args, no network, no inherited stdio.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenWall(Duration::from_millis(det.now_unix_ms)))
            .monotonic_clock(FrozenMonotonic)
            .secure_random(wasmtime_wasi::Deterministic::new(random[16..272].to_vec()))
            .insecure_random(wasmtime_wasi::Deterministic::new(random[272..].to_vec()))
            .insecure_random_seed(insecure_seed)
            .allow_blocking_current_thread(false)
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            limits,
            log: Vec::new(),
            dropped_log_lines: 0,
            stdout,
            stderr,
            llm: None,
        }
    }

    fn push_log(&mut self, level: &str, mut message: String) {
        if self.log.len() >= MAX_LOG_LINES {
            self.dropped_log_lines = self.dropped_log_lines.saturating_add(1);
            return;
        }
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        self.log.push(LogLine {
            level: level.to_string(),
            message,
        });
    }

    /// The guest's log lines followed by what it wrote to stdout and stderr.
    pub(crate) fn take_log(&mut self) -> (Vec<LogLine>, u32) {
        let captured = [
            ("stdout", self.stdout.contents()),
            ("stderr", self.stderr.contents()),
        ];
        for (level, bytes) in captured {
            if !bytes.is_empty() {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                self.push_log(level, text);
            }
        }
        (std::mem::take(&mut self.log), self.dropped_log_lines)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_io::IoView for HostState {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl log::Host for HostState {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => "trace",
            log::Level::Debug => "debug",
            log::Level::Info => "info",
            log::Level::Warn => "warn",
            log::Level::Error => "error",
        };
        self.push_log(level, message);
        Ok(())
    }
}

impl HostState {
    pub(crate) fn random(&mut self) -> &mut wasmtime_wasi::random::WasiRandomCtx {
        self.wasi.random()
    }
}
