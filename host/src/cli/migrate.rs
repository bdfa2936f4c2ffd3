//! `petrel migrate`: creates or upgrades a PostgreSQL store's schema (also
//! done by every command that opens it; this runs it alone, e.g. before a
//! rolling restart of several hosts).

use anyhow::anyhow;

use super::{OK, Outcome, bad_input};
use petrel::store::postgres::{MIGRATIONS, PgStore, is_postgres_url};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The PostgreSQL database (`postgres://USER@HOST:PORT/DB`; the
    /// password from the URL or PGPASSWORD).
    #[arg(long, value_name = "URL", env = "PETREL_STORE")]
    store: String,
}

pub(crate) async fn run(args: Args) -> Outcome {
    if !is_postgres_url(&args.store) {
        return Err(bad_input(anyhow!(
            "--store: expected a PostgreSQL URL, postgres://USER@HOST:PORT/DB"
        )));
    }
    let url = args.store.clone();
    let (describe, applied) = tokio::task::spawn_blocking(move || {
        let store = PgStore::open(&url, 1)?;
        // Opening migrated it; what did it apply?
        let applied = store.applied_on_open().to_vec();
        Ok::<_, petrel::store::StoreError>((store.describe().to_string(), applied))
    })
    .await
    .map_err(anyhow::Error::from)??;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if applied.is_empty() {
        println!("{describe}: schema is at version {newest}; nothing to apply");
    } else {
        let list: Vec<String> = applied.iter().map(u32::to_string).collect();
        println!(
            "{describe}: applied version(s) {}; schema is at version {newest}",
            list.join(", ")
        );
    }
    Ok(OK)
}
