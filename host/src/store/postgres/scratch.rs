//! A schema of its own in a PostgreSQL database, dropped when it goes:
//! where tests and benchmarks keep a store apart from others sharing the
//! database.

use std::sync::atomic::{AtomicU64, Ordering};

use super::rows::pg;
use crate::store::StoreError;

/// A scratch schema. See the module docs.
#[derive(Debug)]
pub struct Scratch {
    admin: String,
    name: String,
    url: String,
}

impl Scratch {
    /// Creates a fresh schema (its name from `tag`, the process and a
    /// counter) in the database at `admin`.
    pub fn new(admin: &str, tag: &str) -> Result<Scratch, StoreError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(20)
            .collect();
        let name = format!(
            "petrel_{tag}_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            super::unique_suffix() % 1_000_000
        );
        execute(
            admin,
            &format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"),
        )?;
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{sep}options=-c%20search_path%3D{name}");
        Ok(Scratch {
            admin: admin.to_string(),
            name,
            url,
        })
    }

    /// The store URL whose tables live in this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `sql` in this schema (tests acting behind the store's back).
    pub fn execute(&self, sql: &str) -> Result<(), StoreError> {
        execute(&self.url, sql)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = execute(
            &self.admin,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
    }
}

/// Runs `sql` on the database at `url`, on a runtime of its own (a thread
/// apart, so it may be called from within another runtime).
fn execute(url: &str, sql: &str) -> Result<(), StoreError> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Postgres(format!("cannot start a runtime: {e}")))?;
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(pg)?;
            let driver = tokio::spawn(connection);
            client.batch_execute(&sql).await.map_err(pg)?;
            drop(client);
            let _ = driver.await;
            Ok(())
        })
    })
    .join()
    .map_err(|_| StoreError::Bug("a scratch schema's thread panicked".into()))?
}
