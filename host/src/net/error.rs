//! Errors for net files.

use std::path::PathBuf;

/// A net file that cannot be used, with where and why.
///
/// Every variant names the file and, where the problem is inside it, the
/// 1-based line and the dotted field path (`transitions.approve.inputs.stock`).
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The file could not be read (missing, not a regular file, too large).
    #[error("cannot read net file `{}`: {source}", file.display())]
    Read {
        /// The net file.
        file: PathBuf,
        /// Why.
        source: crate::limits::ReadError,
    },
    /// The net is larger than the host allows (`[limits]` in `petrel.toml`).
    #[error("{}: {what} (the host's limit is {limit}: `[limits] {setting}` in petrel.toml)", file.display())]
    TooLarge {
        /// The net file.
        file: PathBuf,
        /// What is too large, and how large it is.
        what: String,
        /// The ceiling.
        limit: u64,
        /// The `[limits]` setting that holds it.
        setting: &'static str,
    },
    /// The file is not valid TOML or does not have the net file's shape.
    #[error("{}:{line}: {message}", file.display())]
    Syntax {
        /// The net file.
        file: PathBuf,
        /// 1-based line of the problem (0 when the parser gave no position).
        line: usize,
        /// What the TOML parser said.
        message: String,
    },
    /// The file parses but describes an inconsistent net.
    #[error("{}:{line}: `{field}`: {message}", file.display())]
    Invalid {
        /// The net file.
        file: PathBuf,
        /// 1-based line of the offending field.
        line: usize,
        /// Dotted path of the offending field.
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl NetError {
    /// The 1-based line the error points at, if it points inside the file.
    pub fn line(&self) -> Option<usize> {
        match self {
            NetError::Read { .. } | NetError::TooLarge { .. } => None,
            NetError::Syntax { line, .. } | NetError::Invalid { line, .. } => Some(*line),
        }
    }
}

/// The 1-based line of byte `offset` in `source` (the last line past its
/// end): how every parser here names a line.
pub(crate) fn line_at(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
