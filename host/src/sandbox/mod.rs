//! The sandbox: wasmtime engine, per-capability linkers, limits, and
//! pre-instantiated guest components.
//!
//! Every guest call gets a fresh instance from its [`Guest`]'s `InstancePre`
//! in the pooling allocator, behind admission control sized to the pool
//! (each net gets at most its share of the slots), with a wall-clock
//! deadline (epoch interruption, yielding to tokio on every tick so a
//! spinning guest never holds a worker), an instruction budget (fuel), a
//! linear-memory cap, and a copy budget: no call moves more than about its
//! output cap from the guest into the host (wasmtime's hostcall fuel,
//! checked while lifting, before anything is copied).
//!
//! Components are read and compiled off the async workers, a few at a time
//! ([`Sandbox::off_worker`]); one refused at deploy leaves nothing behind in
//! the cache.

mod admission;
mod bindings;
mod cache;
mod call;
mod error;
mod imports;
mod llm;
mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::random::WasiRandom;

/// What guests log and why calls fail, as the store records them.
pub use crate::store::{GuestFailure, LogLine};
pub use bindings::{Compensated, Decision, Fire, Firing, GuestError, Token};
pub use call::CallResult;
pub use error::DeployError;
pub use state::Determinism;

use crate::limits::HostLimits;
use crate::net::{Capability, Limits, Performer, Transition};
use admission::Admission;
use bindings::TransitionPre;
use imports::ImportKind;
use state::GuestState;

/// How often the epoch ticks; deadlines are precise to about this.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Sandbox settings.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Guest instances alive at once (pool slots); further calls wait.
    pub instance_slots: u32,
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// The host's ceilings (log lines, component size, each net's share of
    /// the slots, deploys at once, ...).
    pub limits: HostLimits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            instance_slots: 64,
            cache_dir: None,
            limits: HostLimits::default(),
        }
    }
}

/// The wasmtime engine and everything shared by all guests.
pub struct Sandbox {
    engine: Engine,
    /// Linker for guests granted only `log`, and for guests granted `llm` too.
    linker_log: Linker<GuestState>,
    linker_llm: Linker<GuestState>,
    admission: Admission,
    /// Deploys reading and compiling at once.
    deploys: Arc<Semaphore>,
    cache_dir: Option<PathBuf>,
    limits: HostLimits,
    ticker_stop: Arc<AtomicBool>,
}

/// A transition's guest, compiled, checked and pre-instantiated.
#[derive(Clone)]
pub struct Guest {
    transition: String,
    pre: TransitionPre<GuestState>,
    limits: Limits,
    hash: String,
    imports: Vec<String>,
}

impl std::fmt::Debug for Guest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest")
            .field("transition", &self.transition)
            .field("hash", &self.hash)
            .field("imports", &self.imports)
            .finish_non_exhaustive()
    }
}

impl Guest {
    /// BLAKE3 hash (hex) of the component bytes.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Everything the component imports.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }
}

/// Bytes of each linear memory and table a pool slot keeps resident: the
/// pages a small guest dirties per call. Measured (`petrel bench`, release,
/// 2 cores): fresh-instance p50 8.9 µs with PAGEMAP_SCAN, 18.4 µs without
/// (a 128 KiB memset per call on kernels before 6.7); 1 MiB gained nothing
/// with the ioctl and would cost a 1 MiB memset without it.
const KEEP_RESIDENT: usize = 128 << 10;

/// Core module instances one guest component may hold, and the pool keeps
/// per slot. A componentize-py Python guest instantiates 38 (the interpreter
/// is dynamically linked: libc, libpython, its runtime, adapters, each a
/// module), a componentize-js guest 3, a Rust guest 1 or 2. With 8 per slot,
/// 64 slots held only 13 Python guests at once and 2 slots none.
const CORE_INSTANCES_PER_SLOT: u32 = 48;
/// Linear memories one guest may define (every toolchain above defines 1).
const MEMORIES_PER_SLOT: u32 = 2;
/// Tables one guest may define (Python 2, JavaScript 2, Rust 1).
const TABLES_PER_SLOT: u32 = 4;

fn engine_config(slots: u32) -> Config {
    let mut pool = PoolingAllocationConfig::default();
    // Totals are per-guest maxima times slots, so that any `slots` guests
    // fit at once; a component above a maximum is refused when it is loaded.
    pool.total_component_instances(slots)
        .total_core_instances(slots * CORE_INSTANCES_PER_SLOT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_SLOT)
        .total_memories(slots * MEMORIES_PER_SLOT)
        .max_memories_per_component(MEMORIES_PER_SLOT)
        .total_tables(slots * TABLES_PER_SLOT)
        .max_tables_per_component(TABLES_PER_SLOT)
        .total_stacks(slots)
        .max_memory_size(4 << 30)
        // A fresh instance's first call used to spend most of its time in
        // page faults on linear memory the previous instance of the slot
        // had released with `madvise`. Keep the pages resident instead and
        // reset only those the last instance dirtied (found with the
        // PAGEMAP_SCAN ioctl, Linux 6.7+; older kernels reset the lowest
        // `KEEP_RESIDENT` bytes with `memset`). Every instance still starts
        // from the component's pristine memory image.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

fn linker(engine: &Engine, llm: bool) -> wasmtime::Result<Linker<GuestState>> {
    use wasmtime_wasi::p2::bindings::{cli, clocks, random};
    let mut l = Linker::new(engine);
    wasmtime_wasi_io::add_to_linker_async(&mut l)?;
    cli::exit::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    cli::environment::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    cli::stdin::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    cli::stdout::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    cli::stderr::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    cli::terminal_input::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    cli::terminal_output::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    cli::terminal_stdin::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    cli::terminal_stdout::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    cli::terminal_stderr::add_to_linker::<GuestState, WasiCli>(&mut l, GuestState::cli)?;
    clocks::wall_clock::add_to_linker::<GuestState, WasiClocks>(&mut l, GuestState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<GuestState, WasiClocks>(&mut l, GuestState::clocks)?;
    random::random::add_to_linker::<GuestState, WasiRandom>(&mut l, GuestState::random)?;
    random::insecure::add_to_linker::<GuestState, WasiRandom>(&mut l, GuestState::random)?;
    random::insecure_seed::add_to_linker::<GuestState, WasiRandom>(&mut l, GuestState::random)?;
    state::add_log_to_linker(&mut l)?;
    if llm {
        bindings::llm::add_to_linker::<GuestState, HasSelf<GuestState>>(&mut l, |s| s)?;
    }
    Ok(l)
}

impl Sandbox {
    /// Builds the engine and linkers and starts the epoch ticker.
    pub fn new(config: SandboxConfig) -> wasmtime::Result<Sandbox> {
        let slots = config.instance_slots.max(1);
        let engine = Engine::new(&engine_config(slots))?;
        let linker_log = linker(&engine, false)?;
        let linker_llm = linker(&engine, true)?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let stop = ticker_stop.clone();
        std::thread::Builder::new()
            .name("petrel-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        let limits = config.limits;
        Ok(Sandbox {
            engine,
            linker_log,
            linker_llm,
            admission: Admission::new(slots, limits.instances_per_net(slots)),
            deploys: Arc::new(Semaphore::new(limits.deploys_at_once.max(1) as usize)),
            cache_dir: config.cache_dir,
            limits,
            ticker_stop,
        })
    }

    /// The host's ceilings this sandbox enforces.
    pub fn limits(&self) -> &HostLimits {
        &self.limits
    }

    /// Runs `work` (reading and compiling components: blocking, CPU-heavy)
    /// on tokio's blocking pool instead of an async worker, at most
    /// `limits.deploys_at_once` at a time; later calls wait their turn.
    pub async fn off_worker<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Sandbox) -> T + Send + 'static,
    ) -> T {
        let _permit = self
            .deploys
            .acquire()
            .await
            .expect("the deploy semaphore is never closed");
        let sandbox = self.clone();
        match tokio::task::spawn_blocking(move || work(&sandbox)).await {
            Ok(value) => value,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// The bytes of the component at `path`: a regular file of at most
    /// `limits.component_kb`.
    pub fn read_component(&self, path: &Path) -> Result<Vec<u8>, crate::limits::ReadError> {
        crate::limits::read_bounded(path, self.limits.component_bytes())
    }

    /// Lists what the component at `path` imports (for lints and tooling).
    pub fn component_imports(&self, path: &Path) -> wasmtime::Result<Vec<String>> {
        let bytes = self.read_component(path)?;
        let hash = cache::component_hash(&bytes);
        let component = match cache::load(&self.engine, self.cache_dir.as_deref(), &hash) {
            Some(component) => component,
            None => wasmtime::component::Component::from_binary(&self.engine, &bytes)?,
        };
        Ok(imports::imports_of(&self.engine, &component))
    }

    /// Loads `transition`'s guest: compiles (or loads from the cache),
    /// refuses imports that are forbidden or not granted, pre-instantiates.
    pub fn load(&self, transition: &Transition) -> Result<Guest, DeployError> {
        let Performer::Guest { path, .. } = &transition.performer else {
            return Err(DeployError::NotATransition {
                transition: transition.name.clone(),
                path: PathBuf::new(),
                message: "the transition is external and has no guest".into(),
            });
        };
        let bytes = self
            .read_component(path)
            .map_err(|source| DeployError::Read {
                transition: transition.name.clone(),
                path: path.clone(),
                source,
            })?;
        self.load_bytes(transition, path, &bytes)
    }

    /// [`Sandbox::load`] for component bytes already in hand (`path` names
    /// them in errors). The compiled artifact is cached only once the
    /// component passed every check.
    pub fn load_bytes(
        &self,
        transition: &Transition,
        path: &Path,
        bytes: &[u8],
    ) -> Result<Guest, DeployError> {
        let cap = self.limits.component_bytes();
        if bytes.len() as u64 > cap {
            return Err(DeployError::Read {
                transition: transition.name.clone(),
                path: path.to_path_buf(),
                source: crate::limits::ReadError::TooLarge {
                    bytes: bytes.len() as u64,
                    cap,
                },
            });
        }
        let hash = cache::component_hash(bytes);
        let dir = self.cache_dir.as_deref();
        let cached = cache::load(&self.engine, dir, &hash);
        let fresh = cached.is_none();
        let component =
            match cached {
                Some(component) => component,
                None => wasmtime::component::Component::from_binary(&self.engine, bytes).map_err(
                    |e| DeployError::Compile {
                        transition: transition.name.clone(),
                        path: path.to_path_buf(),
                        message: format!("{e:#}"),
                    },
                )?,
            };
        let imports = imports::imports_of(&self.engine, &component);
        for import in &imports {
            match imports::classify(import) {
                ImportKind::Allowed => {}
                ImportKind::Capability(cap) if transition.grants(cap) => {}
                ImportKind::Capability(cap) => {
                    return Err(DeployError::NotGranted {
                        transition: transition.name.clone(),
                        path: path.to_path_buf(),
                        import: import.clone(),
                        capability: cap.name(),
                    });
                }
                ImportKind::Forbidden => {
                    return Err(DeployError::ForbiddenImport {
                        transition: transition.name.clone(),
                        path: path.to_path_buf(),
                        import: import.clone(),
                    });
                }
            }
        }
        let linker = if transition.grants(Capability::Llm) {
            &self.linker_llm
        } else {
            &self.linker_log
        };
        let not_transition = |e: wasmtime::Error| DeployError::NotATransition {
            transition: transition.name.clone(),
            path: path.to_path_buf(),
            message: format!("{e:#}"),
        };
        let pre = linker.instantiate_pre(&component).map_err(not_transition)?;
        let pre = TransitionPre::new(pre).map_err(not_transition)?;
        if fresh {
            cache::store(&self.engine, dir, &hash, &component);
        }
        Ok(Guest {
            transition: transition.name.clone(),
            pre,
            limits: transition.limits,
            hash,
            imports,
        })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}
