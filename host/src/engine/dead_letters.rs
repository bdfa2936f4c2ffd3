//! Operating on the dead-letter queue: list, retry, discard.
//!
//! Each operation is one store transaction that re-checks the dead letter is
//! still there, so a letter is retried or discarded once, never both. A
//! daemon's driver does the same through its core (see `driver`).

use super::core::{Core, letters};
use super::{Engine, EngineError};
use crate::store::{CaseRecord, DeadLetter};

impl Engine {
    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, EngineError> {
        Ok(self.store.dead_letters()?)
    }

    /// One dead letter.
    pub fn dead_letter(&self, id: u64) -> Result<DeadLetter, EngineError> {
        self.store
            .dead_letter(id)?
            .ok_or_else(|| EngineError::NotFound(format!("no dead letter {id}")))
    }

    /// A dead letter and its case's record, the case first made this
    /// host's (into `core`) on a shared store: refused while another live
    /// host runs it.
    pub(crate) async fn letter_and_case(
        &self,
        core: &mut Core,
        id: u64,
    ) -> Result<(DeadLetter, CaseRecord), EngineError> {
        let letter = self.dead_letter(id)?;
        self.claim(core, &letter.case).await?;
        let case = self.store.case(&letter.case)?.ok_or_else(|| {
            EngineError::NotFound(format!(
                "dead letter {id} belongs to case `{}`, which is gone",
                letter.case
            ))
        })?;
        Ok((letter, case))
    }

    /// Puts a dead letter's tokens back in their places (under their old
    /// seqs), held for its transition, which the next run fires again on
    /// them with a fresh attempt count; for a compensation, runs the saga
    /// again from that step. `by` (who) is recorded. Durable when it returns.
    pub async fn retry_dead_letter(&self, id: u64, by: &str) -> Result<DeadLetter, EngineError> {
        let (letter, case) = self
            .letter_and_case(&mut self.core(None, false), id)
            .await?;
        let change = letters::retry(&letter, case, by, self.clock().now_ms())?;
        self.committer.commit(vec![change]).await?;
        Ok(letter)
    }

    /// Drops a dead letter for good, recording who (`by`) and `reason`. A discarded
    /// compensation is skipped: the case's remaining compensations run.
    /// Durable when it returns.
    pub async fn discard_dead_letter(
        &self,
        id: u64,
        by: &str,
        reason: &str,
    ) -> Result<DeadLetter, EngineError> {
        let (letter, case) = self
            .letter_and_case(&mut self.core(None, false), id)
            .await?;
        let change = letters::discard(&letter, case, by, reason, self.clock().now_ms())?;
        self.committer.commit(vec![change]).await?;
        Ok(letter)
    }
}
