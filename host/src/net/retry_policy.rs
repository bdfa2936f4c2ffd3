//! A transition's retry policy (the net file's `retry` table): how often and
//! how late a failed firing is tried again, and where it goes when it has
//! run out of attempts.

use std::time::Duration;

/// Default most attempts of one firing (the first included).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default wait before the first retry.
pub const DEFAULT_INITIAL_DELAY_MS: u64 = 1_000;
/// Default growth of the wait per retry.
pub const DEFAULT_MULTIPLIER: f64 = 2.0;
/// Default cap on one wait.
pub const DEFAULT_MAX_DELAY_MS: u64 = 60_000;
/// Default jitter: each wait is drawn from ± this fraction around its value.
pub const DEFAULT_JITTER: f64 = 0.2;

/// A kind of firing failure, as `retry_on` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureClass {
    /// `trap`: the guest trapped (panic, unreachable, stack overflow) or
    /// could not be instantiated.
    Trap,
    /// `deadline`: the call ran past `timeout_ms` (without `on_timeout`).
    Deadline,
    /// `resources`: out of fuel, over the memory cap, output too large.
    Resources,
    /// `guest_error`: the guest returned an error it marked retryable (for
    /// example a provider error from the `llm` import it passed on).
    GuestError,
    /// `invalid_decision`: undeclared outcome, wrong place or token count.
    InvalidDecision,
    /// `capacity`: the decision would overfill a place.
    Capacity,
    /// A guest error marked fatal: never retried, whatever `retry_on` says.
    Fatal,
}

impl FailureClass {
    /// Every class `retry_on` may name.
    pub const NAMED: [FailureClass; 6] = [
        FailureClass::Trap,
        FailureClass::Deadline,
        FailureClass::Resources,
        FailureClass::GuestError,
        FailureClass::InvalidDecision,
        FailureClass::Capacity,
    ];

    /// The class's name in net files.
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::Trap => "trap",
            FailureClass::Deadline => "deadline",
            FailureClass::Resources => "resources",
            FailureClass::GuestError => "guest_error",
            FailureClass::InvalidDecision => "invalid_decision",
            FailureClass::Capacity => "capacity",
            FailureClass::Fatal => "fatal",
        }
    }

    /// The class named `name` in a net file.
    pub fn from_name(name: &str) -> Option<FailureClass> {
        FailureClass::NAMED.into_iter().find(|c| c.name() == name)
    }
}

/// What happens to a firing that failed its last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExhausted {
    /// `dead_letter` (default): its inputs move to the dead-letter queue and
    /// the case is marked stuck.
    DeadLetter,
    /// `abort`: the case aborts and its compensations run.
    Abort,
}

/// Retries of one transition, from
///
/// ```toml
/// [transitions.ship]
/// retry = { max_attempts = 5, initial_delay_ms = 500, multiplier = 2.0,
///           max_delay_ms = 30000, jitter = 0.2,
///           retry_on = ["trap", "deadline", "guest_error"],
///           on_exhausted = "abort" }
/// ```
///
/// Every field is optional (defaults: the `DEFAULT_*` constants, `retry_on`
/// = trap, deadline, guest_error, capacity; `on_exhausted` = dead_letter).
/// A failure whose class is not in `retry_on` (by default an invalid
/// decision, resources, and any error the guest marked fatal) exhausts the
/// policy at once. The wait before retry *n* is `initial_delay_ms ×
/// multiplier^(n-1)`, capped at `max_delay_ms`, then spread by ± `jitter`;
/// it is a durable timer in the store, so a restarted host resumes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Most attempts, the first included (1: never retry).
    pub max_attempts: u32,
    /// Wait before the first retry.
    pub initial_delay_ms: u64,
    /// Growth of the wait per retry (at least 1).
    pub multiplier: f64,
    /// Cap on one wait.
    pub max_delay_ms: u64,
    /// Fraction (0 to 1) by which a wait is spread either way.
    pub jitter: f64,
    /// Failure classes that are retried.
    pub retry_on: Vec<FailureClass>,
    /// Where a firing goes when its attempts are used up.
    pub on_exhausted: OnExhausted,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_delay_ms: DEFAULT_INITIAL_DELAY_MS,
            multiplier: DEFAULT_MULTIPLIER,
            max_delay_ms: DEFAULT_MAX_DELAY_MS,
            jitter: DEFAULT_JITTER,
            retry_on: vec![
                FailureClass::Trap,
                FailureClass::Deadline,
                FailureClass::GuestError,
                FailureClass::Capacity,
            ],
            on_exhausted: OnExhausted::DeadLetter,
        }
    }
}

impl RetryPolicy {
    /// Whether a failure of `class` on attempt `attempt` is tried again.
    pub fn retries(&self, class: FailureClass, attempt: u32) -> bool {
        attempt < self.max_attempts && self.retry_on.contains(&class)
    }

    /// The wait before retry `retry` (1 for the first retry) without jitter.
    pub fn base_delay(&self, retry: u32) -> Duration {
        let exp = self
            .multiplier
            .powi(retry.saturating_sub(1).min(1_000) as i32);
        let ms = (self.initial_delay_ms as f64 * exp).min(self.max_delay_ms as f64);
        Duration::from_millis(ms as u64)
    }

    /// The wait before retry `retry`, spread by the jitter; `unit` is a
    /// random number in [0, 1).
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let base = self.base_delay(retry).as_millis() as f64;
        let spread = base * self.jitter * (2.0 * unit - 1.0);
        Duration::from_millis((base + spread).max(0.0).round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_by_the_multiplier_up_to_the_cap() {
        let p = RetryPolicy {
            initial_delay_ms: 100,
            max_delay_ms: 1_000,
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let waits: Vec<u64> = (1..=6)
            .map(|n| p.delay(n, 0.7).as_millis() as u64)
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1_000, 1_000]);
    }

    #[test]
    fn jitter_spreads_a_wait_either_way_by_its_fraction() {
        let p = RetryPolicy {
            initial_delay_ms: 1_000,
            jitter: 0.2,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(1, 0.0).as_millis(), 800);
        assert_eq!(p.delay(1, 0.5).as_millis(), 1_000);
        assert_eq!(p.delay(1, 0.999_999).as_millis(), 1_200);
    }

    #[test]
    fn only_listed_classes_retry_and_never_past_the_last_attempt() {
        let p = RetryPolicy::default();
        assert!(p.retries(FailureClass::Trap, 1));
        assert!(p.retries(FailureClass::Trap, 2));
        assert!(!p.retries(FailureClass::Trap, 3));
        assert!(!p.retries(FailureClass::InvalidDecision, 1));
        assert!(!p.retries(FailureClass::Fatal, 1));
    }
}
