//! The engine's one way into the store: changes are applied by one task,
//! whatever sent them (a turn of the driver, a language-model exchange
//! journaled while its firing runs, an operator's dead-letter operation),
//! as few transactions as they arrive in; durability is handed out by a
//! flushing task that answers every waiter of a flush at once (group
//! commit). A commit never waits for a flush in progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use super::EventObserver;
use crate::store::{Change, Store, StoreError};

/// Most changes in one transaction when several senders' changes are
/// grouped (one sender's are never split).
const MAX_GROUP: usize = 4096;

type Applied = Result<Vec<Change>, StoreError>;

struct Job {
    changes: Vec<Change>,
    done: oneshot::Sender<Applied>,
}

type Waiter = oneshot::Sender<Result<(), String>>;

/// Hands changes to the applying task and durability to the flushing one.
#[derive(Clone)]
pub(crate) struct Committer {
    jobs: mpsc::UnboundedSender<Job>,
    flushes: mpsc::UnboundedSender<Waiter>,
    flushed: Arc<AtomicU64>,
    /// The greatest log seq known durable (see [`Committer::durable_seq`]).
    durable: watch::Receiver<u64>,
}

impl Committer {
    /// Starts both tasks on the current tokio runtime. `observer` is told
    /// of every event applied; `log_seq` is at least the seq of every log
    /// entry stored before.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        observer: Option<EventObserver>,
        log_seq: u64,
    ) -> Committer {
        let applied = Arc::new(AtomicU64::new(log_seq));
        let (jobs, receiver) = mpsc::unbounded_channel();
        tokio::spawn(apply_jobs(
            store.clone(),
            receiver,
            observer,
            applied.clone(),
        ));
        let (flushes, receiver) = mpsc::unbounded_channel();
        let flushed = Arc::new(AtomicU64::new(0));
        let (tell, durable) = watch::channel(log_seq);
        let seqs = Seqs { applied, tell };
        tokio::spawn(flush_waiters(store, receiver, flushed.clone(), seqs));
        Committer {
            jobs,
            flushes,
            flushed,
            durable,
        }
    }

    /// The greatest seq of a log entry known durable, changed after each
    /// flush: a reader of the log sees new entries without polling.
    pub(crate) fn durable_seq(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }

    /// Flushes of the store so far (each acknowledges every change applied
    /// before it).
    pub(crate) fn flushes(&self) -> u64 {
        self.flushed.load(Ordering::Relaxed)
    }

    /// Applies `changes` in one transaction (all or nothing, possibly
    /// together with other senders' changes), not flushed. Returns them
    /// with their log entries numbered.
    pub(crate) async fn apply(&self, changes: Vec<Change>) -> Result<Vec<Change>, StoreError> {
        if changes.is_empty() {
            return Ok(changes);
        }
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job { changes, done })
            .map_err(|_| StoreError::Bug("the committing task stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Bug("the committing task stopped".into()))?
    }

    /// Waits until everything applied before this call is durable
    /// (concurrent callers share one flush).
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.flushes
            .send(tx)
            .map_err(|_| StoreError::Bug("the flushing task stopped".into()))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Bug(format!("flush failed: {e}"))),
            Err(_) => Err(StoreError::Bug("the flushing task stopped".into())),
        }
    }

    /// [`Committer::apply`], then [`Committer::flush`].
    pub(crate) async fn commit(&self, changes: Vec<Change>) -> Result<Vec<Change>, StoreError> {
        let changes = self.apply(changes).await?;
        self.flush().await?;
        Ok(changes)
    }
}

async fn apply_jobs(
    store: Arc<dyn Store>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    observer: Option<EventObserver>,
    applied_seq: Arc<AtomicU64>,
) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        let mut size = group[0].changes.len();
        while size < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => {
                    size += job.changes.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let span = commit_span(&group, size);
        let store = store.clone();
        let applied = match tokio::task::spawn_blocking(move || apply_group(store.as_ref(), group))
            .instrument(span)
            .await
        {
            Ok(applied) => applied,
            Err(e) => {
                // The group's senders are gone with it: they learn it failed.
                tracing::error!(error = %e, "applying changes panicked");
                continue;
            }
        };
        for (job, result) in applied {
            if let Ok(changes) = &result {
                let events = changes.iter().flat_map(|c| &c.events);
                if let Some(last) = events.clone().map(|e| e.seq).max() {
                    applied_seq.fetch_max(last, Ordering::AcqRel);
                }
                if let Some(observer) = &observer {
                    events.for_each(|e| observer(e));
                }
            }
            let _ = job.send(result);
        }
    }
}

/// The `petrel.store.commit` span of a group: its own trace, linked to the
/// traces of the cases it changes (see [`crate::telemetry`]).
fn commit_span(group: &[Job], changes: usize) -> tracing::Span {
    let span = tracing::info_span!(
        "petrel.store.commit",
        jobs = group.len(),
        changes,
        cases = tracing::field::Empty,
    );
    let cases = group.iter().flat_map(|job| &job.changes).flat_map(|c| {
        c.events
            .iter()
            .filter_map(|e| e.case.as_deref())
            .chain(c.case.as_ref().map(|r| r.id.as_str()))
    });
    crate::telemetry::link_cases(&span, cases);
    span
}

/// Applies a group's jobs in one transaction; if that fails, each on its
/// own, so one sender's conflict does not fail the others.
fn apply_group(store: &dyn Store, group: Vec<Job>) -> Vec<(oneshot::Sender<Applied>, Applied)> {
    if group.len() == 1 {
        let Job { mut changes, done } = group.into_iter().next().expect("one job");
        let result = store.apply(&mut changes).map(|()| changes);
        return vec![(done, result)];
    }
    let counts: Vec<usize> = group.iter().map(|j| j.changes.len()).collect();
    let (mut all, dones): (Vec<Vec<Change>>, Vec<_>) =
        group.into_iter().map(|j| (j.changes, j.done)).unzip();
    let mut flat: Vec<Change> = all.iter_mut().flat_map(std::mem::take).collect();
    match store.apply(&mut flat) {
        Ok(()) => {
            let mut rest = flat.into_iter();
            dones
                .into_iter()
                .zip(counts)
                .map(|(done, n)| (done, Ok(rest.by_ref().take(n).collect())))
                .collect()
        }
        Err(_) => {
            let mut rest = flat.into_iter();
            dones
                .into_iter()
                .zip(counts)
                .map(|(done, n)| {
                    let mut changes: Vec<Change> = rest.by_ref().take(n).collect();
                    let result = store.apply(&mut changes).map(|()| changes);
                    (done, result)
                })
                .collect()
        }
    }
}

/// What the flushing task tells of log seqs: the greatest applied, read
/// before a flush, is durable after it.
struct Seqs {
    applied: Arc<AtomicU64>,
    tell: watch::Sender<u64>,
}

async fn flush_waiters(
    store: Arc<dyn Store>,
    mut waiters: mpsc::UnboundedReceiver<Waiter>,
    flushed: Arc<AtomicU64>,
    seqs: Seqs,
) {
    while let Some(first) = waiters.recv().await {
        let mut group = vec![first];
        while let Ok(w) = waiters.try_recv() {
            group.push(w);
        }
        let upto = seqs.applied.load(Ordering::Acquire);
        let store = store.clone();
        let span = tracing::info_span!("petrel.store.flush", waiters = group.len());
        let result = tokio::task::spawn_blocking(move || store.flush())
            .instrument(span)
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        flushed.fetch_add(1, Ordering::Relaxed);
        if result.is_ok() {
            seqs.tell.send_if_modified(|durable| {
                let newer = upto > *durable;
                *durable = (*durable).max(upto);
                newer
            });
        }
        for w in group {
            let _ = w.send(result.clone());
        }
    }
}
