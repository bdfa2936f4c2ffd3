//! Shared tokens when several hosts share the store: this core holds only
//! the shared tokens lent to its host. A case needing one it lacks waits
//! (it is not stuck: another host may hold it); the shell borrows for the
//! versions cases wait on and gives back what other hosts wait for.

use super::Core;
use crate::store::{Owner, StoredToken};

impl Core {
    /// Shared tokens may lie with other hosts (see the module docs).
    pub(crate) fn share_with_hosts(&mut self) {
        self.marking.set_remote();
    }

    /// Takes in shared tokens lent to this host (their versions known);
    /// the cases waiting on them are planned again.
    pub(crate) fn lend(&mut self, tokens: Vec<StoredToken>) {
        for t in tokens {
            let Owner::Shared(version) = &t.owner else {
                continue;
            };
            if let Some(place) = self.marking.shared_place(version, &t.place) {
                self.marking.put_shared(version, place, t.seq, t.payload);
                let version = version.clone();
                self.wake_waiting(&version);
            }
        }
    }

    /// Takes this host's free shared tokens of `version` out, to give
    /// back.
    pub(crate) fn take_free_shared(&mut self, version: &str) -> Vec<StoredToken> {
        self.marking
            .take_free_shared(version)
            .into_iter()
            .map(|(place, seq, payload)| StoredToken {
                owner: Owner::Shared(version.to_string()),
                place,
                seq,
                payload,
            })
            .collect()
    }

    /// Whether some case waits on shared tokens of a version `pick` picks.
    pub(crate) fn awaits_any(&self, mut pick: impl FnMut(&str) -> bool) -> bool {
        self.awaiting_shared
            .iter()
            .any(|(v, cases)| !cases.is_empty() && pick(v))
    }

    /// The versions some case waits on shared tokens of.
    pub(crate) fn awaiting_versions(&self) -> Vec<String> {
        let mut versions: Vec<String> = self
            .awaiting_shared
            .iter()
            .filter(|(_, cases)| !cases.is_empty())
            .map(|(v, _)| v.clone())
            .collect();
        versions.sort();
        versions
    }
}
