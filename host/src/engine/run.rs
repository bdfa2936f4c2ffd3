//! Batch runs: fire until nothing is enabled (`petrel run`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::core::{Core, Settings};
use super::driver::{Mode, Shell};
use super::{Engine, EngineError};

/// Limits of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop starting firings after this many.
    pub max_firings: Option<u64>,
    /// Return when nothing can fire now, leaving retries waiting on their
    /// timers (a later run resumes them); by default a run waits for them.
    pub no_wait: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    /// Firings that committed an outcome.
    pub completed: u64,
    /// Firings whose guest declined.
    pub declined: u64,
    /// Failed attempts (each retried or exhausted).
    pub failed: u64,
    /// Failed attempts scheduled for a retry.
    pub retried: u64,
    /// Firings moved to the dead-letter queue.
    pub dead_lettered: u64,
    /// Cases aborted (by a guest, or by `on_exhausted = "abort"`).
    pub aborted: u64,
    /// Compensations that committed.
    pub compensated: u64,
    /// Retries still waiting on their timers when the run returned.
    pub waiting: u64,
    /// External firings offered to workers (claimed or not) when the run
    /// returned; `petrel serve` hands them out.
    pub awaiting_workers: u64,
    /// Cases by status at the end of the run (the cases the run looked at).
    pub cases: BTreeMap<String, u64>,
    /// Wall-clock time, flush included.
    pub elapsed_ms: u64,
}

impl Engine {
    /// A core over this engine's store, not loaded yet.
    pub(crate) fn core(&self, max_firings: Option<u64>, evict_finished: bool) -> Core {
        let settings = Settings {
            max_in_flight: self.config().max_in_flight,
            max_firings,
            evict_finished,
        };
        let mut core = Core::new(settings, Arc::new(self.store().clone()));
        if self.cluster().is_some() {
            core.share_with_hosts();
        }
        core
    }

    /// Fires until nothing is enabled (or `options.max_firings` firings
    /// started), then flushes.
    pub async fn run(&self, options: RunOptions) -> Result<RunSummary, EngineError> {
        if self.driven.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(EngineError::Conflict(
                "a daemon's driver fires this engine's cases; a separate run would race it".into(),
            ));
        }
        let started = Instant::now();
        let mut core = self.core(options.max_firings, false);
        self.load(&mut core).await?;
        let mut shell = Shell::new(self, core);
        shell
            .drive(Mode::Batch {
                no_wait: options.no_wait,
            })
            .await?;
        let mut summary = shell.core().summary();
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }
}
