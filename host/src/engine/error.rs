//! Engine errors.

use crate::net::NetError;
use crate::sandbox::DeployError;
use crate::store::StoreError;

/// What can go wrong driving nets and cases.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The net file is unusable.
    #[error(transparent)]
    Net(#[from] NetError),
    /// A guest component was refused.
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// The deploy check found problems in the net.
    #[error(transparent)]
    Check(#[from] crate::verify::GateError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The wasmtime engine could not be set up.
    #[error("sandbox: {0}")]
    Sandbox(String),
    /// A request named something that does not exist or is malformed.
    #[error("{0}")]
    Invalid(String),
    /// A case id or net version that is not in the store.
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the current state (e.g. a lease that was
    /// lost or has expired).
    #[error("{0}")]
    Conflict(String),
    /// The request is about a case another live host runs (a store several
    /// hosts share): it must go to that host, at `url` if it serves an API.
    #[error("{message}")]
    Elsewhere {
        /// What was asked and which host runs the case.
        message: String,
        /// Where that host's HTTP API listens, if it serves one.
        url: Option<String>,
    },
    /// The host is shutting down (or its driver stopped).
    #[error("{0}")]
    Unavailable(String),
    /// Compacting the log failed (an archive file could not be written).
    #[error(transparent)]
    Retention(#[from] crate::retention::RetentionError),
}
