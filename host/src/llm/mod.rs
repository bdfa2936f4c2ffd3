//! Language models, called by the host on a guest's behalf.
//!
//! A guest granted `llm` calls the WIT import `llm.complete`; it never holds
//! a key, a socket or a URL. The host answers through an [`LlmProvider`]
//! chosen in `petrel.toml` (read by the `config` module) — an OpenAI-compatible
//! endpoint ([`OpenAiProvider`]) or a recorded cassette
//! ([`CassetteProvider`]) — under the transition's policy from the net file
//! ([`crate::net::LlmPolicy`]): calls and tokens per firing, tokens per case,
//! a call timeout, all inside the firing's deadline.
//!
//! Every exchange (request, answer or error, model, latency, usage) is
//! appended to the event log as it happens ([`crate::store::Event::LlmExchange`]),
//! never with the key. A firing cut off by a crash after an exchange runs
//! again and its guest gets the journaled answer instead of a new call
//! (`journal`). Replaying the log never calls a provider.
//!
//! Layout: `settings` (what `[llm]` in `petrel.toml` configures), `error` (provider text in errors), `retry` (backoff, `Retry-After`), `openai`, `cassette`, `secret`
//! (the API key, kept out of every message), `budget` (per-case token
//! spend), `journal` (what earlier attempts of a firing were answered),
//! `gateway` (the engine-wide part: exchanges go to the event log through the
//! engine's commit path) and `session` (one firing's calls).

mod budget;
mod cassette;
mod error;
mod gateway;
mod journal;
mod openai;
mod retry;
mod secret;
mod session;
mod settings;
mod trace;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

/// The exchange records the event log keeps (owned by the store).
pub use crate::store::{
    ChatMessage, ChatRequest, ChatResponse, ExchangeRecord, ProviderError, Usage,
};
pub use cassette::{CassetteProvider, Interaction};
pub use gateway::{Caller, JournalFn, LlmGateway};
pub use journal::JournalKey;
pub use openai::OpenAiProvider;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use session::LlmSession;
pub use settings::{
    CassetteConfig, CassetteMode, DEFAULT_API_KEY_ENV, DEFAULT_BASE_URL, DEFAULT_CASSETTE_FILE,
    DEFAULT_MODEL, DEFAULT_REQUEST_TIMEOUT_MS, LlmConfig, ProviderKind,
};

/// Why a provider could not be set up from its [`LlmConfig`]
/// (`config` names the file and line).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The environment variable that should hold the API key is not set.
    #[error("the environment variable `{var}` is not set")]
    MissingKey {
        /// The variable's name.
        var: String,
    },
    /// The provider could not be built (an unreadable cassette, ...).
    #[error("{message}")]
    Provider {
        /// What went wrong.
        message: String,
    },
}

/// A boxed future, for the object-safe [`LlmProvider`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a provider did with one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The answer, or why there is none.
    pub result: Result<ChatResponse, ProviderError>,
    /// HTTP attempts made (0 when answered from a cassette).
    pub attempts: u32,
}

/// Something that answers chat requests.
pub trait LlmProvider: Send + Sync + Debug {
    /// Short name for the event log (`openai`, `cassette`).
    fn name(&self) -> &str;

    /// The configured model.
    fn model(&self) -> &str;

    /// Answers `request`, retrying transient failures, giving up with
    /// [`ProviderError::Timeout`] at `deadline` at the latest.
    fn complete<'a>(&'a self, request: &'a ChatRequest, deadline: Instant)
    -> BoxFuture<'a, Answer>;

    /// `text` with every secret the provider holds scrubbed out.
    fn redact(&self, text: &str) -> String {
        text.to_string()
    }
}

/// Builds the provider `config` describes, reading the API key from the
/// environment variable it names (only when the real endpoint may be called).
pub fn provider(config: &LlmConfig) -> Result<Arc<dyn LlmProvider>, SetupError> {
    let key = if config.needs_endpoint() && !config.api_key_env.is_empty() {
        match std::env::var(&config.api_key_env) {
            Ok(value) if !value.trim().is_empty() => Some(Secret::new(value.trim())),
            _ => {
                return Err(SetupError::MissingKey {
                    var: config.api_key_env.clone(),
                });
            }
        }
    } else {
        None
    };
    Ok(match config.provider {
        ProviderKind::OpenAi => Arc::new(OpenAiProvider::new(config, key)?),
        ProviderKind::Cassette => {
            let upstream = match config.cassette.mode {
                CassetteMode::Record => Some(OpenAiProvider::new(config, key)?),
                CassetteMode::Replay => None,
            };
            Arc::new(CassetteProvider::open(&config.cassette, upstream)?.with_model(&config.model))
        }
    })
}
