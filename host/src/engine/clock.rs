//! Time as the engine sees it: when a retry is due, and waiting for it.
//!
//! Durable timers are wall-clock times stored in the store, so a restarted
//! host resumes a wait rather than restarting or forgetting it. Tests inject
//! a [`ManualClock`] to run backoffs of minutes in no time and assert them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A source of time for timers.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Resolves once [`now_ms`](Self::now_ms) has reached `at_ms`.
    fn sleep_until(&self, at_ms: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// Whether time moves only when the engine waits with nothing in
    /// flight (simulated time): then a timer never races firings in flight.
    fn moves_only_when_idle(&self) -> bool {
        false
    }
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        crate::store::now_ms()
    }

    fn sleep_until(&self, at_ms: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = at_ms.saturating_sub(self.now_ms());
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// A clock that only moves when slept on: `sleep_until` jumps straight to
/// the wake-up time and records it, and the engine sleeps on it only once
/// nothing is in flight (like tokio's paused time). For tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicU64,
    sleeps: Mutex<Vec<u64>>,
}

impl ManualClock {
    /// A clock standing at `start_ms`.
    pub fn new(start_ms: u64) -> ManualClock {
        ManualClock {
            now: AtomicU64::new(start_ms),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    /// Every wake-up time slept until, in order.
    pub fn sleeps(&self) -> Vec<u64> {
        self.sleeps.lock().expect("sleeps lock").clone()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    fn sleep_until(&self, at_ms: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.sleeps.lock().expect("sleeps lock").push(at_ms);
        self.now.fetch_max(at_ms, Ordering::SeqCst);
        Box::pin(tokio::task::yield_now())
    }

    fn moves_only_when_idle(&self) -> bool {
        true
    }
}
