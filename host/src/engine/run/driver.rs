//! The driver: a run that never ends on its own. Between firings it takes
//! commands (a case started, a worker's claim or result, a dead-letter
//! operation, shutdown) from the [`Host`](crate::host::Host), which owns
//! the sending side, so the marking index has one owner.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use super::super::{Engine, EngineError};
use super::{RunOptions, Runner};
use crate::host::{ClaimRequest, Completion, LeaseInfo, ShutdownReport, WorkFailure, WorkItem};
use crate::store::{DeadLetter, DeadLetterKind};

/// A reply channel.
type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// What the host asks of its driver.
pub(crate) enum Command {
    /// Case `0` was started (it is durable); fire it.
    CaseStarted(String),
    /// A worker claims an external firing.
    Claim {
        request: ClaimRequest,
        lease_ms: u64,
        reply: Reply<Option<WorkItem>>,
    },
    /// A worker completes a claimed firing.
    Complete {
        firing: u64,
        lease: String,
        completion: Completion,
        reply: Reply<()>,
    },
    /// A worker failed a claimed firing.
    Fail {
        firing: u64,
        lease: String,
        failure: WorkFailure,
        reply: Reply<()>,
    },
    /// A worker extends its lease.
    Extend {
        firing: u64,
        lease: String,
        lease_ms: u64,
        reply: Reply<LeaseInfo>,
    },
    /// Retry a dead letter.
    RetryDeadLetter { id: u64, reply: Reply<DeadLetter> },
    /// Discard a dead letter.
    DiscardDeadLetter {
        id: u64,
        reason: String,
        reply: Reply<DeadLetter>,
    },
    /// Stop launching; let firings in flight finish within `grace`.
    Shutdown {
        grace: Duration,
        reply: oneshot::Sender<ShutdownReport>,
    },
}

/// Sends `result` to the caller. A store failure also stops the driver
/// (its index may no longer match the store); the caller is told so.
fn answer<T>(reply: Reply<T>, result: Result<T, EngineError>) -> Result<(), EngineError> {
    match result {
        Err(e @ (EngineError::Store(_) | EngineError::Sandbox(_))) => {
            let _ = reply.send(Err(EngineError::Unavailable(format!(
                "the host's driver stopped: {e}"
            ))));
            Err(e)
        }
        other => {
            let _ = reply.send(other);
            Ok(())
        }
    }
}

/// Drives every case of `engine` until shut down (or until every
/// [`Command`] sender is gone). Offers becoming claimable are told on
/// `claimable`; `started` learns whether the driver could load the store.
pub(crate) async fn drive(
    engine: &Engine,
    mut commands: mpsc::Receiver<Command>,
    claimable: Arc<Notify>,
    started: oneshot::Sender<Result<(), EngineError>>,
) -> Result<(), EngineError> {
    let mut runner = match Runner::load(engine, RunOptions::default()) {
        Ok(runner) => runner,
        Err(e) => {
            let _ = started.send(Err(e));
            return Ok(());
        }
    };
    let _ = started.send(Ok(()));
    runner.claimable = claimable;
    runner.evict_finished = true;
    let clock = engine.clock().clone();
    let mut stopping: Option<(
        tokio::time::Instant,
        Option<oneshot::Sender<ShutdownReport>>,
    )> = None;
    let mut report = ShutdownReport::default();
    loop {
        runner.fire_due_timers()?;
        if stopping.is_none() {
            let launches = runner.schedule()?;
            if !launches.is_empty() {
                runner.start(launches).await?;
            }
        }
        runner.commit()?;
        if stopping.is_some() && runner.tasks.is_empty() {
            break;
        }
        let next_timer = runner.timers.first().map(|(at, _)| *at);
        let timer = async {
            match next_timer {
                Some(at) => clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let deadline = async {
            match &stopping {
                Some((at, _)) => tokio::time::sleep_until(*at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(done) = runner.tasks.join_next(), if !runner.tasks.is_empty() => {
                let before = runner.tasks.len() + 1;
                runner.settle_finished(done)?;
                if stopping.is_some() {
                    report.finished += (before - runner.tasks.len()) as u64;
                }
            }
            command = commands.recv(), if stopping.is_none() => match command {
                Some(Command::Shutdown { grace, reply }) => {
                    tracing::info!(in_flight = runner.tasks.len(), grace_ms = grace.as_millis() as u64, "shutting down");
                    stopping = Some((tokio::time::Instant::now() + grace, Some(reply)));
                }
                Some(command) => runner.command(command).await?,
                None => stopping = Some((tokio::time::Instant::now(), None)),
            },
            () = timer, if stopping.is_none() => {}
            // Firings settled during a commit enabled more (a ready branch,
            // so commands still get their turn).
            () = std::future::ready(()), if stopping.is_none() && !runner.dirty.is_empty() && runner.may_launch(0) => {}
            () = deadline => break,
        }
    }
    report.cut_off = runner.tasks.len() as u64;
    runner.tasks.abort_all();
    runner.commit()?;
    engine.flush().await?;
    if report.cut_off > 0 {
        tracing::warn!(
            cut_off = report.cut_off,
            "firings cut off by shutdown; they re-run on the next start"
        );
    }
    if let Some((_, Some(reply))) = stopping {
        let _ = reply.send(report);
    }
    Ok(())
}

impl Runner<'_> {
    /// Carries out one command (its changes applied before it answers).
    async fn command(&mut self, command: Command) -> Result<(), EngineError> {
        match command {
            Command::CaseStarted(id) => {
                if !self.cases.contains_key(&id) {
                    self.load_case(&id, true)?;
                }
                Ok(())
            }
            Command::Claim {
                request,
                lease_ms,
                reply,
            } => {
                let result = self.claim(&request, lease_ms);
                let result = result.and_then(|item| self.commit().map(|()| item));
                answer(reply, result)
            }
            Command::Complete {
                firing,
                lease,
                completion,
                reply,
            } => {
                let result = self.complete(firing, &lease, completion);
                answer(reply, result.and_then(|()| self.commit()))
            }
            Command::Fail {
                firing,
                lease,
                failure,
                reply,
            } => {
                let result = self.fail_work(firing, &lease, failure);
                answer(reply, result.and_then(|()| self.commit()))
            }
            Command::Extend {
                firing,
                lease,
                lease_ms,
                reply,
            } => {
                let result = self.extend(firing, &lease, lease_ms);
                let result = result.and_then(|info| self.commit().map(|()| info));
                answer(reply, result)
            }
            Command::RetryDeadLetter { id, reply } => {
                self.commit()?;
                let result = self.engine.retry_dead_letter(id).await;
                let result = match result {
                    Ok(letter) => self.dead_letter_gone(&letter, true).map(|()| letter),
                    Err(e) => Err(e),
                };
                answer(reply, result)
            }
            Command::DiscardDeadLetter { id, reason, reply } => {
                self.commit()?;
                let result = self.engine.discard_dead_letter(id, &reason).await;
                let result = match result {
                    Ok(letter) => self.dead_letter_gone(&letter, false).map(|()| letter),
                    Err(e) => Err(e),
                };
                answer(reply, result)
            }
            Command::Shutdown { .. } => unreachable!("handled by drive"),
        }
    }

    /// Brings the index in line after `letter` was retried (its tokens are
    /// back) or discarded.
    fn dead_letter_gone(&mut self, letter: &DeadLetter, retried: bool) -> Result<(), EngineError> {
        let record = self.engine.store().case(&letter.case)?;
        let loaded = self.cases.get_mut(&letter.case);
        match (loaded, record, &letter.kind) {
            (Some(case), Some(record), DeadLetterKind::Firing) => {
                if retried {
                    let net = &case.dep.net;
                    for t in &letter.tokens {
                        if let Some(p) = net.place_index(&t.place) {
                            case.tokens.place_mut(p).restore(t.seq);
                        }
                    }
                }
                case.dead_letters = case.dead_letters.saturating_sub(1);
                case.record = record;
                case.blocked.clear();
                self.mark_dirty(&letter.case);
                Ok(())
            }
            (Some(case), Some(record), _) if case.in_flight > 0 || case.retrying > 0 => {
                // Busy (cannot be reloaded under its firings): the new
                // record is enough; its own settling moves it on.
                case.record = record;
                self.mark_dirty(&letter.case);
                Ok(())
            }
            _ => {
                self.cases.remove(&letter.case);
                self.load_case(&letter.case, false)
            }
        }
    }
}
