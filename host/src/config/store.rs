//! The `[store]` table: where cases are kept when not in the data
//! directory's sled store.
//!
//! ```toml
//! [store]
//! url = "postgres://petrel@db.internal:5432/petrel"   # or --store / PETREL_STORE
//! pool_size = 8                                       # connections per host
//! lease_ms = 10000                                    # take-over after a host dies
//! ```
//!
//! The password is best left out of the file: the standard `PGPASSWORD`
//! (and `PGUSER`, `PGHOST`, `PGPORT`, `PGDATABASE`) fill what the URL
//! leaves out.

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Ctx};
use crate::store::postgres::is_postgres_url;

/// Most connections `pool_size` may ask for.
pub const MAX_POOL_SIZE: u32 = 256;

/// The `[store]` table (defaults when absent: sled in the data directory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSettings {
    /// A PostgreSQL database (`postgres://…`).
    pub url: Option<String>,
    /// Most connections one host opens to it.
    pub pool_size: Option<usize>,
    /// A host's lease: others take its cases over this long after it died.
    pub lease_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    url: Option<Spanned<String>>,
    pool_size: Option<Spanned<u32>>,
    lease_ms: Option<Spanned<u64>>,
}

pub(super) fn parse(cx: &Ctx<'_>, raw: &RawStore) -> Result<StoreSettings, ConfigError> {
    if let Some(url) = &raw.url
        && !is_postgres_url(url.get_ref())
    {
        return Err(cx.err(
            url.span(),
            "store.url",
            "expected a PostgreSQL URL, `postgres://USER@HOST:PORT/DB` (leave `[store]` out for the data directory's own store)",
        ));
    }
    if let Some(n) = &raw.pool_size
        && !(1..=MAX_POOL_SIZE).contains(n.get_ref())
    {
        return Err(cx.err(
            n.span(),
            "store.pool_size",
            format!(
                "{} is out of range (expected 1 to {MAX_POOL_SIZE})",
                n.get_ref()
            ),
        ));
    }
    if let Some(ms) = &raw.lease_ms
        && let Err(e) = check_lease_ms(*ms.get_ref())
    {
        return Err(cx.err(ms.span(), "store.lease_ms", e));
    }
    Ok(StoreSettings {
        url: raw.url.as_ref().map(|u| u.get_ref().clone()),
        pool_size: raw.pool_size.as_ref().map(|n| *n.get_ref() as usize),
        lease_ms: raw.lease_ms.as_ref().map(|n| *n.get_ref()),
    })
}

/// Checks a host lease length (`[store] lease_ms`, `--lease-ms`).
pub fn check_lease_ms(ms: u64) -> Result<u64, String> {
    let range = crate::store::postgres::LEASE_MS_RANGE;
    if range.contains(&ms) {
        Ok(ms)
    } else {
        Err(format!(
            "{ms} is out of range (expected {} to {} ms)",
            range.start(),
            range.end()
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn the_store_table_names_a_postgres_database_and_its_pool() {
        let c = Config::parse(
            "[store]\nurl = \"postgres://p@127.0.0.1/db\"\npool_size = 4\n",
            "petrel.toml",
        )
        .unwrap();
        assert_eq!(c.store.url.as_deref(), Some("postgres://p@127.0.0.1/db"));
        assert_eq!(c.store.pool_size, Some(4));
        let err = Config::parse("[store]\nurl = \"mysql://x\"\n", "petrel.toml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("petrel.toml:2: `store.url`: expected a PostgreSQL URL"),
            "{err}"
        );
        let err = Config::parse("[store]\npool_size = 0\n", "petrel.toml").unwrap_err();
        assert!(err.to_string().contains("`store.pool_size`"), "{err}");
    }
}
