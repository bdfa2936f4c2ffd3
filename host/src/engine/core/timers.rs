//! Durable timers as the engine keeps them: each stands for a time kept in
//! the store (a retry's `not_before_ms`, a saga's, a lease's end), so a
//! restarted host finds them again.

use std::collections::BTreeSet;

/// What a timer wakes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// A firing's retry (by firing id).
    Retry(u64),
    /// A case's next compensation.
    Saga(String),
    /// A `restarting` case's next attempt (see `restart`).
    Restart(String),
    /// A claimed external firing's lease (by firing id).
    Lease(u64),
    /// An external firing's offer deadline (by firing id): unless claimed
    /// by then, it takes its `on_timeout` outcome. It stands for the
    /// firing's start time kept in its reservation.
    Offer(u64),
}

/// Timers by due time.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    due: BTreeSet<(u64, Timer)>,
}

impl Timers {
    pub(crate) fn set(&mut self, at_ms: u64, timer: Timer) {
        self.due.insert((at_ms, timer));
    }

    pub(crate) fn cancel(&mut self, at_ms: u64, timer: &Timer) {
        self.due.remove(&(at_ms, timer.clone()));
    }

    /// Cancels every timer equal to `timer`, whenever due.
    pub(crate) fn cancel_all(&mut self, timer: &Timer) {
        self.due.retain(|(_, t)| t != timer);
    }

    /// Takes the timers due at `now_ms`, earliest first.
    pub(crate) fn take_due(&mut self, now_ms: u64) -> Vec<Timer> {
        let later = self
            .due
            .split_off(&(now_ms.saturating_add(1), Timer::Retry(0)));
        let due = std::mem::replace(&mut self.due, later);
        due.into_iter().map(|(_, t)| t).collect()
    }

    /// The earliest due time, of every timer or (`leases` false) of those
    /// that are not leases.
    pub(crate) fn next(&self, leases: bool) -> Option<u64> {
        self.due
            .iter()
            .find(|(_, t)| leases || !matches!(t, Timer::Lease(_) | Timer::Offer(_)))
            .map(|(at, _)| *at)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.due.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_out_in_order_and_later_ones_stay() {
        let mut t = Timers::default();
        t.set(30, Timer::Saga("c".into()));
        t.set(10, Timer::Retry(7));
        t.set(20, Timer::Lease(8));
        t.set(20, Timer::Retry(9));
        assert_eq!(t.next(true), Some(10));
        assert_eq!(
            t.take_due(20),
            [Timer::Retry(7), Timer::Retry(9), Timer::Lease(8)]
        );
        assert_eq!(t.next(true), Some(30));
        t.set(25, Timer::Lease(8));
        assert_eq!(t.next(false), Some(30), "leases left out");
        t.cancel_all(&Timer::Lease(8));
        t.cancel(30, &Timer::Saga("c".into()));
        assert_eq!((t.len(), t.next(true)), (0, None));
    }
}
