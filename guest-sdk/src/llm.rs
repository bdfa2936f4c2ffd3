//! Language-model calls, made by the host on the guest's behalf.
//!
//! ```no_run
//! use petrel_guest::llm::{self, Request};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Verdict {
//!     refund: bool,
//!     reason: String,
//! }
//!
//! # fn main() -> Result<(), petrel_guest::Error> {
//! let verdict: Verdict = llm::ask_json(
//!     Request::new()
//!         .system("You decide refund requests. Answer in JSON.")
//!         .user("The parcel arrived broken.")
//!         .max_output_tokens(200)
//!         .temperature(0.0)
//!         .json_schema(r#"{"type":"object","required":["refund","reason"]}"#),
//! )?;
//! # Ok(())
//! # }
//! ```
//!
//! The first call makes the component import `petrel:transition/llm`, which
//! the host links only for transitions the net file grants `llm`: a guest that
//! never calls this module does not import it. Provider, model, key, timeout,
//! retries and budgets are host configuration; requests and answers are
//! recorded in the event log, and replaying a case never asks again.

use serde::de::DeserializeOwned;

#[cfg(target_arch = "wasm32")]
use crate::wit;

/// Who wrote a message of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The user (the prompt).
    User,
    /// The model (an earlier answer, or an example of one).
    Assistant,
}

impl Role {
    /// The role's name on the wire: `user` or `assistant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// What it says.
    pub content: String,
}

/// A completion request, built step by step.
///
/// Defaults: no system prompt, no messages, 1024 output tokens at most, the
/// provider's temperature, free-form answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    system: Option<String>,
    messages: Vec<Message>,
    max_output_tokens: u32,
    temperature: Option<f32>,
    json_schema: Option<String>,
}

impl Default for Request {
    fn default() -> Self {
        Self {
            system: None,
            messages: Vec::new(),
            max_output_tokens: 1024,
            temperature: None,
            json_schema: None,
        }
    }
}

impl Request {
    /// An empty request with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the system prompt.
    pub fn system(mut self, prompt: impl Into<String>) -> Self {
        self.system = Some(prompt.into());
        self
    }

    /// Appends a user message.
    pub fn user(self, content: impl Into<String>) -> Self {
        self.message(Role::User, content)
    }

    /// Appends an assistant message.
    pub fn assistant(self, content: impl Into<String>) -> Self {
        self.message(Role::Assistant, content)
    }

    /// Appends a message.
    pub fn message(mut self, role: Role, content: impl Into<String>) -> Self {
        self.messages.push(Message {
            role,
            content: content.into(),
        });
        self
    }

    /// Caps the answer's length in tokens.
    pub fn max_output_tokens(mut self, max: u32) -> Self {
        self.max_output_tokens = max;
        self
    }

    /// Sets the sampling temperature.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Asks for structured output matching this JSON schema (the schema's JSON
    /// text, e.g. `serde_json::json!({...}).to_string()`).
    pub fn json_schema(mut self, schema: impl Into<String>) -> Self {
        self.json_schema = Some(schema.into());
        self
    }

    /// The messages so far.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    #[cfg(target_arch = "wasm32")]
    fn into_wit(self) -> wit::llm::Request {
        wit::llm::Request {
            system: self.system,
            messages: self
                .messages
                .into_iter()
                .map(|m| wit::llm::Message {
                    role: m.role.as_str().to_owned(),
                    content: m.content,
                })
                .collect(),
            max_output_tokens: self.max_output_tokens,
            temperature: self.temperature,
            json_schema: self.json_schema,
        }
    }
}

/// Tokens a call used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens of the prompt.
    pub input_tokens: u32,
    /// Tokens of the answer.
    pub output_tokens: u32,
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The answer's text.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Tokens used.
    pub usage: Usage,
}

/// Why a call gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The provider did not answer in time (after the host's retries).
    #[error("the language model did not answer in time")]
    Timeout,
    /// The provider kept refusing for rate limits (after the host's retries).
    #[error("the language model provider is rate limiting")]
    RateLimited,
    /// The firing's or the case's token budget is spent.
    #[error("the llm token budget is spent")]
    BudgetExceeded,
    /// The provider answered with an error.
    #[error("the language model provider failed: {0}")]
    Provider(String),
    /// The host's policy refused the request.
    #[error("the llm request was refused by policy: {0}")]
    RefusedByPolicy(String),
    /// The host has no provider configured (always the case outside
    /// WebAssembly).
    #[error("no language model is configured on the host")]
    NotConfigured,
    /// The answer is not the JSON [`ask_json`] expected.
    #[error(
        "the model's answer is not the expected JSON: {reason} (answer: `{}`)",
        preview(text)
    )]
    InvalidAnswer {
        /// Why it does not parse.
        reason: String,
        /// The answer's text.
        text: String,
    },
}

impl LlmError {
    /// Whether retrying the firing could get a usable answer.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::Timeout
                | LlmError::RateLimited
                | LlmError::Provider(_)
                | LlmError::InvalidAnswer { .. }
        )
    }

    #[cfg(target_arch = "wasm32")]
    fn from_wit(err: wit::llm::LlmError) -> Self {
        use wit::llm::LlmError as E;
        match err {
            E::Timeout => LlmError::Timeout,
            E::RateLimited => LlmError::RateLimited,
            E::BudgetExceeded => LlmError::BudgetExceeded,
            E::ProviderError(msg) => LlmError::Provider(msg),
            E::RefusedByPolicy(msg) => LlmError::RefusedByPolicy(msg),
            E::NotConfigured => LlmError::NotConfigured,
        }
    }
}

impl From<LlmError> for crate::Error {
    fn from(err: LlmError) -> Self {
        if err.is_retryable() {
            crate::Error::retryable(err.to_string())
        } else {
            crate::Error::fatal(err.to_string())
        }
    }
}

/// The start of `text`, for error messages that end up in the event log.
fn preview(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// Asks the host's language model.
pub fn complete(request: Request) -> Result<Response, LlmError> {
    #[cfg(target_arch = "wasm32")]
    {
        wit::llm::complete(&request.into_wit())
            .map(|r| Response {
                text: r.text,
                model: r.model,
                usage: Usage {
                    input_tokens: r.usage.input_tokens,
                    output_tokens: r.usage.output_tokens,
                },
            })
            .map_err(LlmError::from_wit)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = request;
        Err(LlmError::NotConfigured)
    }
}

/// Asks the host's language model and parses its answer as JSON into `T`.
///
/// A Markdown code fence around the answer (```` ```json ... ``` ````) is
/// tolerated. An answer that does not parse is
/// [`LlmError::InvalidAnswer`].
pub fn ask_json<T: DeserializeOwned>(request: Request) -> Result<T, LlmError> {
    parse_json(&complete(request)?.text)
}

fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, LlmError> {
    serde_json::from_str(strip_fence(text)).map_err(|err| LlmError::InvalidAnswer {
        reason: err.to_string(),
        text: text.to_owned(),
    })
}

fn strip_fence(text: &str) -> &str {
    let text = text.trim();
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let Some(body) = rest.strip_suffix("```") else {
        return text;
    };
    // Drop the info string (`json`) on the opening line.
    match body.split_once('\n') {
        Some((_info, body)) => body.trim(),
        None => body.trim(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Verdict {
        refund: bool,
    }

    #[test]
    fn builder_sets_every_field() {
        let request = Request::new()
            .system("be brief")
            .user("hi")
            .assistant("hello")
            .max_output_tokens(10)
            .temperature(0.5)
            .json_schema("{}");
        assert_eq!(request.system.as_deref(), Some("be brief"));
        let roles: Vec<&str> = request.messages().iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant"]);
        assert_eq!(request.max_output_tokens, 10);
        assert_eq!(request.temperature, Some(0.5));
        assert_eq!(request.json_schema.as_deref(), Some("{}"));
        assert_eq!(Request::new().max_output_tokens, 1024);
    }

    #[test]
    fn answers_parse_with_or_without_a_fence() {
        let plain: Verdict = parse_json(" {\"refund\": true} ").unwrap();
        assert_eq!(plain, Verdict { refund: true });
        let fenced: Verdict = parse_json("```json\n{\"refund\": false}\n```").unwrap();
        assert_eq!(fenced, Verdict { refund: false });
    }

    #[test]
    fn unparsable_answers_are_invalid_and_retryable() {
        let err = parse_json::<Verdict>("I think so").unwrap_err();
        assert!(matches!(&err, LlmError::InvalidAnswer { text, .. } if text == "I think so"));
        assert!(err.is_retryable());
        assert!(crate::Error::from(err).is_retryable());
        assert!(!crate::Error::from(LlmError::BudgetExceeded).is_retryable());
        let long = parse_json::<Verdict>(&"x".repeat(1000))
            .unwrap_err()
            .to_string();
        assert!(long.ends_with("...`)") && long.len() < 400, "{long}");
    }

    #[test]
    fn outside_wasm_there_is_no_model() {
        assert_eq!(
            complete(Request::new().user("hi")),
            Err(LlmError::NotConfigured)
        );
    }
}
