//! External work through the host: workers (and people, through the
//! dashboard's inbox) list open offers, claim a firing, then complete,
//! fail or extend it under the lease they got.

use std::time::Duration;

use super::{Host, MAX_CLAIM_WAIT};
use crate::engine::EngineError;
use crate::engine::driver::Command;
use crate::engine::work::{
    ClaimRequest, Completion, DEFAULT_LEASE_MS, LeaseInfo, MAX_LEASE_MS, OfferFilter, OpenOffer,
    WorkFailure, WorkItem,
};

impl Host {
    /// The open offers `filter` asks for (waiting for a worker or held by
    /// one), oldest first, at most [`crate::engine::work::MAX_OFFERS_LISTED`].
    pub async fn open_offers(&self, filter: OfferFilter) -> Result<Vec<OpenOffer>, EngineError> {
        self.ask(|reply| Command::Offers { filter, reply }).await
    }

    /// Claims the oldest claimable external firing that matches `request`,
    /// waiting up to `request.wait_ms` (at most 5 minutes) for one; `None`
    /// when none came. The claim is durable when it returns.
    pub async fn claim(&self, request: ClaimRequest) -> Result<Option<WorkItem>, EngineError> {
        if request.worker.trim().is_empty() {
            return Err(EngineError::Invalid(
                "`worker`: must name the worker (any non-blank text)".into(),
            ));
        }
        let lease_ms = lease_ms(request.lease_ms.unwrap_or(DEFAULT_LEASE_MS))?;
        let wait = Duration::from_millis(request.wait_ms).min(MAX_CLAIM_WAIT);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if !self.ready() {
                return Err(EngineError::Unavailable("the host is shutting down".into()));
            }
            // Registered before asking, so an offer made meanwhile wakes it.
            let offered = self.inner.claimable.notified();
            let request = request.clone();
            let item = self
                .ask(|reply| Command::Claim {
                    request,
                    lease_ms,
                    reply,
                })
                .await?;
            if let Some(item) = item {
                self.engine().flush().await?;
                return Ok(Some(item));
            }
            if tokio::time::timeout_at(deadline, offered).await.is_err() {
                return Ok(None);
            }
        }
    }

    /// Completes a claimed firing with a declared outcome and its tokens
    /// (checked like a guest's decision; a refused completion leaves the
    /// lease as it was). Durable when it returns.
    pub async fn complete(
        &self,
        firing: u64,
        lease: &str,
        completion: Completion,
    ) -> Result<(), EngineError> {
        let lease = lease.to_string();
        self.ask(|reply| Command::Complete {
            firing,
            lease,
            completion,
            reply,
        })
        .await?;
        self.engine().flush().await
    }

    /// Reports that a claimed firing failed: a failed attempt, under its
    /// transition's retry policy. Durable when it returns.
    pub async fn fail(
        &self,
        firing: u64,
        lease: &str,
        failure: WorkFailure,
    ) -> Result<(), EngineError> {
        let lease = lease.to_string();
        self.ask(|reply| Command::Fail {
            firing,
            lease,
            failure,
            reply,
        })
        .await?;
        self.engine().flush().await
    }

    /// Extends a claimed firing's lease to `lease_ms` from now. Durable
    /// when it returns.
    pub async fn extend(
        &self,
        firing: u64,
        lease: &str,
        lease_ms: u64,
    ) -> Result<LeaseInfo, EngineError> {
        let lease_ms = self::lease_ms(lease_ms)?;
        let lease = lease.to_string();
        let info = self
            .ask(|reply| Command::Extend {
                firing,
                lease,
                lease_ms,
                reply,
            })
            .await?;
        self.engine().flush().await?;
        Ok(info)
    }
}

/// Checks a requested lease length.
fn lease_ms(ms: u64) -> Result<u64, EngineError> {
    if (1..=MAX_LEASE_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(EngineError::Invalid(format!(
            "`lease_ms`: {ms} is out of range (expected 1 to {MAX_LEASE_MS})"
        )))
    }
}
