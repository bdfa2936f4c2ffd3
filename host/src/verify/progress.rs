//! The progress bar of long explorations: a spinner with counts and rate on
//! stderr, shown only when stderr is a terminal and the run has lasted a
//! second.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Progress bar shown after the first second of a long run.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    enabled: bool,
    start: Instant,
}

impl Progress {
    /// A bar that may appear; `enabled: false` never draws.
    pub(crate) fn new(enabled: bool) -> Progress {
        Progress {
            bar: None,
            enabled: enabled && std::io::stderr().is_terminal(),
            start: Instant::now(),
        }
    }

    /// Reports `done` of `total` items (markings expanded of stored).
    pub(crate) fn tick(&mut self, done: usize, total: usize) {
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && self.start.elapsed() > Duration::from_secs(1) {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            let rate = total as f64 / self.start.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{total} markings, {} to expand, {rate:.0}/s",
                total - done
            ));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
