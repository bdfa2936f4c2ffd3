//! The schema's versions: SQL embedded in the binary, applied in order,
//! each in its own transaction with its row in `petrel_migrations`, under
//! an advisory lock so that hosts opening one database together take turns.
//! (refinery does this too, but its tokio-postgres driver pulls in a TLS
//! stack and takes no lock; these few lines do both as needed.)

use deadpool_postgres::Pool;

use super::rows::{client, pg};
use crate::store::StoreError;

/// Every schema version this build knows: (version, name, SQL).
pub const MIGRATIONS: &[(u32, &str, &str)] =
    &[(1, "initial", include_str!("migrations/V1__initial.sql"))];

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

/// How long opening waits for another store of the same database to let
/// go of it (one closing as the next opens).
const HOLD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Connects apart from the pool and takes the host lock of the database
/// and schema (`describe` names them in the refusal); the returned client
/// holds it until it is closed.
pub(super) async fn hold(
    config: tokio_postgres::Config,
    describe: String,
) -> Result<tokio_postgres::Client, StoreError> {
    let (holder, connection) = config.connect(tokio_postgres::NoTls).await.map_err(pg)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::error!(error = %e, "the connection holding the store's lock failed");
        }
    });
    let deadline = tokio::time::Instant::now() + HOLD_WAIT;
    loop {
        let row = holder
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext(current_schema()))",
                &[&HOST_LOCK],
            )
            .await
            .map_err(pg)?;
        if row.get::<_, bool>(0) {
            return Ok(holder);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StoreError::Locked(describe));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The first key of the host lock (`pet` in ASCII); the second is the
/// schema's hash.
const HOST_LOCK: i32 = 0x0070_6574;
