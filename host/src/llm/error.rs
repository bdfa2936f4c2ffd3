//! Why a language-model call gave no answer.

use serde::{Deserialize, Serialize};

/// Why a call gave no answer: what the event log records and what (mapped to
/// the WIT `llm-error`) the guest gets back.
///
/// Messages never hold the API key or any request header: providers build
/// them from the status, the endpoint and the start of the response body,
/// with the key scrubbed out (see [`Secret::redact`](super::Secret::redact)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderError {
    /// No answer before the deadline (one HTTP attempt's timeout, the call's
    /// `call_timeout_ms`, or the firing's deadline, whichever came first).
    #[error("no answer within {after_ms} ms")]
    Timeout {
        /// Time waited.
        after_ms: u64,
    },
    /// The provider refused for rate limits (HTTP 429) and retrying did not
    /// help within the deadline.
    #[error("rate limited by the provider (HTTP 429){}", retry_hint(*retry_after_ms))]
    RateLimited {
        /// What the last `Retry-After` asked for.
        retry_after_ms: Option<u64>,
    },
    /// The provider answered with an error status.
    #[error("the provider answered HTTP {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The start of the response body.
        message: String,
    },
    /// The provider could not be reached.
    #[error("cannot reach the provider: {message}")]
    Connect {
        /// What the HTTP client said.
        message: String,
    },
    /// The provider's answer is not a chat completion.
    #[error("the provider's answer is not a chat completion: {message}")]
    Malformed {
        /// What is wrong with it.
        message: String,
    },
    /// The cassette holds no answer for this request.
    #[error(
        "the cassette `{cassette}` has no answer for request {request_hash} (record it: set `mode = \"record\"` under `[llm.cassette]` in petrel.toml)"
    )]
    NotRecorded {
        /// The cassette file.
        cassette: String,
        /// [`ChatRequest::hash`](super::ChatRequest::hash) of the request.
        request_hash: String,
    },
    /// A per-firing or per-case budget would be exceeded.
    #[error("budget exceeded: {message}")]
    BudgetExceeded {
        /// Which budget, and by how much.
        message: String,
    },
    /// The transition's policy refuses the request.
    #[error("refused by policy: {message}")]
    RefusedByPolicy {
        /// Why.
        message: String,
    },
    /// The host has no language model configured (`petrel --config`).
    #[error(
        "no language model is configured on the host (pass `--config petrel.toml` with an `[llm]` table)"
    )]
    NotConfigured,
}

fn retry_hint(retry_after_ms: Option<u64>) -> String {
    retry_after_ms.map_or_else(String::new, |ms| format!("; it asked to wait {ms} ms"))
}

impl ProviderError {
    /// Whether another HTTP attempt could succeed: rate limits, server
    /// errors (5xx, 408), connection failures and attempt timeouts.
    pub fn is_transient(&self) -> bool {
        match self {
            ProviderError::RateLimited { .. }
            | ProviderError::Connect { .. }
            | ProviderError::Timeout { .. } => true,
            ProviderError::Status { status, .. } => *status >= 500 || *status == 408,
            _ => false,
        }
    }

    /// The error's kind as the event log names it (`timeout`, `rate_limited`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderError::Timeout { .. } => "timeout",
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Status { .. } => "status",
            ProviderError::Connect { .. } => "connect",
            ProviderError::Malformed { .. } => "malformed",
            ProviderError::NotRecorded { .. } => "not_recorded",
            ProviderError::BudgetExceeded { .. } => "budget_exceeded",
            ProviderError::RefusedByPolicy { .. } => "refused_by_policy",
            ProviderError::NotConfigured => "not_configured",
        }
    }
}

/// The start of `text` (at most `max` bytes, cut at a character boundary).
pub(crate) fn preview(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_the_ones_worth_retrying() {
        let status = |status| ProviderError::Status {
            status,
            message: String::new(),
        };
        assert!(status(500).is_transient());
        assert!(status(503).is_transient());
        assert!(!status(400).is_transient());
        assert!(!status(401).is_transient());
        assert!(
            ProviderError::RateLimited {
                retry_after_ms: None
            }
            .is_transient()
        );
        assert!(
            !ProviderError::Malformed {
                message: String::new()
            }
            .is_transient()
        );
    }

    #[test]
    fn messages_say_what_happened() {
        let e = ProviderError::RateLimited {
            retry_after_ms: Some(1000),
        };
        assert_eq!(
            e.to_string(),
            "rate limited by the provider (HTTP 429); it asked to wait 1000 ms"
        );
        assert_eq!(preview("héllo", 2), "h…");
        assert_eq!(preview("abc", 3), "abc");
    }
}
