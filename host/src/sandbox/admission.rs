//! Admission control in front of the instance pool: a call waits for one of
//! the pool's slots, and for one of its net's share of them, so no net can
//! hold every slot (with guests that sleep until their deadline, say) while
//! other nets' firings wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The pool's slots and each net's share.
pub(crate) struct Admission {
    slots: Arc<Semaphore>,
    per_net: usize,
    nets: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Leave to run one guest instance: held for the whole call.
pub(crate) struct Permit {
    _net: OwnedSemaphorePermit,
    _slot: OwnedSemaphorePermit,
}

impl Admission {
    /// `slots` instances at once, at most `per_net` of them for one net.
    pub(crate) fn new(slots: u32, per_net: u32) -> Admission {
        Admission {
            slots: Arc::new(Semaphore::new(slots as usize)),
            per_net: per_net.max(1) as usize,
            nets: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot for a guest of net `net` (its share first, so a
    /// net waiting on its own share holds no slot another net could use).
    pub(crate) async fn admit(&self, net: &str) -> Permit {
        let share = {
            let mut nets = self.nets.lock().expect("admission lock");
            nets.entry(net.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_net)))
                .clone()
        };
        let closed = "admission semaphores are never closed";
        let net = share.acquire_owned().await.expect(closed);
        let slot = self.slots.clone().acquire_owned().await.expect(closed);
        Permit {
            _net: net,
            _slot: slot,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_net_cannot_take_every_slot() {
        let admission = Admission::new(4, 2);
        let _a = admission.admit("greedy").await;
        let _b = admission.admit("greedy").await;
        let third = tokio::time::timeout(Duration::from_millis(50), admission.admit("greedy"));
        assert!(third.await.is_err(), "a net got more than its share");
        let other = tokio::time::timeout(Duration::from_millis(50), admission.admit("other"));
        assert!(other.await.is_ok(), "another net found no slot");
    }
}
