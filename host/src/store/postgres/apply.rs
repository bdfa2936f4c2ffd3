//! One [`Change`] group as one PostgreSQL transaction, with the semantics
//! of the sled store (the conformance suite checks both):
//!
//! - each change in order: releases (each must exist), reservations (a
//!   first attempt holds its first input token: `held_by`, one firing at a
//!   time), a dead letter removed (must exist) and one stored, tokens
//!   consumed (each must exist) and produced;
//! - case starts first (an id taken is [`StoreError::CaseExists`]),
//!   compactions (the stored record must be as the change expects), case
//!   records, then the log entries.
//!
//! Locks: row locks of what a statement touches (a consumed token's row,
//! a case's row), and the advisory `LOG_LOCK` taken before log seqs are
//! drawn, held to commit, so seqs increase in commit order whichever host
//! commits. Any error rolls the whole transaction back.

use std::collections::HashMap;

use deadpool_postgres::{Pool, Transaction};
use futures_util::future::try_join_all;
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

use super::hosts::FENCE;
use super::rows::{client, i64_of, owner_key, pg};
use crate::store::{
    CaseRecord, Change, NetRecord, StoreError, TokenId, encode, transaction::kept_on_token,
};

/// The advisory lock held while a transaction draws log seqs.
const LOG_LOCK: i64 = 0x7065_7472_656c_0002;

/// A token as its row's key.
type Key = (String, String, i64);

fn key(id: &TokenId) -> Key {
    (owner_key(&id.owner), id.place.clone(), i64_of(id.seq))
}

/// A reservation to write.
struct Reserve {
    firing: i64,
    case: String,
    /// The shared tokens it holds (each held by it alone).
    shared: Vec<(Key, String)>,
    /// Its first input token (not an external firing's), and its name.
    first: Option<(Key, String)>,
    /// Whether it holds that token (a first attempt run by the host).
    holds: bool,
    record: Vec<u8>,
}

/// A change with its records encoded (owned: it runs on the store's
/// runtime).
pub(super) struct Encoded {
    release: Vec<i64>,
    reserve: Vec<Reserve>,
    remove_dead_letter: Option<i64>,
    dead_letter: Option<(i64, String, Vec<u8>)>,
    consume: Vec<(Key, String)>,
    produce: Vec<(Key, Vec<u8>)>,
    case: Option<(CaseRecord, Vec<u8>)>,
    starts_case: bool,
    compacts_case: bool,
    /// Case id and record (its `seq` written at commit, from the column).
    events: Vec<(Option<String>, Vec<u8>)>,
}

/// Encodes `changes` for [`apply`].
pub(super) fn encode_changes(changes: &[Change]) -> Result<Vec<Encoded>, StoreError> {
    changes.iter().map(encode_one).collect()
}

fn encode_one(c: &Change) -> Result<Encoded, StoreError> {
    Ok(Encoded {
        release: c.release.iter().map(|r| i64_of(r.firing)).collect(),
        reserve: c
            .reserve
            .iter()
            .map(|(id, r)| {
                let first = r
                    .tokens
                    .first()
                    .filter(|_| !r.external)
                    .map(|t| (key(t), t.to_string()));
                let shared = r
                    .tokens
                    .iter()
                    .filter(|t| matches!(t.owner, crate::store::Owner::Shared(_)))
                    .map(|t| (key(t), t.to_string()))
                    .collect();
                Ok(Reserve {
                    firing: i64_of(*id),
                    case: r.case.clone(),
                    shared,
                    first,
                    holds: kept_on_token(r),
                    record: encode("reservation", r)?,
                })
            })
            .collect::<Result<_, StoreError>>()?,
        remove_dead_letter: c.remove_dead_letter.map(i64_of),
        dead_letter: c
            .dead_letter
            .as_ref()
            .map(|d| Ok::<_, StoreError>((i64_of(d.id), d.case.clone(), encode("dead letter", d)?)))
            .transpose()?,
        consume: c.consume.iter().map(|t| (key(t), t.to_string())).collect(),
        produce: c
            .produce
            .iter()
            .map(|t| (key(&t.id()), t.payload.clone()))
            .collect(),
        case: c
            .case
            .as_ref()
            .map(|r| Ok::<_, StoreError>((r.clone(), encode("case", r)?)))
            .transpose()?,
        starts_case: c.starts_case,
        compacts_case: c.compacts_case,
        events: c
            .events
            .iter()
            .map(|e| Ok((e.case.clone(), encode("event", e)?)))
            .collect::<Result<_, StoreError>>()?,
    })
}

fn conflict(message: String) -> StoreError {
    StoreError::Conflict(message)
}

/// Applies `changes` in one transaction of host `host`; returns the seqs
/// of their log entries, in order.
pub(super) async fn apply(
    pool: &Pool,
    changes: &[Encoded],
    host: i64,
) -> Result<Vec<u64>, StoreError> {
    let mut client = client(pool).await?;
    let tx = client.transaction().await.map_err(pg)?;
    let seqs = write(&tx, changes, Some(&host)).await?;
    tx.commit().await.map_err(pg)?;
    Ok(seqs)
}

/// Stores a net version, its components and its initial shared tokens
/// (`shared`) in one transaction, unless the version is there already.
pub(super) async fn deploy(
    pool: &Pool,
    net: &NetRecord,
    components: &[(String, Vec<u8>)],
    shared: &mut Change,
) -> Result<bool, StoreError> {
    let mut client = client(pool).await?;
    let tx = client.transaction().await.map_err(pg)?;
    let record = encode("net", net)?;
    let new = tx
        .execute(
            "INSERT INTO petrel_nets (version, name, record) VALUES ($1, $2, $3) \
             ON CONFLICT (version) DO NOTHING",
            &[&net.version, &net.name, &record],
        )
        .await
        .map_err(pg)?
        == 1;
    if !new {
        return Ok(false);
    }
    for (hash, bytes) in components {
        tx.execute(
            "INSERT INTO petrel_components (hash, bytes) VALUES ($1, $2) \
             ON CONFLICT (hash) DO NOTHING",
            &[hash, bytes],
        )
        .await
        .map_err(pg)?;
    }
    let encoded = encode_changes(std::slice::from_ref(shared))?;
    let seqs = write(&tx, &encoded, None).await?;
    tx.commit().await.map_err(pg)?;
    for (event, seq) in shared.events.iter_mut().zip(seqs) {
        event.seq = seq;
    }
    Ok(true)
}

const CASE_START: &str = "INSERT INTO petrel_cases (id, started_at_ms, record, host) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING";
const RELEASE: &str = "DELETE FROM petrel_reservations WHERE firing = $1";
/// Every token a firing holds (its first input; shared ones).
const UNHOLD_ALL: &str = "UPDATE petrel_tokens SET held_by = NULL WHERE held_by = $1";
/// The shared tokens a rewritten reservation held before.
const UNHOLD_SHARED: &str = "UPDATE petrel_tokens SET held_by = NULL \
     WHERE held_by = $1 AND owner LIKE 's:%'";
const UNHOLD: &str = "UPDATE petrel_tokens SET held_by = NULL \
     WHERE owner = $1 AND place = $2 AND seq = $3 AND held_by = $4";
const HOLD: &str = "UPDATE petrel_tokens SET held_by = $4 \
     WHERE owner = $1 AND place = $2 AND seq = $3 AND (held_by IS NULL OR held_by = $4)";
const RESERVE: &str = "INSERT INTO petrel_reservations (firing, record, case_id) \
     VALUES ($1, $2, $3) ON CONFLICT (firing) DO UPDATE SET record = EXCLUDED.record";
const UNLETTER: &str = "DELETE FROM petrel_dead_letters WHERE id = $1";
const LETTER: &str = "INSERT INTO petrel_dead_letters (id, case_id, record) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET case_id = EXCLUDED.case_id, record = EXCLUDED.record";
const CONSUME: &str = "DELETE FROM petrel_tokens WHERE owner = $1 AND place = $2 AND seq = $3";
/// `$5`: the host a shared token is lent to (its producer's).
const PRODUCE: &str = "INSERT INTO petrel_tokens (owner, place, seq, payload, lent_to) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner, place, seq) \
     DO UPDATE SET payload = EXCLUDED.payload, held_by = NULL, lent_to = EXCLUDED.lent_to";
const CASE: &str = "INSERT INTO petrel_cases (id, started_at_ms, record, live) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, live = EXCLUDED.live";
const LOG_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock($1)";
/// Numbers the entries in their order (the subquery's), under the lock.
const EVENTS: &str = "INSERT INTO petrel_events (seq, case_id, record) \
     SELECT nextval('petrel_ids'), c, r FROM \
     (SELECT c, r FROM UNNEST($1::text[], $2::bytea[]) WITH ORDINALITY AS u(c, r, i) ORDER BY i) AS s \
     RETURNING seq";

/// What a statement must have done (one row), else what the transaction
/// fails with.
enum Must<'a> {
    Any,
    Host,
    CaseFree(&'a str),
    Reserved(i64),
    Hold {
        firing: i64,
        key: &'a Key,
        name: &'a str,
    },
    Letter(i64),
    Token(&'a str),
}

/// One statement of the pipeline.
struct Step<'a> {
    sql: &'static str,
    params: Vec<&'a (dyn ToSql + Sync)>,
    must: Must<'a>,
}

/// The statements of `c`, in the sled store's order; `lent`: the host
/// its produced shared tokens are lent to.
fn steps<'a>(c: &'a Encoded, lent: &'a Option<i64>, out: &mut Vec<Step<'a>>) {
    let mut push = |sql, params: Vec<&'a (dyn ToSql + Sync)>, must| {
        out.push(Step { sql, params, must });
    };
    for firing in &c.release {
        push(RELEASE, vec![firing], Must::Reserved(*firing));
        push(UNHOLD_ALL, vec![firing], Must::Any);
    }
    for r in &c.reserve {
        if !r.holds {
            push(UNHOLD_SHARED, vec![&r.firing], Must::Any);
        }
        for (key @ (owner, place, seq), name) in &r.shared {
            let must = Must::Hold {
                firing: r.firing,
                key,
                name,
            };
            push(HOLD, vec![owner, place, seq, &r.firing], must);
        }
        if let Some((key @ (owner, place, seq), name)) = &r.first {
            if r.holds {
                let must = Must::Hold {
                    firing: r.firing,
                    key,
                    name,
                };
                push(HOLD, vec![owner, place, seq, &r.firing], must);
            } else {
                push(UNHOLD, vec![owner, place, seq, &r.firing], Must::Any);
            }
        }
        push(RESERVE, vec![&r.firing, &r.record, &r.case], Must::Any);
    }
    if let Some(id) = &c.remove_dead_letter {
        push(UNLETTER, vec![id], Must::Letter(*id));
    }
    if let Some((id, case, record)) = &c.dead_letter {
        push(LETTER, vec![id, case, record], Must::Any);
    }
    for ((owner, place, seq), name) in &c.consume {
        push(CONSUME, vec![owner, place, seq], Must::Token(name));
    }
    for ((owner, place, seq), payload) in &c.produce {
        let lent = if owner.starts_with("s:") { lent } else { &None };
        push(PRODUCE, vec![owner, place, seq, payload, lent], Must::Any);
    }
}

/// Writes `changes` in the open transaction `tx` of host `host` (`None`:
/// a deployment, no host's own): the host's fence, compactions' checks,
/// then every statement pipelined (sent together, run in order), then each
/// statement's row count checked. Returns the log seqs.
async fn write(
    tx: &Transaction<'_>,
    changes: &[Encoded],
    host: Option<&i64>,
) -> Result<Vec<u64>, StoreError> {
    for c in changes.iter().filter(|c| c.compacts_case) {
        compact(tx, c).await?;
    }
    let lent = host.copied();
    let starts: Vec<(&str, i64, &[u8])> = changes
        .iter()
        .filter(|c| c.starts_case)
        .map(|c| {
            let (record, bytes) = c
                .case
                .as_ref()
                .ok_or_else(|| StoreError::Bug("a case start without a case record".into()))?;
            Ok((
                record.id.as_str(),
                i64_of(record.started_at_ms),
                bytes.as_slice(),
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    let cases: Vec<(&str, i64, &[u8], bool)> = changes
        .iter()
        .filter_map(|c| c.case.as_ref())
        .map(|(r, bytes)| {
            let live = !r.status.is_terminal();
            (
                r.id.as_str(),
                i64_of(r.started_at_ms),
                bytes.as_slice(),
                live,
            )
        })
        .collect();
    let mut all = Vec::new();
    if let Some(host) = host {
        all.push(Step {
            sql: FENCE,
            params: vec![host],
            must: Must::Host,
        });
    }
    for (id, started, bytes) in &starts {
        all.push(Step {
            sql: CASE_START,
            params: vec![id, started, bytes, &lent],
            must: Must::CaseFree(id),
        });
    }
    for c in changes {
        steps(c, &lent, &mut all);
    }
    for (id, started, bytes, live) in &cases {
        all.push(Step {
            sql: CASE,
            params: vec![id, started, bytes, live],
            must: Must::Any,
        });
    }
    let logged: Vec<Option<&str>> = changes
        .iter()
        .flat_map(|c| &c.events)
        .map(|(case, _)| case.as_deref())
        .collect();
    let records: Vec<&[u8]> = changes
        .iter()
        .flat_map(|c| &c.events)
        .map(|(_, r)| r.as_slice())
        .collect();
    if !logged.is_empty() {
        all.push(Step {
            sql: LOG_LOCK_SQL,
            params: vec![&LOG_LOCK],
            must: Must::Any,
        });
    }
    let statements = prepare(tx, &all, !logged.is_empty()).await?;
    let runs = all
        .iter()
        .map(|s| tx.execute(&statements[s.sql], &s.params));
    let counts = try_join_all(runs);
    let (counts, seqs) = if logged.is_empty() {
        (counts.await.map_err(pg)?, Vec::new())
    } else {
        let params: [&(dyn ToSql + Sync); 2] = [&logged, &records];
        let events = tx.query(&statements[EVENTS], &params);
        let (counts, rows) = futures_util::try_join!(counts, events).map_err(pg)?;
        let mut seqs: Vec<u64> = rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect();
        seqs.sort_unstable();
        (counts, seqs)
    };
    for (step, &n) in all.iter().zip(&counts) {
        if n == 0 {
            check(tx, &step.must).await?;
        }
    }
    Ok(seqs)
}

/// Each distinct statement of `steps` prepared (cached per connection:
/// a round trip only the first time).
async fn prepare(
    tx: &Transaction<'_>,
    steps: &[Step<'_>],
    events: bool,
) -> Result<HashMap<&'static str, Statement>, StoreError> {
    let mut sqls: Vec<&'static str> = steps.iter().map(|s| s.sql).collect();
    if events {
        sqls.push(EVENTS);
    }
    sqls.sort_unstable();
    sqls.dedup();
    let prepared = try_join_all(sqls.iter().map(|sql| tx.prepare_cached(sql)))
        .await
        .map_err(pg)?;
    Ok(sqls.into_iter().zip(prepared).collect())
}

/// The failure of a statement that touched no row, if it had to touch one.
async fn check(tx: &Transaction<'_>, must: &Must<'_>) -> Result<(), StoreError> {
    match must {
        Must::Any => Ok(()),
        Must::Host => Err(super::hosts::fenced()),
        Must::CaseFree(id) => Err(StoreError::CaseExists(id.to_string())),
        Must::Reserved(firing) => Err(conflict(format!("firing {firing} holds no reservation"))),
        Must::Letter(id) => Err(conflict(format!("dead letter {id} is gone"))),
        Must::Token(name) => Err(conflict(format!("token {name} is gone"))),
        Must::Hold { firing, key, name } => {
            let (owner, place, seq) = key;
            let row = tx
                .query_opt(
                    "SELECT held_by FROM petrel_tokens WHERE owner = $1 AND place = $2 AND seq = $3",
                    &[owner, place, seq],
                )
                .await
                .map_err(pg)?;
            Err(match row.and_then(|r| r.get::<_, Option<i64>>(0)) {
                Some(other) if other != *firing => {
                    conflict(format!("token {name} is held by firing {other}"))
                }
                _ => conflict(format!("token {name} is gone")),
            })
        }
    }
}

/// A compaction: the stored record must have the status and update time
/// the change's record has; the case's earlier log entries go.
async fn compact(tx: &Transaction<'_>, c: &Encoded) -> Result<(), StoreError> {
    let (expected, _) = c
        .case
        .as_ref()
        .ok_or_else(|| StoreError::Bug("a compaction without a case record".into()))?;
    let row = tx
        .query_opt(
            "SELECT record FROM petrel_cases WHERE id = $1 FOR UPDATE",
            &[&expected.id],
        )
        .await
        .map_err(pg)?;
    let stored: Option<CaseRecord> = row
        .map(|r| crate::store::decode("case", &r.get::<_, Vec<u8>>(0)))
        .transpose()?;
    let same = stored
        .is_some_and(|s| s.status == expected.status && s.updated_at_ms == expected.updated_at_ms);
    if !same {
        return Err(conflict(format!(
            "case `{}` changed since its compaction was planned",
            expected.id
        )));
    }
    tx.execute(
        "DELETE FROM petrel_events WHERE case_id = $1",
        &[&expected.id],
    )
    .await
    .map_err(pg)?;
    Ok(())
}
