//! `GET /v1/events`: the event log as server-sent events, live. Each
//! durable log entry is one event (`id:` its seq, `event:` its type,
//! `data:` the entry as history shows it); a client resumes after the last
//! id it saw (`Last-Event-ID`, or `after`). The dashboard keeps its pages
//! current with it.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, watch};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::Query;
use crate::host::Host;
use crate::store::EventRecord;

/// Entries read from the store at a time.
const BATCH: usize = 256;
/// Shortest time between two reads of one stream: new entries wait at most
/// this long, however often the store flushes.
const MIN_READ_INTERVAL: Duration = Duration::from_millis(100);
/// On a store other hosts share, how often a stream looks for what they
/// logged (its own host's commits wake it at once).
const SHARED_POLL: Duration = Duration::from_millis(250);
/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /v1/events` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// Only this case's entries.
    #[serde(default)]
    case: Option<String>,
    /// Entries after this seq (`Last-Event-ID` wins when both are given).
    #[serde(default)]
    after: Option<u64>,
}

/// Where a stream is: what it reads, up to where, and what ends it.
struct Cursor {
    host: Host,
    case: Option<String>,
    after: u64,
    durable: watch::Receiver<u64>,
    applied: watch::Receiver<u64>,
    stopping: watch::Receiver<bool>,
    /// Entries read but not sent yet.
    pending: std::collections::VecDeque<EventRecord>,
    /// Other hosts share the store: every committed entry is durable, and
    /// theirs do not move this host's durable seq, so the log is polled.
    shared: bool,
    /// Held while the stream is open (`[server] max_event_streams`).
    _permit: OwnedSemaphorePermit,
}

/// The log as a stream of server-sent events (see the module docs).
pub(crate) async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let last_id = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidRequest,
                        "`Last-Event-ID`: expected the `id` of an event this stream sent (a seq)",
                    )
                })?,
        ),
    };
    if let Some(case) = &query.case {
        crate::store::check_case_id(case)
            .map_err(|m| ApiError::new(ErrorCode::InvalidQuery, format!("`case`: {m}")))?;
    }
    let permit = state.event_streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            ErrorCode::Overloaded,
            "too many event streams open; retry shortly (`[server] max_event_streams` in petrel.toml)",
        )
    })?;
    let durable = state.host.engine().durable_seq();
    let after = last_id.or(query.after).unwrap_or(*durable.borrow());
    let cursor = Cursor {
        host: state.host.clone(),
        case: query.case,
        after,
        durable,
        applied: state.host.engine().applied_seq(),
        stopping: state.stopping.clone(),
        shared: state.host.engine().store().cluster().is_some(),
        pending: Default::default(),
        _permit: permit,
    };
    let events = stream::unfold(cursor, |mut cursor| async move {
        let entry = cursor.next().await?;
        Some((Ok(sse_event(&entry)), cursor))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

impl Cursor {
    /// The next durable entry, waiting for one; `None` when the server
    /// stops or the store fails (the client reconnects and resumes).
    async fn next(&mut self) -> Option<EventRecord> {
        loop {
            if let Some(entry) = self.pending.pop_front() {
                return Some(entry);
            }
            let durable = match self.shared {
                // Seqs are drawn in commit order: every entry read is
                // committed, none committed later has a smaller seq.
                true => u64::MAX,
                false => *self.durable.borrow_and_update(),
            };
            if durable > self.after {
                let page =
                    self.host
                        .engine()
                        .store()
                        .events(self.case.as_deref(), self.after, BATCH);
                let page = match page {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::warn!(error = %e, "event stream ends: reading the log failed");
                        return None;
                    }
                };
                let fresh: Vec<EventRecord> =
                    page.into_iter().take_while(|e| e.seq <= durable).collect();
                match fresh.last() {
                    Some(last) => {
                        self.after = last.seq;
                        self.pending.extend(fresh);
                        continue;
                    }
                    None if self.shared => {}
                    // Nothing of ours up to `durable`: wait for more.
                    None => self.after = durable,
                }
            }
            // Entries applied but not flushed yet (a turn the driver did not
            // flush at once) are flushed, so they are shown once durable.
            if !self.shared && *self.applied.borrow_and_update() > durable {
                tokio::time::sleep(MIN_READ_INTERVAL).await;
                if let Err(e) = self.host.engine().flush().await {
                    tracing::warn!(error = %e, "event stream ends: flushing failed");
                    return None;
                }
                continue;
            }
            let shared = self.shared;
            let poll = async {
                match shared {
                    true => tokio::time::sleep(SHARED_POLL).await,
                    false => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = self.durable.changed() => changed.ok()?,
                changed = self.applied.changed() => changed.ok()?,
                () = poll => {}
                () = stopped(&mut self.stopping) => return None,
            }
            tokio::time::sleep(MIN_READ_INTERVAL).await;
        }
    }
}

/// Resolves once the server begins to stop (never for an embedder's
/// router, which has no shutdown of its own).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    if stopping.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One log entry as a server-sent event.
fn sse_event(entry: &EventRecord) -> Event {
    let data = serde_json::to_string(entry).unwrap_or_else(|e| {
        serde_json::json!({ "seq": entry.seq, "error": e.to_string() }).to_string()
    });
    Event::default()
        .id(entry.seq.to_string())
        .event(entry.event.kind())
        .data(data)
}
