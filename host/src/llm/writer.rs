//! Appending exchanges to the event log in batches: one store transaction
//! (off the async workers) for every exchange waiting, then one group flush
//! if any of them must be durable. A thousand concurrent firings whose model
//! answers at the same moment cost a few transactions, not a thousand.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::host::FlushFn;
use crate::store::{Change, EventRecord, Store, StoreError};

/// Most events in one transaction.
const MAX_BATCH: usize = 4096;

struct Pending {
    event: EventRecord,
    durable: bool,
    done: oneshot::Sender<Result<(), String>>,
}

/// Hands events to the writing task.
pub(crate) struct Writer {
    tx: mpsc::UnboundedSender<Pending>,
}

impl Writer {
    /// Starts the writing task on the current tokio runtime.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        flush: FlushFn,
        observer: Option<crate::engine::EventObserver>,
    ) -> Writer {
        let (tx, mut rx) = mpsc::unbounded_channel::<Pending>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                let mut change = Change {
                    events: batch.iter().map(|p| p.event.clone()).collect(),
                    ..Change::default()
                };
                let store = store.clone();
                let applied = tokio::task::spawn_blocking(move || {
                    store
                        .apply(std::slice::from_mut(&mut change))
                        .map(|()| change)
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
                if let (Ok(change), Some(observer)) = (&applied, &observer) {
                    for event in &change.events {
                        observer(event);
                    }
                }
                let mut result = applied.map(|_| ());
                if result.is_ok() && batch.iter().any(|p| p.durable) {
                    result = flush().await.map_err(|e| e.to_string());
                }
                for p in batch {
                    let _ = p.done.send(result.clone());
                }
            }
        });
        Writer { tx }
    }

    /// Appends `event`; returns once it is written (and, with `durable`,
    /// on disk).
    pub(crate) async fn write(&self, event: EventRecord, durable: bool) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending {
                event,
                durable,
                done,
            })
            .map_err(|_| StoreError::Bug("the journal writer stopped".into()))?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Conflict(format!(
                "cannot append the llm exchange to the event log: {e}"
            ))),
            Err(_) => Err(StoreError::Bug("the journal writer stopped".into())),
        }
    }
}
