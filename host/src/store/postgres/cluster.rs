//! [`Cluster`] on PostgreSQL: adopting cases no live host runs (`FOR
//! UPDATE SKIP LOCKED`, so hosts adopting together split them), lending
//! shared tokens, and the wants that ask a host to give them back. Every
//! transaction here locks the host's own row first, as `apply` does, so a
//! reaped host takes nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use deadpool_postgres::Transaction;
use futures_util::future::BoxFuture;
use tokio::sync::Notify;

use super::PgStore;
use super::hosts::{FENCE, fenced};
use super::rows::{client, i64_of, pg, token_of};
use crate::store::{Adopted, Cluster, Elsewhere, StoreError, StoredToken, decode};

/// The work of one transaction: given it and the host's id.
type Work<T> = Box<
    dyn for<'t> FnOnce(&'t Transaction<'t>, i64) -> BoxFuture<'t, Result<T, StoreError>> + Send,
>;

/// Takes on up to `$2` live cases no host runs, for host `$1`.
const ADOPT: &str = "UPDATE petrel_cases SET host = $1 WHERE id IN \
     (SELECT id FROM petrel_cases WHERE live AND host IS NULL ORDER BY id \
      LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id";

/// The live cases host `$1` runs.
const OWN: &str = "SELECT id FROM petrel_cases WHERE live AND host = $1 ORDER BY id";

/// The case ids `sql` returns.
async fn case_ids(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<String>, StoreError> {
    let rows = tx.query(sql, params).await.map_err(pg)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Reads what host `host` needs to run the cases `ids` (just made its
/// own), lending it the shared tokens their reservations hold.
async fn read(tx: &Transaction<'_>, host: i64, ids: Vec<String>) -> Result<Adopted, StoreError> {
    let mut adopted = Adopted::default();
    if ids.is_empty() {
        return Ok(adopted);
    }
    let rows = tx
        .query(
            "SELECT record FROM petrel_cases WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .map_err(pg)?;
    for row in rows {
        adopted.cases.push(decode("case", row.get(0))?);
    }
    let owners: Vec<String> = ids.iter().map(|id| format!("c:{id}")).collect();
    let rows = tx
        .query(
            "SELECT owner, place, seq, payload FROM petrel_tokens WHERE owner = ANY($1) \
             ORDER BY owner, place, seq",
            &[&owners],
        )
        .await
        .map_err(pg)?;
    for row in &rows {
        adopted.tokens.push(token_of(row)?);
    }
    let rows = tx
        .query(
            "SELECT record FROM petrel_dead_letters WHERE case_id = ANY($1) ORDER BY id",
            &[&ids],
        )
        .await
        .map_err(pg)?;
    for row in rows {
        adopted
            .dead_letters
            .push(decode("dead letter", row.get(0))?);
    }
    let rows = tx
        .query(
            "SELECT firing, record FROM petrel_reservations WHERE case_id = ANY($1) ORDER BY firing",
            &[&ids],
        )
        .await
        .map_err(pg)?;
    let mut firings = Vec::with_capacity(rows.len());
    for row in rows {
        let firing: i64 = row.get(0);
        firings.push(firing);
        adopted
            .reservations
            .push((firing as u64, decode("reservation", row.get(1))?));
    }
    if !firings.is_empty() {
        let rows = tx
            .query(
                "UPDATE petrel_tokens SET lent_to = $2 \
                 WHERE held_by = ANY($1) AND owner LIKE 's:%' \
                 RETURNING owner, place, seq, payload",
                &[&firings, &host],
            )
            .await
            .map_err(pg)?;
        for row in &rows {
            adopted.tokens.push(token_of(row)?);
        }
    }
    Ok(adopted)
}

impl PgStore {
    /// Runs `work` in one transaction of this host, fenced (its row locked
    /// first, so a reaped host does nothing), counting `round_trips`.
    fn fenced<T: Send + 'static>(&self, round_trips: u64, work: Work<T>) -> Result<T, StoreError> {
        let pool = self.pool.clone();
        let host = self.host()?.id;
        self.traffic.add(round_trips);
        self.block(async move {
            let mut client = client(&pool).await?;
            let tx = client.transaction().await.map_err(pg)?;
            if tx.query_opt(FENCE, &[&host]).await.map_err(pg)?.is_none() {
                return Err(fenced());
            }
            let done = work(&tx, host).await?;
            tx.commit().await.map_err(pg)?;
            Ok(done)
        })
    }

    /// Drops the rest of this host's id block: the next id comes from a
    /// fresh block, above every id handed out so far, so ids of an adopted
    /// case keep growing (a region's abort mark compares them) whichever
    /// host drew the earlier ones.
    fn renew_ids(&self) -> Result<(), StoreError> {
        let mut ids = self
            .ids
            .lock()
            .map_err(|_| StoreError::Bug("the id block lock is poisoned".into()))?;
        *ids = (0, 0);
        Ok(())
    }
}

impl Cluster for PgStore {
    fn host_id(&self) -> u64 {
        self.host.as_ref().map_or(0, |h| h.id as u64)
    }

    fn adopt(&self, limit: usize) -> Result<Adopted, StoreError> {
        let limit = i64_of(limit);
        // BEGIN, fence, adopt, 4 reads, lend, COMMIT.
        let adopted = self.fenced(
            9,
            Box::new(move |tx, host| {
                Box::pin(async move {
                    let ids = case_ids(tx, ADOPT, &[&host, &limit]).await?;
                    read(tx, host, ids).await
                })
            }),
        )?;
        if !adopted.cases.is_empty() {
            self.renew_ids()?;
        }
        Ok(adopted)
    }

    fn own(&self) -> Result<Adopted, StoreError> {
        self.fenced(
            8,
            Box::new(|tx, host| {
                Box::pin(async move {
                    let ids = case_ids(tx, OWN, &[&host]).await?;
                    read(tx, host, ids).await
                })
            }),
        )
    }

    fn claim(&self, id: &str) -> Result<Result<Option<Adopted>, Elsewhere>, StoreError> {
        let id = id.to_string();
        let claimed = self.fenced(
            9,
            Box::new(move |tx, host| {
                Box::pin(async move {
                    let row = tx
                        .query_opt(
                            "SELECT c.host, c.live, h.name, h.url FROM petrel_cases c \
                     LEFT JOIN petrel_hosts h ON h.id = c.host WHERE c.id = $1 FOR UPDATE OF c",
                            &[&id],
                        )
                        .await
                        .map_err(pg)?;
                    let Some(row) = row else {
                        // No such case: nothing to claim; the caller says so.
                        return Ok(Ok(Some(Adopted::default())));
                    };
                    let owner: Option<i64> = row.get(0);
                    let live: bool = row.get(1);
                    let name: Option<String> = row.get(2);
                    if owner == Some(host) && live {
                        return Ok(Ok(None));
                    }
                    if let (true, Some(name)) = (live, name) {
                        let url: Option<String> = row.get(3);
                        return Ok(Err(Elsewhere { host: name, url }));
                    }
                    tx.execute(
                        "UPDATE petrel_cases SET host = $2 WHERE id = $1",
                        &[&id, &host],
                    )
                    .await
                    .map_err(pg)?;
                    Ok(Ok(Some(read(tx, host, vec![id]).await?)))
                })
            }),
        )?;
        if let Ok(Some(_)) = &claimed {
            self.renew_ids()?;
        }
        Ok(claimed)
    }

    fn firing_elsewhere(&self, firing: u64) -> Result<Option<(String, Elsewhere)>, StoreError> {
        let host = self.host()?.id;
        let found = self.query(
            "SELECT c.id, h.name, h.url FROM petrel_reservations r \
             JOIN petrel_cases c ON c.id = r.case_id JOIN petrel_hosts h ON h.id = c.host \
             WHERE r.firing = $1 AND c.host <> $2",
            vec![super::rows::p(i64_of(firing)), super::rows::p(host)],
            |row| {
                let elsewhere = Elsewhere {
                    host: row.get(1),
                    url: row.get(2),
                };
                Ok((row.get::<_, String>(0), elsewhere))
            },
        )?;
        Ok(found.into_iter().next())
    }

    fn borrow(&self, version: &str) -> Result<Vec<StoredToken>, StoreError> {
        let owner = format!("s:{version}");
        let version = version.to_string();
        // BEGIN, fence, lend, unwant, COMMIT.
        self.fenced(
            5,
            Box::new(move |tx, host| {
                Box::pin(async move {
                    let rows = tx
                        .query(
                            "UPDATE petrel_tokens SET lent_to = $2 WHERE (owner, place, seq) IN \
                     (SELECT owner, place, seq FROM petrel_tokens \
                      WHERE owner = $1 AND lent_to IS NULL AND held_by IS NULL \
                      FOR UPDATE SKIP LOCKED) \
                     RETURNING owner, place, seq, payload",
                            &[&owner, &host],
                        )
                        .await
                        .map_err(pg)?;
                    let tokens = rows.iter().map(token_of).collect::<Result<Vec<_>, _>>()?;
                    if !tokens.is_empty() {
                        tx.execute(
                            "DELETE FROM petrel_wants WHERE version = $1 AND host = $2",
                            &[&version, &host],
                        )
                        .await
                        .map_err(pg)?;
                    }
                    Ok(tokens)
                })
            }),
        )
    }

    fn give_back(
        &self,
        version: &str,
        tokens: &[(String, u64)],
    ) -> Result<Vec<(String, u64)>, StoreError> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let channel = self.host()?.channel.clone();
        let owner = format!("s:{version}");
        let places: Vec<String> = tokens.iter().map(|(p, _)| p.clone()).collect();
        let seqs: Vec<i64> = tokens.iter().map(|(_, s)| i64_of(*s)).collect();
        self.fenced(
            5,
            Box::new(move |tx, id| {
                Box::pin(async move {
                    let given: Vec<(String, u64)> = tx
                .query(
                    "UPDATE petrel_tokens SET lent_to = NULL WHERE owner = $1 AND lent_to = $2 \
                     AND (place, seq) IN (SELECT * FROM UNNEST($3::text[], $4::bigint[])) \
                     RETURNING place, seq",
                    &[&owner, &id, &places, &seqs],
                )
                .await
                .map_err(pg)?
                .iter()
                .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
                .collect();
                    if !given.is_empty() {
                        tx.execute("SELECT pg_notify($1, 'given')", &[&channel])
                            .await
                            .map_err(pg)?;
                    }
                    Ok(given)
                })
            }),
        )
    }

    fn want(&self, versions: &[String]) -> Result<(), StoreError> {
        let channel = self.host()?.channel.clone();
        let versions = versions.to_vec();
        self.fenced(6, Box::new(move |tx, id| Box::pin(async move {
            tx.execute(
                "DELETE FROM petrel_wants WHERE host = $1 AND version <> ALL($2)",
                &[&id, &versions],
            )
            .await
            .map_err(pg)?;
            let new = tx
                .execute(
                    "INSERT INTO petrel_wants (version, host) SELECT v, $1 FROM UNNEST($2::text[]) v \
                     ON CONFLICT DO NOTHING",
                    &[&id, &versions],
                )
                .await
                .map_err(pg)?;
            if new > 0 {
                tx.execute("SELECT pg_notify($1, 'wanted')", &[&channel])
                    .await
                    .map_err(pg)?;
            }
            Ok(())
        })))
    }

    fn wanted(&self) -> Result<Vec<String>, StoreError> {
        let host = self.host()?.id;
        self.query(
            "SELECT DISTINCT version FROM petrel_wants WHERE host <> $1 ORDER BY version",
            vec![super::rows::p(host)],
            |row| Ok(row.get(0)),
        )
    }

    fn wake(&self) -> Arc<Notify> {
        match &self.host {
            Some(h) => h.wake.clone(),
            None => Arc::new(Notify::new()),
        }
    }

    fn fenced(&self) -> bool {
        self.host
            .as_ref()
            .is_none_or(|h| h.fenced.load(Ordering::SeqCst))
    }

    fn leave(&self) -> Result<(), StoreError> {
        self.block(self.host()?.leave())
    }

    fn hosts(&self) -> Result<(Vec<crate::store::HostInfo>, u64), StoreError> {
        let me = self.host()?.id;
        let hosts = self.query(
            "SELECT h.id, h.name, h.url, \
                    (EXTRACT(EPOCH FROM (h.lease_until - now())) * 1000)::bigint, \
                    (SELECT count(*) FROM petrel_cases c WHERE c.live AND c.host = h.id) \
             FROM petrel_hosts h WHERE h.id <> $1 ORDER BY h.id",
            vec![super::rows::p(me)],
            |row| {
                Ok(crate::store::HostInfo {
                    id: row.get::<_, i64>(0) as u64,
                    name: row.get(1),
                    url: row.get(2),
                    lease_left_ms: row.get(3),
                    cases: row.get::<_, i64>(4) as u64,
                })
            },
        )?;
        let waiting = self.query(
            "SELECT count(*) FROM petrel_cases WHERE live AND host IS NULL",
            vec![],
            |row| Ok(row.get::<_, i64>(0) as u64),
        )?;
        Ok((hosts, waiting.first().copied().unwrap_or(0)))
    }

    fn traffic(&self) -> crate::store::Traffic {
        self.traffic.get()
    }

    fn set_url(&self, url: &str) -> Result<(), StoreError> {
        let url = url.to_string();
        let host = self.host()?;
        self.block(host.set_url(url))
    }
}
