//! What the host's `[llm]` table configures (read from `petrel.toml` by
//! `config`): which provider answers and how.

use std::path::PathBuf;
use std::time::Duration;

use super::retry::RetryPolicy;

/// Default endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Default model.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// Default name of the environment variable holding the API key.
pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";
/// Default timeout of one HTTP attempt.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Default cassette file, relative to `petrel.toml`.
pub const DEFAULT_CASSETTE_FILE: &str = "cassette.json";

/// Which provider answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// An OpenAI-compatible chat-completions endpoint.
    OpenAi,
    /// A recorded cassette file.
    Cassette,
}

/// How a cassette is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CassetteMode {
    /// Answer from the file; a request it lacks is an error.
    Replay,
    /// Answer from the file; ask the real provider for what it lacks and
    /// append the answer to the file.
    Record,
}

/// Cassette settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CassetteConfig {
    /// The cassette file (resolved against the config file's directory).
    pub file: PathBuf,
    /// Replay only, or record what is missing.
    pub mode: CassetteMode,
}

/// The checked `[llm]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// Which provider answers.
    pub provider: ProviderKind,
    /// Endpoint base URL (`{base_url}/chat/completions` is called).
    pub base_url: String,
    /// Model name sent to the endpoint.
    pub model: String,
    /// Name of the environment variable holding the API key; empty for none.
    pub api_key_env: String,
    /// Timeout of one HTTP attempt.
    pub request_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Cassette settings (used when `provider` is the cassette).
    pub cassette: CassetteConfig,
    /// Where `api_key_env` was set, for errors: (file, line).
    pub key_origin: (PathBuf, usize),
}

impl LlmConfig {
    /// Defaults for an OpenAI-compatible endpoint at `base_url` (no key).
    pub fn openai(base_url: impl Into<String>, model: impl Into<String>) -> LlmConfig {
        LlmConfig {
            provider: ProviderKind::OpenAi,
            base_url: base_url.into().trim_end_matches('/').to_string(),
            model: model.into(),
            api_key_env: String::new(),
            request_timeout: Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS),
            retry: RetryPolicy::default(),
            cassette: CassetteConfig {
                file: PathBuf::from(DEFAULT_CASSETTE_FILE),
                mode: CassetteMode::Replay,
            },
            key_origin: (PathBuf::from("<built-in>"), 0),
        }
    }

    /// Whether answering may need the real endpoint (and so its key).
    pub fn needs_endpoint(&self) -> bool {
        self.provider == ProviderKind::OpenAi || self.cassette.mode == CassetteMode::Record
    }
}
