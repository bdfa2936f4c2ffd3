//! The schema's versions: SQL embedded in the binary, applied in order,
//! each in its own transaction with its row in `petrel_migrations`, under
//! an advisory lock so that hosts opening one database together take turns.
//! (refinery does this too, but its tokio-postgres driver pulls in a TLS
//! stack and takes no lock; these few lines do both as needed.)

use deadpool_postgres::Pool;

use super::rows::{client, pg};
use crate::store::{CaseRecord, Reservation, StoreError, decode};

/// Every schema version this build knows: (version, name, SQL).
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "initial", include_str!("migrations/V1__initial.sql")),
    (2, "hosts", include_str!("migrations/V2__hosts.sql")),
];

/// The advisory lock key migrations hold (`petrel` in ASCII, as a number).
const MIGRATION_LOCK: i64 = 0x7065_7472_656c_0001;

/// Applies the versions the database lacks; returns them.
pub(super) async fn migrate(pool: &Pool) -> Result<Vec<u32>, StoreError> {
    let mut client = client(pool).await?;
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS petrel_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS {
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg)?;
        let done = tx
            .query_opt(
                "SELECT 1 FROM petrel_migrations WHERE version = $1",
                &[&(version as i32)],
            )
            .await
            .map_err(pg)?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql).await.map_err(|e| {
            StoreError::Postgres(format!("migration {version} ({name}): {}", pg(e)))
        })?;
        if version == 2 {
            backfill_hosts(&tx).await?;
        }
        tx.execute(
            "INSERT INTO petrel_migrations (version, name) VALUES ($1, $2)",
            &[&(version as i32), &name],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        tracing::info!(version, name, "store schema migrated");
        applied.push(version);
    }
    Ok(applied)
}

/// Version 2's new columns for rows written before it: a case's `live`
/// and a reservation's `case_id` come from their records.
async fn backfill_hosts(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    let rows = tx
        .query("SELECT id, record FROM petrel_cases", &[])
        .await
        .map_err(pg)?;
    for row in rows {
        let record: CaseRecord = decode("case", row.get(1))?;
        if record.status.is_terminal() {
            let id: &str = row.get(0);
            tx.execute("UPDATE petrel_cases SET live = false WHERE id = $1", &[&id])
                .await
                .map_err(pg)?;
        }
    }
    let rows = tx
        .query("SELECT firing, record FROM petrel_reservations", &[])
        .await
        .map_err(pg)?;
    for row in rows {
        let record: Reservation = decode("reservation", row.get(1))?;
        let firing: i64 = row.get(0);
        tx.execute(
            "UPDATE petrel_reservations SET case_id = $2 WHERE firing = $1",
            &[&firing, &record.case],
        )
        .await
        .map_err(pg)?;
    }
    Ok(())
}
