//! A host's life in a shared database: it registers (a row in
//! `petrel_hosts` with a lease), renews its lease, reaps hosts whose lease
//! lapsed, hears other hosts' wake-ups (`LISTEN`), and leaves.
//!
//! All of it runs on one connection of its own, apart from the pool, so a
//! host busy with its pool's connections still renews in time. A host
//! whose row is gone (another reaped it: it paused longer than its lease)
//! is fenced: every transaction of a host locks its own row first, so none
//! of its writes can commit any more; it must stop (see
//! [`StoreError::Fenced`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use super::rows::pg;
use crate::store::StoreError;

/// Default lease of a host: another takes its cases over this long after
/// it stopped renewing.
pub const DEFAULT_LEASE_MS: u64 = 10_000;

/// Shortest and longest lease a host may ask for.
pub const LEASE_MS_RANGE: std::ops::RangeInclusive<u64> = 500..=600_000;

/// What the host's own connection shares with the store.
#[derive(Debug)]
pub(super) struct Host {
    /// Its row's id.
    pub(super) id: i64,
    /// The channel of this database and schema (`petrel.<schema>`).
    pub(super) channel: String,
    /// Told of every notification on the channel, and when the host is
    /// fenced.
    pub(super) wake: Arc<Notify>,
    /// Set once the host's row is gone.
    pub(super) fenced: Arc<AtomicBool>,
    /// Set once it left (see [`Host::leave`]): it writes no more, and
    /// leaving again does nothing.
    pub(super) left: AtomicBool,
    /// The connection (renewals, reaping, `LISTEN`); used last by `leave`.
    client: Arc<Client>,
    renewal: tokio::task::JoinHandle<()>,
}

/// Registers a host named `name` with a lease of `lease_ms` on a connection
/// of its own, and starts renewing it. Runs on the store's runtime.
pub(super) async fn register(
    config: tokio_postgres::Config,
    id: i64,
    name: String,
    lease_ms: u64,
) -> Result<Host, StoreError> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(pg)?;
    let wake = Arc::new(Notify::new());
    let fenced = Arc::new(AtomicBool::new(false));
    let heard = wake.clone();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => heard.notify_one(),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the host's own database connection failed");
                    break;
                }
            }
        }
    });
    let schema: String = client
        .query_one("SELECT current_schema()", &[])
        .await
        .map_err(pg)?
        .get(0);
    let channel = format!("petrel.{schema}");
    client
        .batch_execute(&format!("LISTEN \"{}\"", channel.replace('"', "")))
        .await
        .map_err(pg)?;
    client
        .execute(
            "INSERT INTO petrel_hosts (id, name, lease_until) \
             VALUES ($1, $2, now() + $3 * interval '1 millisecond')",
            &[&id, &name, &(lease_ms as f64)],
        )
        .await
        .map_err(pg)?;
    tracing::info!(host = id, %name, lease_ms, "joined the hosts sharing the store");
    // A host of this machine whose process is gone died: take over from it
    // now rather than when its lease lapses (a restart after a crash).
    let gone = gone_here(&client, id).await?;
    if !gone.is_empty() {
        let n = reap(&client, &channel, &gone).await?;
        tracing::warn!(
            hosts = n,
            "took over from hosts of this machine whose process is gone"
        );
    }
    let client = Arc::new(client);
    let renewal = tokio::spawn(renew(
        client.clone(),
        id,
        channel.clone(),
        lease_ms,
        wake.clone(),
        fenced.clone(),
    ));
    Ok(Host {
        id,
        channel,
        wake,
        fenced,
        left: AtomicBool::new(false),
        client,
        renewal,
    })
}

/// Renews the lease every quarter of it and reaps dead hosts, until the
/// host's row is found gone (fenced) or the connection fails.
async fn renew(
    client: Arc<Client>,
    id: i64,
    channel: String,
    lease_ms: u64,
    wake: Arc<Notify>,
    fenced: Arc<AtomicBool>,
) {
    let every = Duration::from_millis((lease_ms / 4).max(50));
    loop {
        tokio::time::sleep(every).await;
        let renewed = client
            .execute(
                "UPDATE petrel_hosts SET lease_until = now() + $2 * interval '1 millisecond' \
                 WHERE id = $1",
                &[&id, &(lease_ms as f64)],
            )
            .await;
        match renewed {
            Ok(1) => {}
            Ok(_) => {
                tracing::error!(
                    host = id,
                    "this host's lease lapsed and another host took its cases over; it must stop"
                );
                fenced.store(true, Ordering::SeqCst);
                wake.notify_one();
                return;
            }
            Err(e) => {
                // The next round tries again; a lease that lapses meanwhile
                // fences the host, which then stops.
                tracing::warn!(host = id, error = %pg(e), "cannot renew this host's lease");
                continue;
            }
        }
        match reap(&client, &channel, &[]).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(hosts = n, "took over from hosts whose lease lapsed"),
            Err(e) => tracing::warn!(error = %e, "cannot reap hosts whose lease lapsed"),
        }
    }
}

/// The hosts registered from this machine (by name) other than `me` whose
/// process is gone.
async fn gone_here(client: &Client, me: i64) -> Result<Vec<i64>, StoreError> {
    if !std::path::Path::new("/proc/self").exists() {
        return Ok(Vec::new());
    }
    let prefix = format!("{}:", machine_name());
    let rows = client
        .query(
            "SELECT id, name FROM petrel_hosts WHERE id <> $1 AND starts_with(name, $2)",
            &[&me, &prefix],
        )
        .await
        .map_err(pg)?;
    Ok(rows
        .iter()
        .filter(|row| {
            let name: &str = row.get(1);
            name[prefix.len()..]
                .parse::<u32>()
                .is_ok_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        })
        .map(|row| row.get(0))
        .collect())
}

/// Deletes the hosts whose lease lapsed, and hosts `gone`, and frees what
/// they held: their live cases (for any host to adopt), the shared tokens
/// lent to them, their wants. One statement, so atomic; tells the other
/// hosts.
async fn reap(client: &Client, channel: &str, gone: &[i64]) -> Result<u64, StoreError> {
    release(client, channel, gone, true).await.map_err(pg)
}

/// Deletes hosts `ids` (and, if `lapsed`, every host whose lease lapsed)
/// and frees what they held, in one statement; tells the other hosts.
/// Returns how many hosts it deleted.
async fn release(
    client: &Client,
    channel: &str,
    ids: &[i64],
    lapsed: bool,
) -> Result<u64, tokio_postgres::Error> {
    let row = client
        .query_one(
            "WITH dead AS (DELETE FROM petrel_hosts \
                           WHERE id = ANY($2) OR ($3 AND lease_until < now()) RETURNING id), \
             c AS (UPDATE petrel_cases SET host = NULL WHERE host IN (SELECT id FROM dead) \
                   RETURNING 1), \
             t AS (UPDATE petrel_tokens SET lent_to = NULL WHERE lent_to IN (SELECT id FROM dead) \
                   RETURNING 1), \
             w AS (DELETE FROM petrel_wants WHERE host IN (SELECT id FROM dead) RETURNING 1), \
             n AS (SELECT pg_notify($1, 'released') FROM dead LIMIT 1) \
             SELECT (SELECT count(*) FROM dead), (SELECT count(*) FROM c), \
                    (SELECT count(*) FROM t), (SELECT count(*) FROM w), (SELECT count(*) FROM n)",
            &[&channel, &ids, &lapsed],
        )
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// The host's own row, locked against reaping until commit: the first
/// statement of each of its transactions (fencing).
pub(super) const FENCE: &str = "SELECT 1 FROM petrel_hosts WHERE id = $1 FOR KEY SHARE";

/// What a host's write gets once its row is gone.
pub(super) fn fenced() -> StoreError {
    StoreError::Fenced("another host took this host's cases over (its lease lapsed)".into())
}

impl Host {
    /// Leaves: frees this host's live cases, lent tokens and wants, deletes
    /// its row and tells the others (a host stopping cleanly; one that dies
    /// is reaped instead). Once only; nothing for a host already reaped.
    pub(super) fn leave(
        &self,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static {
        self.renewal.abort();
        let done = self.left.swap(true, Ordering::SeqCst) || self.fenced.load(Ordering::SeqCst);
        let (client, id, channel) = (self.client.clone(), self.id, self.channel.clone());
        async move {
            if done {
                return Ok(());
            }
            let mut tries = 0;
            loop {
                match release(&client, &channel, &[id], false).await {
                    // Deadlocks with other hosts' statements: try again.
                    Err(e) if tries < 5 && e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    result => return result.map(|_| ()).map_err(pg),
                }
            }
        }
    }

    /// Records the URL other hosts and operators reach this host's HTTP
    /// API at.
    pub(super) fn set_url(
        &self,
        url: String,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send + 'static {
        let (client, id) = (self.client.clone(), self.id);
        async move {
            client
                .execute(
                    "UPDATE petrel_hosts SET url = $2 WHERE id = $1",
                    &[&id, &url],
                )
                .await
                .map_err(pg)?;
            Ok(())
        }
    }
}

/// A name for this process among hosts: the machine's name and the
/// process id.
pub(super) fn process_name() -> String {
    format!("{}:{}", machine_name(), std::process::id())
}

fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "host".into())
}
