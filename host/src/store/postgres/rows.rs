//! Between Petrel's values and PostgreSQL's: owned query parameters, keys,
//! rows, errors.

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;

use crate::store::{Owner, StoreError, StoredToken};

/// An owned query parameter (queries run on the store's runtime).
pub(super) type Param = Box<dyn ToSql + Sync + Send>;

/// `value` as a parameter.
pub(super) fn p<T: ToSql + Sync + Send + 'static>(value: T) -> Param {
    Box::new(value)
}

/// The parameters as tokio-postgres takes them.
pub(super) fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// A pooled connection.
pub(super) async fn client(pool: &Pool) -> Result<Object, StoreError> {
    pool.get()
        .await
        .map_err(|e| StoreError::Postgres(format!("no connection: {e}")))
}

/// A driver error as a store error (its text never holds the password).
pub(super) fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Postgres(format!("{} ({})", db.message(), db.code().code())),
        None => StoreError::Postgres(e.to_string()),
    }
}

/// A count or id as BIGINT (Petrel's ids stay far below 2^63).
pub(super) fn i64_of(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// The `owner` column of `owner`'s tokens.
pub(super) fn owner_key(owner: &Owner) -> String {
    match owner {
        Owner::Case(id) => format!("c:{id}"),
        Owner::Shared(version) => format!("s:{version}"),
    }
}

fn owner_of(key: &str) -> Result<Owner, StoreError> {
    match key.split_once(':') {
        Some(("c", id)) => Ok(Owner::Case(id.to_string())),
        Some(("s", version)) => Ok(Owner::Shared(version.to_string())),
        _ => Err(StoreError::Bug(format!("malformed token owner `{key}`"))),
    }
}

/// A token row: owner, place, seq, payload.
pub(super) fn token_of(row: &tokio_postgres::Row) -> Result<StoredToken, StoreError> {
    Ok(StoredToken {
        owner: owner_of(row.get(0))?,
        place: row.get(1),
        seq: row.get::<_, i64>(2) as u64,
        payload: row.get(3),
    })
}
