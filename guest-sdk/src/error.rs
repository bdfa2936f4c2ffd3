//! The error a transition returns instead of a decision.

use std::fmt;

use crate::wit;

/// A failed firing: the host records the message and applies its retry policy
/// if the error is retryable, or dead-letters the inputs at once if not.
///
/// `?` converts payload decode and encode errors (fatal: the same inputs decode
/// the same way next time) and [`LlmError`](crate::LlmError)s (retryable or not,
/// see [`LlmError::is_retryable`](crate::LlmError::is_retryable)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
    retryable: bool,
}

impl Error {
    /// An error that retrying the same inputs could get past (a timeout, a
    /// rate limit).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// An error that retrying the same inputs would only repeat.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying the same inputs could succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    pub(crate) fn into_wit(self) -> wit::types::GuestError {
        wit::types::GuestError {
            message: self.message,
            retryable: self.retryable,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<rmp_serde::decode::Error> for Error {
    fn from(err: rmp_serde::decode::Error) -> Self {
        Self::fatal(format!("cannot decode payload: {err}"))
    }
}

impl From<rmp_serde::encode::Error> for Error {
    fn from(err: rmp_serde::encode::Error) -> Self {
        Self::fatal(format!("cannot encode payload: {err}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::fatal(format!("invalid JSON: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_the_retryable_flag() {
        assert!(Error::retryable("later").is_retryable());
        assert!(!Error::fatal("never").is_retryable());
        assert_eq!(Error::fatal("never").to_string(), "never");
    }

    #[test]
    fn decode_errors_are_fatal() {
        let err: Error = rmp_serde::from_slice::<u32>(&[0xc0]).unwrap_err().into();
        assert!(!err.is_retryable());
        assert!(
            err.message().starts_with("cannot decode payload: "),
            "{err}"
        );
    }

    #[test]
    fn maps_to_the_wit_guest_error() {
        let wit = Error::retryable("busy").into_wit();
        assert_eq!(wit.message, "busy");
        assert!(wit.retryable);
    }
}
