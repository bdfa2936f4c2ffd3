//! `petrel migrate`: creates or upgrades a PostgreSQL store's schema (also
//! done by every command that opens it; this runs it alone, e.g. before a
//! rolling restart of several hosts).

use super::{OK, Outcome};
use petrel::store::postgres::{MIGRATIONS, PgStore};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The PostgreSQL database (`postgres://USER@HOST:PORT/DB`; the
    /// password from the URL or PGPASSWORD).
    #[arg(long, value_name = "URL", env = "PETREL_STORE", value_parser = super::store_url)]
    store: String,
}

pub(crate) async fn run(args: Args) -> Outcome {
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
