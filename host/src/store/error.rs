//! Store errors.

/// What can go wrong reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, corruption, ...).
    #[error("store i/o: {0}")]
    Sled(#[from] sled::Error),
    /// A record could not be encoded or decoded.
    #[error("store record `{what}` is unreadable: {message}")]
    Codec {
        /// Which record.
        what: String,
        /// The codec's message.
        message: String,
    },
    /// A write lost a race: what it expected is no longer there.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A case with this id exists already.
    #[error("case `{0}` exists already (case ids are unique; pick another)")]
    CaseExists(String),
    /// The data directory is in use by another process.
    #[error("store `{0}` is in use by another petrel process (one host per store)")]
    Locked(String),
    /// Another host took this host's cases over (its lease lapsed while it
    /// was paused or cut off): it must stop; restarted, it joins afresh.
    #[error("this host was fenced: {0}")]
    Fenced(String),
    /// PostgreSQL refused or failed (connection, query, schema).
    #[error("postgres: {0}")]
    Postgres(String),
    /// An invariant of the store is broken; this is a bug in Petrel.
    #[error("bug: {0} (please report it)")]
    Bug(String),
}

pub(crate) fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(value).map_err(|e| StoreError::Codec {
        what: what.into(),
        message: e.to_string(),
    })
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Codec {
        what: what.into(),
        message: e.to_string(),
    })
}
