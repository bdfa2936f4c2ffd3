//! What a guest's store holds: a deny-all, deterministic WASI context, the
//! firing's log, and the host side of the `log` and `llm` imports.

use std::time::Duration;

use wasmtime::component::{Linker, ResourceTable, WasmStr};
use wasmtime::{StoreContextMut, StoreLimits};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use super::bindings::log;
use crate::limits::HostLimits;
use crate::llm::LlmSession;
use crate::store::LogLine;

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

pub(crate) struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) log: Vec<LogLine>,
    pub(crate) dropped_log_lines: u32,
    /// Lines, bytes per line and bytes in all the firing keeps.
    log_lines: usize,
    log_line_bytes: usize,
    log_bytes_left: usize,
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

impl GuestState {
    pub(crate) fn new(limits: StoreLimits, det: Determinism, bounds: &HostLimits) -> Self {
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
        GuestState {
            wasi,
            table: ResourceTable::new(),
            limits,
            log: Vec::new(),
            dropped_log_lines: 0,
            log_lines: bounds.log_lines as usize,
            log_line_bytes: bounds.log_line_bytes as usize,
            log_bytes_left: bounds.log_bytes as usize,
            stdout,
            stderr,
            llm: None,
        }
    }

    /// How many bytes of the next log line are kept; `None`: the line is
    /// dropped (and counted), the firing's lines or bytes are used up.
    fn log_room(&self) -> Option<usize> {
        if self.log.len() >= self.log_lines || self.log_bytes_left == 0 {
            None
        } else {
            Some(self.log_line_bytes.min(self.log_bytes_left))
        }
    }

    /// Keeps at most [`GuestState::log_room`] bytes of `message`, copying
    /// only those.
    fn push_log(&mut self, level: &str, message: &str) {
        match self.log_room() {
            Some(room) => self.keep_log(level, crate::limits::cut_str(message, room)),
            None => self.drop_log(),
        }
    }

    fn keep_log(&mut self, level: &str, message: String) {
        self.log_bytes_left = self.log_bytes_left.saturating_sub(message.len());
        self.log.push(LogLine {
            level: level.to_string(),
            message,
        });
    }

    fn drop_log(&mut self) {
        self.dropped_log_lines = self.dropped_log_lines.saturating_add(1);
    }

    /// The guest's log lines followed by what it wrote to stdout and stderr.
    pub(crate) fn take_log(&mut self) -> (Vec<LogLine>, u32) {
        let captured = [
            ("stdout", self.stdout.contents()),
            ("stderr", self.stderr.contents()),
        ];
        for (level, bytes) in captured {
            if !bytes.is_empty() {
                self.push_log(level, &String::from_utf8_lossy(&bytes));
            }
        }
        (std::mem::take(&mut self.log), self.dropped_log_lines)
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_io::IoView for GuestState {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

fn level_name(level: log::Level) -> &'static str {
    match level {
        log::Level::Trace => "trace",
        log::Level::Debug => "debug",
        log::Level::Info => "info",
        log::Level::Warn => "warn",
        log::Level::Error => "error",
    }
}

/// Links `petrel:transition/log` by hand instead of through the generated
/// bindings, which would copy each message into the host whole: the message
/// is lifted as a [`WasmStr`] (a bounds-checked view of guest memory) and
/// only what the firing's log keeps of it is copied.
pub(crate) fn add_log_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    let mut log = linker.instance("petrel:transition/log@0.1.0")?;
    log.func_wrap(
        "log",
        |mut store: StoreContextMut<'_, GuestState>, (level, message): (log::Level, WasmStr)| {
            let Some(room) = store.data().log_room() else {
                store.data_mut().drop_log();
                return Ok(());
            };
            let kept = crate::limits::cut_str(&message.to_str(&store)?, room);
            store.data_mut().keep_log(level_name(level), kept);
            Ok(())
        },
    )
}

impl GuestState {
    pub(crate) fn random(&mut self) -> &mut wasmtime_wasi::random::WasiRandomCtx {
        self.wasi.random()
    }
}
