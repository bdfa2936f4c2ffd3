//! Language-model exchanges as the event log keeps them: what went to the
//! model and what came back, provider-neutral (the host's form of the WIT
//! `llm` records; cassettes keep them too). Their encoding is pinned by the
//! store's snapshot tests.

use serde::{Deserialize, Serialize};

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `user` or `assistant` (the system prompt is [`ChatRequest::system`]).
    pub role: String,
    /// What it says.
    pub content: String,
}

/// A completion request, as a guest made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The conversation, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Cap on the answer's length in tokens.
    pub max_output_tokens: u32,
    /// Sampling temperature; `None` leaves the provider's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// JSON schema (its JSON text) the answer must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<String>,
}

/// Tokens one call used, as the provider counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub input_tokens: u32,
    /// Tokens of the answer.
    pub output_tokens: u32,
}

impl Usage {
    /// Input and output tokens together.
    pub fn total(&self) -> u64 {
        u64::from(self.input_tokens) + u64::from(self.output_tokens)
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer's text.
    pub text: String,
    /// The model that answered (as the provider names it).
    pub model: String,
    /// Tokens used.
    pub usage: Usage,
}

impl ChatRequest {
    /// A request with one user message and the guest SDK's defaults.
    pub fn user(prompt: impl Into<String>) -> ChatRequest {
        ChatRequest {
            system: None,
            messages: vec![ChatMessage {
                role: "user".into(),
                content: prompt.into(),
            }],
            max_output_tokens: 1024,
            temperature: None,
            json_schema: None,
        }
    }

    /// BLAKE3 (hex, 32 digits) of the request's canonical JSON: equal
    /// requests hash equal (cassettes and the journal match on it).
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("a request always serializes");
        blake3::hash(&json).to_hex()[..32].to_string()
    }

    /// A rough count of the prompt's tokens (about four bytes each), used to
    /// check budgets before the provider reports the real count.
    pub fn estimated_input_tokens(&self) -> u64 {
        let bytes: usize = self.system.as_deref().map_or(0, str::len)
            + self
                .messages
                .iter()
                .map(|m| m.content.len() + 4)
                .sum::<usize>();
        (bytes as u64).div_ceil(4)
    }

    /// The most tokens the call may use, by the estimate: prompt estimate
    /// plus the output cap.
    pub fn estimated_tokens(&self) -> u64 {
        self.estimated_input_tokens() + u64::from(self.max_output_tokens)
    }
}

/// Why a call gave no answer: what the event log records and what (mapped to
/// the WIT `llm-error`) the guest gets back.
///
/// Messages never hold the API key or any request header: providers build
/// them from the status, the endpoint and the start of the response body,
/// with the key scrubbed out (see `llm::Secret::redact`).
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
        /// [`ChatRequest::hash`] of the request.
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

/// One call a guest made to the language model, as the event log records it.
/// Never holds the API key or any request header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRecord {
    /// The firing that made the call.
    pub firing: u64,
    /// Its transition.
    pub transition: String,
    /// The firing's journal key (`llm::JournalKey`).
    pub key: String,
    /// 0-based index of the call within the firing.
    pub call: u32,
    /// Provider name (`openai`, `cassette`); empty when none is configured.
    pub provider: String,
    /// The configured model.
    pub model: String,
    /// [`ChatRequest::hash`] of the request.
    pub request_hash: String,
    /// What the guest asked.
    pub request: ChatRequest,
    /// The answer, if there was one.
    pub response: Option<ChatResponse>,
    /// Why there was none.
    pub error: Option<ProviderError>,
    /// Wall-clock time of the call, retries included.
    pub latency_ms: u64,
    /// HTTP attempts (0: answered without one: cassette, journal, refusal).
    pub attempts: u32,
    /// Tokens used (as the provider counted; 0 without an answer).
    pub usage: Usage,
    /// Set when the answer came from the journal: the firing that first got it.
    pub replayed_from: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_requests_hash_equal_and_any_field_changes_the_hash() {
        let a = ChatRequest::user("is this a refund?");
        assert_eq!(a.hash(), ChatRequest::user("is this a refund?").hash());
        assert_eq!(a.hash().len(), 32);
        let mut b = a.clone();
        b.temperature = Some(0.0);
        assert_ne!(a.hash(), b.hash());
        let mut c = a.clone();
        c.max_output_tokens = 10;
        assert_ne!(a.hash(), c.hash());
    }

    #[test]
    fn estimates_count_prompt_and_output_cap() {
        let mut r = ChatRequest::user("x".repeat(40));
        r.max_output_tokens = 100;
        assert_eq!(r.estimated_input_tokens(), 11);
        assert_eq!(r.estimated_tokens(), 111);
    }

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
    }
}
