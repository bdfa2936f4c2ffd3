//! [`Store`] on PostgreSQL (`--store postgres://…`): the store several
//! hosts can share. Tables and what each lock protects: see
//! `migrations/V1__initial.sql` and `apply`.
//!
//! The driver is tokio-postgres with a deadpool pool, run on a small
//! runtime of the store's own: the [`Store`] trait is synchronous (sled
//! answers from memory), so a call hands its query to that runtime and
//! waits for the answer, which works from any thread, a tokio worker's
//! included. Records are MessagePack, as in sled. The password comes from
//! the URL or the standard `PG*` variables and is never logged: errors and
//! [`PgStore::describe`] name the host, port, database and user only.
//!
//! Several hosts at once: every open store is a host of the database
//! (`hosts`: a row with a lease it renews, reaping of hosts whose lease
//! lapsed, wake-ups by `LISTEN/NOTIFY`), and runs the cases it started or
//! adopted, borrowing shared tokens as its cases need them (`cluster`).

mod apply;
mod cluster;
#[cfg(test)]
mod cluster_tests;
mod config;
mod hosts;
mod rows;
mod schema;
mod scratch;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Mutex;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::{
    CaseRecord, Change, DeadLetter, EventRecord, NetRecord, Owner, Reservation, Store, StoreError,
    StoredToken, TokenId, Traffic, decode,
};
use config::{describe, with_env};
pub use hosts::{DEFAULT_LEASE_MS, LEASE_MS_RANGE};
use rows::{i64_of, owner_key, p, token_of};
pub use schema::MIGRATIONS;
pub use scratch::Scratch;

/// Default most connections a host keeps open to the database (the
/// connection holding the host's lock comes on top).
pub const DEFAULT_POOL_SIZE: usize = 8;

/// How many ids one `nextval` hands out (the sequence's increment).
const ID_BLOCK: u64 = 1024;

/// The PostgreSQL store. See the module docs.
pub struct PgStore {
    pool: Pool,
    /// Always set but while dropping (see `Drop`).
    runtime: Option<tokio::runtime::Runtime>,
    /// The next id of the block taken last, and the block's end.
    ids: Mutex<(u64, u64)>,
    describe: String,
    /// This host's registration (always set but while dropping).
    host: Option<hosts::Host>,
    /// The schema versions opening it applied.
    applied: Vec<u32>,
    /// Transactions and round trips so far (see [`Traffic`]).
    traffic: Counters,
}

/// [`Traffic`] counted as it happens.
#[derive(Debug, Default)]
struct Counters {
    transactions: std::sync::atomic::AtomicU64,
    round_trips: std::sync::atomic::AtomicU64,
}

impl Counters {
    /// One transaction of `round_trips` round trips.
    fn add(&self, round_trips: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.transactions.fetch_add(1, Relaxed);
        self.round_trips.fetch_add(round_trips, Relaxed);
    }

    fn get(&self) -> Traffic {
        use std::sync::atomic::Ordering::Relaxed;
        Traffic {
            transactions: self.transactions.load(Relaxed),
            round_trips: self.round_trips.load(Relaxed),
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgStore({})", self.describe)
    }
}

/// A short random suffix (ids of bench cases, test schemas).
pub fn unique_suffix() -> u64 {
    crate::random::random_unit().to_bits() % 1_000_000_000
}

/// Whether `store` names a PostgreSQL database (`postgres://` or
/// `postgresql://`).
pub fn is_postgres_url(store: &str) -> bool {
    store.starts_with("postgres://") || store.starts_with("postgresql://")
}

impl PgStore {
    /// Connects to the database at `url` with at most `pool_size`
    /// connections, and creates or migrates its schema (see
    /// [`PgStore::migrate`]); joins its hosts with the default lease.
    pub fn open(url: &str, pool_size: usize) -> Result<PgStore, StoreError> {
        PgStore::open_host(url, pool_size, DEFAULT_LEASE_MS)
    }

    /// [`PgStore::open`] with a lease of `lease_ms`: when this host stops
    /// renewing it (it died), others take its cases over that much later.
    pub fn open_host(url: &str, pool_size: usize, lease_ms: u64) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Postgres(format!("store URL: {e}")))?;
        let config = with_env(config);
        let describe = describe(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("petrel-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Postgres(format!("cannot start its runtime: {e}")))?;
        let host_config = config.clone();
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Postgres(format!("pool: {e}")))?;
        let mut store = PgStore {
            pool,
            runtime: Some(runtime),
            ids: Mutex::new((0, 0)),
            describe,
            host: None,
            applied: Vec::new(),
            traffic: Counters::default(),
        };
        store.applied = store.migrate()?;
        let id = i64_of(store.next_id()?);
        let name = hosts::process_name();
        store.host = Some(store.block(hosts::register(host_config, id, name, lease_ms))?);
        Ok(store)
    }

    /// Brings the schema to the newest version this build knows; returns
    /// the versions it applied (none when it was current). Hosts opening
    /// one database together take turns (an advisory lock).
    pub fn migrate(&self) -> Result<Vec<u32>, StoreError> {
        let pool = self.pool.clone();
        self.block(async move { schema::migrate(&pool).await })
    }

    /// The schema versions opening this store applied (none when the
    /// schema was current).
    pub fn applied_on_open(&self) -> &[u32] {
        &self.applied
    }

    /// The database, for messages: host, port, database and user, never
    /// the password.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// This host's registration.
    fn host(&self) -> Result<&hosts::Host, StoreError> {
        self.host
            .as_ref()
            .ok_or_else(|| StoreError::Bug("the postgres store is closed".into()))
    }

    /// Runs `work` on the store's runtime and waits for its answer.
    fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| StoreError::Bug("the postgres store is closed".into()))?;
        runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv()
            .map_err(|_| StoreError::Bug("a postgres query task was dropped".into()))?
    }

    /// Rows of `sql` with `params` (owned, for the runtime), each read by
    /// `read`.
    fn query<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<rows::Param>,
        read: fn(&tokio_postgres::Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let pool = self.pool.clone();
        self.traffic.add(1);
        self.block(async move {
            let client = rows::client(&pool).await?;
            let refs = rows::refs(&params);
            let found = client.query(sql, &refs).await.map_err(rows::pg)?;
            found.iter().map(read).collect()
        })
    }

    /// The record bytes in the first column of each row of `sql`, decoded.
    fn records<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        what: &'static str,
        sql: &'static str,
        params: Vec<rows::Param>,
    ) -> Result<Vec<T>, StoreError> {
        let bytes = self.query(sql, params, |row| Ok(row.get::<_, Vec<u8>>(0)))?;
        bytes.iter().map(|b| decode(what, b)).collect()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropped where blocking is not allowed (a tokio task), a runtime
        // must not wait for its threads.
        if let Some(host) = self.host.take() {
            // Free this host's cases now, for the others to adopt at once,
            // rather than when its lease lapses.
            if let Err(e) = self.block(host.leave()) {
                tracing::warn!(error = %e, "cannot leave the hosts cleanly; others take over when the lease lapses");
            }
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Store for PgStore {
    fn next_id(&self) -> Result<u64, StoreError> {
        let mut ids = self
            .ids
            .lock()
            .map_err(|_| StoreError::Bug("the id block lock is poisoned".into()))?;
        if ids.0 >= ids.1 {
            let start = self.query("SELECT nextval('petrel_ids')", vec![], |row| {
                Ok(row.get::<_, i64>(0) as u64)
            })?;
            let start = start
                .first()
                .copied()
                .ok_or_else(|| StoreError::Bug("nextval returned no row".into()))?;
            *ids = (start, start + ID_BLOCK);
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    fn deploy(
        &self,
        net: &NetRecord,
        components: &[(String, Vec<u8>)],
        shared: &mut Change,
    ) -> Result<bool, StoreError> {
        let pool = self.pool.clone();
        let net = net.clone();
        let components = components.to_vec();
        let mut change = std::mem::take(shared);
        let (new, change) = self.block(async move {
            let new = apply::deploy(&pool, &net, &components, &mut change).await?;
            Ok((new, change))
        })?;
        *shared = change;
        Ok(new)
    }

    fn net(&self, version: &str) -> Result<Option<NetRecord>, StoreError> {
        let sql = "SELECT record FROM petrel_nets WHERE version = $1";
        Ok(self
            .records("net", sql, vec![p(version.to_string())])?
            .pop())
    }

    fn latest_version(&self, name: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT version FROM petrel_nets WHERE name = $1 ORDER BY deployed DESC LIMIT 1";
        Ok(self
            .query(sql, vec![p(name.to_string())], |row| Ok(row.get(0)))?
            .pop())
    }

    fn nets(&self) -> Result<Vec<NetRecord>, StoreError> {
        let sql = "SELECT record FROM petrel_nets ORDER BY version";
        self.records("net", sql, vec![])
    }

    fn nets_after(&self, after: &str, limit: usize) -> Result<Vec<NetRecord>, StoreError> {
        let sql = "SELECT record FROM petrel_nets WHERE version > $1 ORDER BY version LIMIT $2";
        self.records("net", sql, vec![p(after.to_string()), p(i64_of(limit))])
    }

    fn component(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = "SELECT bytes FROM petrel_components WHERE hash = $1";
        Ok(self
            .query(sql, vec![p(hash.to_string())], |row| Ok(row.get(0)))?
            .pop())
    }

    fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError> {
        let sql = "SELECT record FROM petrel_cases WHERE id = $1";
        Ok(self.records("case", sql, vec![p(id.to_string())])?.pop())
    }

    fn cases(&self) -> Result<Vec<CaseRecord>, StoreError> {
        self.records(
            "case",
            "SELECT record FROM petrel_cases ORDER BY id",
            vec![],
        )
    }

    fn cases_newest_first(
        &self,
        before: Option<(u64, &str)>,
        limit: usize,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let limit = i64_of(limit);
        match before {
            None => self.records(
                "case",
                "SELECT record FROM petrel_cases ORDER BY started_at_ms DESC, id DESC LIMIT $1",
                vec![p(limit)],
            ),
            Some((ms, id)) => self.records(
                "case",
                "SELECT record FROM petrel_cases WHERE (started_at_ms, id) < ($1, $2) \
                 ORDER BY started_at_ms DESC, id DESC LIMIT $3",
                vec![p(i64_of(ms)), p(id.to_string()), p(limit)],
            ),
        }
    }

    fn tokens(&self, owner: &Owner) -> Result<Vec<StoredToken>, StoreError> {
        let sql = "SELECT owner, place, seq, payload FROM petrel_tokens WHERE owner = $1 \
                   ORDER BY place, seq";
        self.query(sql, vec![p(owner_key(owner))], token_of)
    }

    fn all_tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        let sql = "SELECT owner, place, seq, payload FROM petrel_tokens ORDER BY owner, place, seq";
        self.query(sql, vec![], token_of)
    }

    fn payload(&self, token: &TokenId) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = "SELECT payload FROM petrel_tokens WHERE owner = $1 AND place = $2 AND seq = $3";
        let params = vec![
            p(owner_key(&token.owner)),
            p(token.place.clone()),
            p(i64_of(token.seq)),
        ];
        Ok(self.query(sql, params, |row| Ok(row.get(0)))?.pop())
    }

    fn reservations(&self) -> Result<Vec<(u64, Reservation)>, StoreError> {
        let sql = "SELECT firing, record FROM petrel_reservations ORDER BY firing";
        let rows = self.query(sql, vec![], |row| {
            Ok((row.get::<_, i64>(0) as u64, row.get::<_, Vec<u8>>(1)))
        })?;
        rows.into_iter()
            .map(|(id, bytes)| Ok((id, decode("reservation", &bytes)?)))
            .collect()
    }

    fn apply(&self, changes: &mut [Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let pool = self.pool.clone();
        let encoded = apply::encode_changes(changes)?;
        let host = self.host()?.id;
        // BEGIN, the statements pipelined, COMMIT.
        self.traffic.add(3);
        let seqs = self.block(async move { apply::apply(&pool, &encoded, host).await })?;
        let events = changes.iter_mut().flat_map(|c| c.events.iter_mut());
        for (event, seq) in events.zip(seqs) {
            event.seq = seq;
        }
        Ok(())
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let sql = "SELECT record FROM petrel_dead_letters ORDER BY id";
        self.records("dead letter", sql, vec![])
    }

    fn dead_letters_after(&self, after: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let sql = "SELECT record FROM petrel_dead_letters WHERE id > $1 ORDER BY id LIMIT $2";
        let params = vec![p(i64_of(after)), p(i64_of(limit))];
        self.records("dead letter", sql, params)
    }

    fn dead_letter_count(&self) -> Result<usize, StoreError> {
        let sql = "SELECT count(*) FROM petrel_dead_letters";
        let n = self.query(sql, vec![], |row| Ok(row.get::<_, i64>(0)))?;
        Ok(n.first().copied().unwrap_or(0) as usize)
    }

    fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, StoreError> {
        let sql = "SELECT record FROM petrel_dead_letters WHERE id = $1";
        Ok(self.records("dead letter", sql, vec![p(i64_of(id))])?.pop())
    }

    fn case_dead_letters(&self, case: &str) -> Result<Vec<DeadLetter>, StoreError> {
        let sql = "SELECT record FROM petrel_dead_letters WHERE case_id = $1 ORDER BY id";
        self.records("dead letter", sql, vec![p(case.to_string())])
    }

    fn events(
        &self,
        case: Option<&str>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let read =
            |row: &tokio_postgres::Row| Ok((row.get::<_, i64>(0) as u64, row.get::<_, Vec<u8>>(1)));
        let (after, limit) = (i64_of(after), i64_of(limit));
        let rows = match case {
            None => self.query(
                "SELECT seq, record FROM petrel_events WHERE seq > $1 ORDER BY seq LIMIT $2",
                vec![p(after), p(limit)],
                read,
            )?,
            Some(case) => self.query(
                "SELECT seq, record FROM petrel_events WHERE case_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
                vec![p(case.to_string()), p(after), p(limit)],
                read,
            )?,
        };
        rows.into_iter()
            .map(|(seq, bytes)| {
                let mut e: EventRecord = decode("event", &bytes)?;
                e.seq = seq;
                Ok(e)
            })
            .collect()
    }

    fn flush(&self) -> Result<(), StoreError> {
        // A committed transaction is durable (synchronous_commit, the
        // server's default).
        Ok(())
    }

    fn cluster(&self) -> Option<&dyn crate::store::Cluster> {
        Some(self)
    }
}
