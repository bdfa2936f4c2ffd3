//! Tokens each case has spent on language models, shared by every firing of
//! the case in this process.
//!
//! A call first holds its estimated cost ([`ChatRequest::estimated_tokens`](super::ChatRequest::estimated_tokens))
//! against the case's budget, so concurrent firings of one case cannot
//! overspend together; when the answer comes the hold becomes the real
//! usage (or is released on error, or when the call is dropped at a
//! deadline). A case's counter starts from what its event log says it spent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Spend per case.
#[derive(Debug, Default)]
pub(crate) struct Budgets {
    cases: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl Budgets {
    /// The case's counter; `init` (what the log says it spent) runs only the
    /// first time the case is seen.
    pub(crate) fn case(&self, case: &str, init: impl FnOnce() -> u64) -> Arc<AtomicU64> {
        let mut cases = self.cases.lock().expect("budgets lock");
        cases
            .entry(case.to_string())
            .or_insert_with(|| Arc::new(AtomicU64::new(init())))
            .clone()
    }

    /// Whether the case's counter exists already.
    #[cfg(test)]
    pub(crate) fn knows(&self, case: &str) -> bool {
        self.cases.lock().expect("budgets lock").contains_key(case)
    }
}

/// Tokens held for a call in flight; released on drop unless settled.
#[derive(Debug)]
pub(crate) struct Hold {
    spent: Arc<AtomicU64>,
    amount: u64,
    settled: bool,
}

/// Holds `amount` tokens of a counter capped at `limit`, or says how much is
/// spent (holds included) when that would pass the cap.
pub(crate) fn hold(spent: &Arc<AtomicU64>, amount: u64, limit: u64) -> Result<Hold, u64> {
    spent
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
            (s.saturating_add(amount) <= limit).then_some(s + amount)
        })
        .map(|_| Hold {
            spent: spent.clone(),
            amount,
            settled: false,
        })
}

impl Hold {
    /// Replaces the hold by what the call really used.
    pub(crate) fn settle(mut self, used: u64) {
        self.spent.fetch_add(used, Ordering::SeqCst);
        self.spent.fetch_sub(self.amount, Ordering::SeqCst);
        self.settled = true;
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if !self.settled {
            self.spent.fetch_sub(self.amount, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_cap_concurrent_spending_and_settle_to_real_usage() {
        let budgets = Budgets::default();
        let case = budgets.case("c", || 10);
        assert!(budgets.knows("c"));
        assert_eq!(
            budgets.case("c", || unreachable!()).load(Ordering::SeqCst),
            10
        );
        let a = hold(&case, 50, 100).unwrap();
        assert_eq!(hold(&case, 50, 100).unwrap_err(), 60);
        a.settle(20);
        assert_eq!(case.load(Ordering::SeqCst), 30);
        let b = hold(&case, 70, 100).unwrap();
        drop(b);
        assert_eq!(case.load(Ordering::SeqCst), 30);
    }
}
