//! The engine's one loop: the shell around [`Core`]. Each turn settles the
//! firings that finished, plans what is due and enabled, commits the
//! changes of both in one store transaction (settling more firings while
//! it waits), then launches. A batch run ([`Engine::run`]) is this loop
//! with no commands, ending when nothing can fire; a daemon's driver
//! takes commands (a case started, a worker's claim, an operator's
//! dead-letter operation, shutdown) between turns and runs until shut down.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinSet;

pub(crate) use super::command::Command;
use super::command::Reply;
pub use super::command::ShutdownReport;
use super::core::{Core, Launch, letters};
use super::sharing::{Lending, TICK};
use super::{Engine, EngineError, execute};
use crate::sandbox::CallResult;
use crate::store::{DeadLetter, StoreError};

/// How a drive ends.
pub(crate) enum Mode {
    /// Fire until nothing can; wait for retry timers unless `no_wait`.
    Batch { no_wait: bool },
    /// Take commands until shut down; tell `claimable` when an offer is made.
    Daemon {
        commands: mpsc::Receiver<Command>,
        claimable: Arc<Notify>,
    },
}

/// The shell: the core, its firings in flight, and the engine doing I/O.
pub(crate) struct Shell<'e> {
    engine: &'e Engine,
    core: Core,
    tasks: JoinSet<(Launch, CallResult)>,
    /// Shared tokens borrowed from other hosts (a shared store).
    lending: Lending,
}

/// A firing task's result.
type Finished = Result<(Launch, CallResult), tokio::task::JoinError>;

/// When a shutdown must be over, and who waits for its report.
type Stopping = (
    tokio::time::Instant,
    Option<oneshot::Sender<ShutdownReport>>,
);

impl<'e> Shell<'e> {
    pub(crate) fn new(engine: &'e Engine, core: Core) -> Shell<'e> {
        Shell {
            engine,
            core,
            tasks: JoinSet::new(),
            lending: Lending::default(),
        }
    }

    /// The core (for a batch run's summary).
    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// Runs the loop until `mode` says it is over. A daemon's shutdown
    /// report goes to whoever asked for the shutdown.
    pub(crate) async fn drive(&mut self, mut mode: Mode) -> Result<(), EngineError> {
        let clock = self.engine.clock().clone();
        let mut stopping: Option<Stopping> = None;
        let mut report = ShutdownReport::default();
        let wake = self.engine.cluster().map(|c| c.wake());
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let now = clock.now_ms();
            self.core.timers_due(now)?;
            let launches = match stopping {
                None => self.core.plan(now)?,
                Some(_) => Vec::new(),
            };
            self.commit().await?;
            self.launch(launches);
            if let Some(cluster) = self.engine.cluster()
                && stopping.is_none()
                && self.lending.newly_awaiting(&self.core)
            {
                self.lending.borrow(cluster, &mut self.core, now)?;
            }
            if self.core.take_offered()
                && let Mode::Daemon { claimable, .. } = &mode
            {
                claimable.notify_waiters();
            }
            if stopping.is_some() && self.tasks.is_empty() {
                break;
            }
            let commands = match &mut mode {
                Mode::Batch { no_wait } => {
                    if self.core.ready() {
                        continue; // firings settled during the commit enabled more
                    }
                    let next = self.core.next_timer(false);
                    if self.tasks.is_empty() && self.share().await? {
                        continue; // adopted cases or borrowed tokens
                    }
                    if self.tasks.is_empty() {
                        match next {
                            Some(at) if !*no_wait => {
                                // Idle until a durable timer: make the timers
                                // durable first, so a host killed while it
                                // waits resumes them.
                                self.engine.flush().await?;
                                tracing::info!(
                                    wait_ms = at.saturating_sub(clock.now_ms()),
                                    "waiting for a durable retry timer"
                                );
                                clock.sleep_until(at).await;
                                continue;
                            }
                            _ => break,
                        }
                    }
                    let first = match next {
                        Some(at) if !clock.moves_only_when_idle() => tokio::select! {
                            done = self.tasks.join_next() => done,
                            () = clock.sleep_until(at) => continue,
                        },
                        _ => self.tasks.join_next().await,
                    };
                    if let Some(done) = first {
                        self.settle(done)?;
                    }
                    continue;
                }
                Mode::Daemon { commands, .. } => commands,
            };
            let next = self.core.next_timer(true);
            let timer = async {
                match next {
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
            let ready = stopping.is_none() && self.core.ready();
            let woken = async {
                match &wake {
                    Some(wake) => wake.notified().await,
                    None => std::future::pending().await,
                }
            };
            let sharing = wake.is_some() && stopping.is_none();
            tokio::select! {
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    self.settle(done)?;
                    if stopping.is_some() {
                        report.finished += 1;
                    }
                }
                command = commands.recv(), if stopping.is_none() => match command {
                    Some(command) => self.commands(command, commands, &mut stopping).await?,
                    None => stopping = Some((tokio::time::Instant::now(), None)),
                },
                () = timer, if stopping.is_none() => {}
                // Another host freed cases, gave back or wants tokens.
                () = woken, if sharing => { self.share().await?; }
                _ = tick.tick(), if sharing => { self.share().await?; }
                // Firings settled during a commit enabled more (a branch of
                // its own, so commands still get their turn).
                () = std::future::ready(()), if ready => {}
                () = deadline => break,
            }
        }
        report.cut_off = self.tasks.len() as u64;
        self.tasks.abort_all();
        self.commit().await?;
        self.engine.flush().await?;
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

    /// Runs the launches' guests as tasks.
    fn launch(&mut self, launches: Vec<Launch>) {
        for launch in launches {
            let sandbox = self.engine.sandbox().clone();
            let llm = self.engine.llm().clone();
            // The guest call's state (wasmtime's async call) is large: it is
            // boxed by the worker's first poll, so spawning on the driver's
            // thread allocates only a small task.
            self.tasks
                .spawn(async move { Box::pin(execute::execute(sandbox, llm, launch)).await });
        }
    }

    /// A turn with the other hosts sharing the store (see
    /// [`Lending::turn`]); whether it brought work.
    async fn share(&mut self) -> Result<bool, EngineError> {
        if self.engine.cluster().is_none() {
            return Ok(false);
        }
        self.commit().await?;
        let now = self.engine.clock().now_ms();
        self.lending.turn(self.engine, &mut self.core, now).await
    }

    fn settle(&mut self, done: Finished) -> Result<(), EngineError> {
        let (launch, call) = done
            .map_err(|e| EngineError::Store(StoreError::Bug(format!("firing task failed: {e}"))))?;
        let now = self.engine.clock().now_ms();
        self.core.settle(launch, call, now)
    }

    /// Commits the core's changes (one transaction, not flushed: a caller
    /// that acknowledges flushes), settling the firings that finish
    /// meanwhile; their changes wait for the next commit.
    async fn commit(&mut self) -> Result<(), EngineError> {
        let changes = self.core.take_changes();
        if changes.is_empty() {
            return Ok(());
        }
        let committer = self.engine.committer().clone();
        let mut apply = std::pin::pin!(committer.apply(changes));
        let applied = loop {
            tokio::select! {
                biased;
                applied = &mut apply => break applied?,
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    self.settle(done)?;
                }
            }
        };
        self.core.committed(&applied);
        Ok(())
    }

    /// Carries out `first` and the commands queued behind it (at most
    /// [`MAX_BATCH`]), commits their changes in one transaction, then
    /// answers them all: concurrent requests share a commit (and, as their
    /// callers flush, a flush). A shutdown ends the batch.
    async fn commands(
        &mut self,
        first: Command,
        queue: &mut mpsc::Receiver<Command>,
        stopping: &mut Option<Stopping>,
    ) -> Result<(), EngineError> {
        let mut answers = Vec::new();
        let mut next = Some(first);
        let mut done = Ok(());
        let mut taken = 0;
        while let Some(command) = next.take() {
            taken += 1;
            if let Command::Shutdown { grace, reply } = command {
                tracing::info!(
                    in_flight = self.tasks.len(),
                    grace_ms = grace.as_millis() as u64,
                    "shutting down"
                );
                *stopping = Some((tokio::time::Instant::now() + grace, Some(reply)));
                break;
            }
            if let Err(e) = self.command(command, &mut answers).await {
                done = Err(e);
                break;
            }
            if taken < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        let committed = match done {
            Ok(()) => self.commit().await,
            Err(e) => Err(e),
        };
        for answer in answers {
            answer(committed.as_ref().map(|_| ()));
        }
        committed
    }

    /// Carries out one command; its answer waits in `answers` for the
    /// batch's commit. A store or sandbox failure stops the driver (the core
    /// may no longer match the store).
    async fn command(
        &mut self,
        command: Command,
        answers: &mut Vec<Answer>,
    ) -> Result<(), EngineError> {
        let now = self.engine.clock().now_ms();
        match command {
            Command::CaseStarted { record, tokens } => {
                if !self.core.has_case(&record.id) {
                    self.engine
                        .add_case(&mut self.core, *record, tokens, Vec::new())?;
                }
                Ok(())
            }
            Command::Claim {
                request,
                lease_ms,
                reply,
            } => {
                let result = self.core.claim(&request, lease_ms, now);
                answer(answers, reply, result)
            }
            Command::Complete {
                firing,
                lease,
                completion,
                reply,
            } => {
                let result = self.core.complete(firing, &lease, completion, now);
                let result = self.engine.routed(firing, result);
                answer(answers, reply, result)
            }
            Command::Fail {
                firing,
                lease,
                failure,
                reply,
            } => {
                let result = self.core.fail_work(firing, &lease, failure, now);
                let result = self.engine.routed(firing, result);
                answer(answers, reply, result)
            }
            Command::Extend {
                firing,
                lease,
                lease_ms,
                reply,
            } => {
                let result = self.core.extend(firing, &lease, lease_ms, now);
                let result = self.engine.routed(firing, result);
                answer(answers, reply, result)
            }
            Command::Offers { filter, reply } => {
                let offers = self.core.open_offers(&filter);
                answer(answers, reply, Ok(offers))
            }
            Command::PlaceCounts { version, reply } => {
                let counts = self.core.place_counts(&version);
                answer(answers, reply, Ok(counts))
            }
            Command::Cancel {
                id,
                by,
                reason,
                reply,
            } => {
                let claimed = self.engine.claim(&mut self.core, &id).await;
                let result = claimed.and_then(|()| self.core.cancel(&id, &by, reason, now));
                answer(answers, reply, result)
            }
            Command::RetryDeadLetter { id, by, reply } => {
                let result = self
                    .close_letter(id, |letter, case| letters::retry(letter, case, &by, now))
                    .await;
                answer(answers, reply, result)
            }
            Command::DiscardDeadLetter {
                id,
                by,
                reason,
                reply,
            } => {
                let result = self
                    .close_letter(id, |letter, case| {
                        letters::discard(letter, case, &by, &reason, now)
                    })
                    .await;
                answer(answers, reply, result)
            }
            Command::Shutdown { reply, .. } => {
                let _ = reply.send(ShutdownReport::default());
                Err(EngineError::Store(StoreError::Bug(
                    "shutdown reached the command handler".into(),
                )))
            }
        }
    }

    /// Closes dead letter `id` with the change `close` makes of it and its
    /// case's stored record; reloads the case if it was not loaded.
    async fn close_letter(
        &mut self,
        id: u64,
        close: impl FnOnce(
            &DeadLetter,
            crate::store::CaseRecord,
        ) -> Result<crate::store::Change, EngineError>,
    ) -> Result<DeadLetter, EngineError> {
        // The stored case record must be the one the core holds.
        self.commit().await?;
        let (letter, case) = self.engine.letter_and_case(&mut self.core, id).await?;
        let change = close(&letter, case)?;
        let refire = change.reserve.first().cloned();
        if self.core.close_letter(&letter, change)? {
            self.commit().await?;
            self.engine.load_case(&mut self.core, &letter.case)?;
            if let Some((firing, r)) = refire {
                self.core.adopt(firing, r)?;
            }
        }
        Ok(letter)
    }
}

/// A command's answer, sent once the batch's changes are committed (given
/// the commit's failure if it failed).
type Answer = Box<dyn FnOnce(Result<(), &EngineError>) + Send>;

/// Most commands carried out between two commits.
const MAX_BATCH: usize = 1024;

/// Queues `result` for `reply`. A store or sandbox failure also stops the
/// driver: it is returned, and the caller is told the driver stopped.
fn answer<T: Send + 'static>(
    answers: &mut Vec<Answer>,
    reply: Reply<T>,
    result: Result<T, EngineError>,
) -> Result<(), EngineError> {
    let (result, fatal) = match result {
        Err(e @ (EngineError::Store(_) | EngineError::Sandbox(_))) => {
            let told = EngineError::Unavailable(format!("the host's driver stopped: {e}"));
            (Err(told), Some(e))
        }
        other => (other, None),
    };
    answers.push(Box::new(move |committed| {
        let result = match committed {
            Ok(()) => result,
            Err(e) => Err(EngineError::Unavailable(format!(
                "the host's driver stopped: {e}"
            ))),
        };
        let _ = reply.send(result);
    }));
    fatal.map_or(Ok(()), Err)
}

impl Engine {
    /// Drives every case of the engine until shut down (or until every
    /// [`Command`] sender is gone). Offers becoming claimable are told on
    /// `claimable`; `started` learns whether the store could be loaded.
    pub(crate) async fn drive(
        &self,
        commands: mpsc::Receiver<Command>,
        claimable: Arc<Notify>,
        started: oneshot::Sender<Result<(), EngineError>>,
    ) -> Result<(), EngineError> {
        let mut core = self.core(None, true);
        if let Err(e) = self.load(&mut core).await {
            let _ = started.send(Err(e));
            return Ok(());
        }
        let _ = started.send(Ok(()));
        Shell::new(self, core)
            .drive(Mode::Daemon {
                commands,
                claimable,
            })
            .await
    }
}
