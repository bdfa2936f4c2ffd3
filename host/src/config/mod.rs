//! Host configuration: `petrel.toml`.
//!
//! Everything the net file must not decide lives here: which language
//! model answers, where, with which key. Every field has a default, so an
//! empty file is valid (and configures nothing):
//!
//! ```toml
//! # petrel.toml
//! [llm]                                   # absent: guests calling llm get `not-configured`
//! provider = "openai"                     # "openai" (any OpenAI-compatible chat-completions
//!                                         # endpoint: OpenAI, vLLM, llama.cpp server, Ollama /v1)
//!                                         # or "cassette" (answers from a recorded file)
//! base_url = "https://api.openai.com/v1"  # POSTs go to {base_url}/chat/completions
//! model = "gpt-4o-mini"
//! api_key_env = "OPENAI_API_KEY"          # NAME of the env var holding the key ("" = no key);
//!                                         # the key itself is never written anywhere
//! request_timeout_ms = 30000              # one HTTP attempt
//! max_retries = 3                         # extra attempts on 429, 5xx, 408, connect errors, timeouts
//! backoff_initial_ms = 250                # first backoff; doubles per retry, with jitter
//! backoff_max_ms = 8000                   # backoff cap (a longer Retry-After is honoured)
//!
//! [llm.cassette]                          # only read when provider = "cassette"
//! file = "cassette.json"                  # relative to petrel.toml
//! mode = "replay"                         # "replay": answer from the file only;
//!                                         # "record": answer from the file, else ask the
//!                                         # OpenAI-compatible endpoint above and append
//!
//! [server]                                # read by `petrel serve`
//! token_env = "PETREL_API_TOKEN"          # NAME of the env var holding the API's bearer token
//! nets_dir = "nets"                       # `POST /v1/nets` may deploy `{"path"}` only from
//!                                         # here (relative to petrel.toml); absent: never
//! max_connections = 256                   # connections open at once (more wait to be accepted)
//! max_requests = 64                       # requests in flight at once (more get 503)
//! max_event_streams = 32                  # `GET /v1/events` streams open at once (more get 503)
//! request_timeout_ms = 60000              # one request, long polls included (503 beyond)
//! header_timeout_ms = 10000               # to receive a request's headers
//!
//! [limits]                                # the host's ceilings: see `petrel::limits`
//! timeout_ms = 60000                      # e.g. the longest guest deadline a net may ask
//!
//! [retention]                             # absent: `petrel serve` compacts nothing
//! keep_last = 1000                        # finished cases kept whole, the newest (default 0)
//! finished_before = "7d"                  # only cases finished this long ago (default "0s")
//! interval = "1h"                         # how often `petrel serve` compacts (at least 1s)
//! max_cases = 10000                       # most cases one run compacts (1 to 1000000)
//! archive_dir = "archive"                 # relative to petrel.toml; absent: DATA/archive
//! [telemetry]                             # OpenTelemetry traces (`petrel serve`, `run`, `start`)
//! otlp_endpoint = "http://127.0.0.1:4318" # base URL of an OTLP/HTTP receiver (protobuf);
//!                                         # spans go to {otlp_endpoint}/v1/traces. Absent:
//!                                         # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
//!                                         # (the environment wins over this field);
//!                                         # OTEL_SERVICE_NAME names the service (default petrel)
//! record_llm_bodies = false               # put prompts and answers on LLM spans (the API key,
//!                                         # never)
//! ```
//!
//! Retries, backoff and every attempt stay inside the firing's deadline and
//! the transition's `llm.call_timeout_ms` (net file). [`Config::load`]
//! refuses a bad file with a [`ConfigError`] naming the file, line and field.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::limits::HostLimits;
use crate::llm::{LlmConfig, LlmProvider, SetupError};
use llm::RawLlm;
pub use telemetry::TelemetrySettings;

mod limits;
mod llm;
mod retention;

pub use retention::RetentionSettings;
pub use retention::parse_duration;
mod store;
mod telemetry;
pub use store::{MAX_POOL_SIZE, StoreSettings, check_lease_ms};

/// The parsed `petrel.toml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The `[llm]` table; `None` when the file has none.
    pub llm: Option<LlmConfig>,
    /// The `[server]` table (defaults when the file has none).
    pub server: ServerSettings,
    /// The `[limits]` table: the host's ceilings (defaults when absent).
    pub limits: HostLimits,
    /// The `[retention]` table; `None` when the file has none.
    pub retention: Option<RetentionSettings>,
    /// The `[telemetry]` table: where traces go (defaults when absent).
    pub telemetry: TelemetrySettings,
    /// The `[store]` table: a PostgreSQL database instead of the data
    /// directory's store (defaults when absent).
    pub store: StoreSettings,
}

/// The `[server]` table: settings of `petrel serve`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Name of the environment variable holding the API's bearer token
    /// (`--token-env` overrides it; default `PETREL_API_TOKEN`).
    #[serde(default)]
    pub token_env: Option<String>,
    /// The directory `POST /v1/nets` may deploy `{"path": ...}` from
    /// (resolved against the config file's directory); `None`: deploying
    /// by path over HTTP is refused.
    #[serde(default)]
    pub nets_dir: Option<PathBuf>,
    /// Connections open at once (default 256; more wait to be accepted).
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// Requests in flight at once (default 64; more get 503 `unavailable`).
    #[serde(default)]
    pub max_requests: Option<u32>,
    /// `GET /v1/events` streams open at once (default 32; more get 503).
    #[serde(default)]
    pub max_event_streams: Option<u32>,
    /// Longest one request may take, long polls included (default 60000).
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
    /// Longest a client may take to send a request's headers (default 10000).
    #[serde(default)]
    pub header_timeout_ms: Option<u64>,
}

/// A configuration file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file `{}`: {source}", file.display())]
    Read {
        /// The config file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown field.
    #[error("{}:{line}: {message}", file.display())]
    Syntax {
        /// The config file.
        file: PathBuf,
        /// 1-based line (0 when the parser gave none).
        line: usize,
        /// What the TOML parser said.
        message: String,
    },
    /// A field has a value Petrel cannot use.
    #[error("{}:{line}: `{field}`: {message}", file.display())]
    Invalid {
        /// The config file.
        file: PathBuf,
        /// 1-based line of the field.
        line: usize,
        /// Dotted path of the field (`llm.base_url`).
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The environment variable that should hold the API key is not set.
    #[error(
        "{}:{line}: `llm.api_key_env`: the environment variable `{var}` is not set (export the key in it, or set `api_key_env = \"\"` for an endpoint that needs none)",
        file.display()
    )]
    MissingKey {
        /// The config file.
        file: PathBuf,
        /// Line of `api_key_env` (of `[llm]` when the default is used).
        line: usize,
        /// The variable's name.
        var: String,
    },
    /// The provider could not be set up (cassette unreadable, HTTP client).
    #[error("llm provider: {message}")]
    Provider {
        /// What went wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    llm: Option<Spanned<RawLlm>>,
    #[serde(default)]
    server: ServerSettings,
    limits: Option<limits::RawLimits>,
    retention: Option<retention::RawRetention>,
    telemetry: Option<telemetry::RawTelemetry>,
    store: Option<store::RawStore>,
}

/// Turns byte spans into errors that name the file, line and field.
pub(crate) struct Ctx<'a> {
    pub(crate) file: &'a Path,
    source: &'a str,
}

impl Ctx<'_> {
    pub(crate) fn line(&self, span: Range<usize>) -> usize {
        crate::net::line_at(self.source, span.start)
    }

    pub(crate) fn err(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            line: self.line(span),
            field: field.into(),
            message: message.into(),
        }
    }

    /// `u` as an http(s) URL without credentials and without a trailing
    /// `/`; `example` shows a good one, `secret` says where credentials go.
    pub(crate) fn http_url(
        &self,
        u: &Spanned<String>,
        field: &str,
        example: &str,
        secret: &str,
    ) -> Result<String, ConfigError> {
        let text = u.get_ref().trim_end_matches('/');
        match reqwest::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(self.err(
                        u.span(),
                        field,
                        format!("the URL carries credentials (put {secret} instead)"),
                    ));
                }
                Ok(text.to_string())
            }
            Ok(_) => Err(self.err(
                u.span(),
                field,
                format!("`{text}` is not an http(s) URL (expected e.g. `{example}`)"),
            )),
            Err(e) => Err(self.err(
                u.span(),
                field,
                format!("`{text}` is not a URL: {e} (expected e.g. `{example}`)"),
            )),
        }
    }
}

impl Config {
    /// Reads and checks the config file at `file`.
    pub fn load(file: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let file = file.as_ref();
        let source = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Config::parse(&source, file)
    }

    /// Checks `source` as the text of the config file `file` (which names it
    /// in errors and anchors relative paths).
    pub fn parse(source: &str, file: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let file = file.as_ref();
        let cx = Ctx { file, source };
        let raw: RawConfig = toml::from_str(source).map_err(|e| ConfigError::Syntax {
            file: file.to_path_buf(),
            line: e.span().map_or(0, |s| cx.line(s)),
            message: e.message().trim().to_string(),
        })?;
        let llm = raw
            .llm
            .as_ref()
            .map(|raw| llm::from_raw(&cx, raw))
            .transpose()?;
        let limits = match &raw.limits {
            Some(raw) => limits::parse(&cx, raw)?,
            None => HostLimits::default(),
        };
        let telemetry = match &raw.telemetry {
            Some(raw) => telemetry::parse(&cx, raw)?,
            None => TelemetrySettings::default(),
        };
        let mut server = raw.server;
        if let Some(dir) = &server.nets_dir {
            let base = file.parent().unwrap_or(Path::new("."));
            server.nets_dir = Some(base.join(dir));
        }
        let retention = raw
            .retention
            .as_ref()
            .map(|raw| retention::parse(&cx, raw))
            .transpose()?;
        let store = raw
            .store
            .as_ref()
            .map(|raw| store::parse(&cx, raw))
            .transpose()?
            .unwrap_or_default();
        Ok(Config {
            llm,
            server,
            limits,
            retention,
            telemetry,
            store,
        })
    }

    /// The language model the `[llm]` table describes (`None` without one),
    /// with its API key read from the environment.
    pub fn llm_provider(&self) -> Result<Option<Arc<dyn LlmProvider>>, ConfigError> {
        let Some(llm) = &self.llm else {
            return Ok(None);
        };
        crate::llm::provider(llm).map(Some).map_err(|e| match e {
            SetupError::MissingKey { var } => ConfigError::MissingKey {
                file: llm.key_origin.0.clone(),
                line: llm.key_origin.1,
                var,
            },
            SetupError::Provider { message } => ConfigError::Provider { message },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_table_names_the_token_variable() {
        let config = Config::parse("[server]\ntoken_env = \"MY_TOKEN\"\n", "petrel.toml").unwrap();
        assert_eq!(config.server.token_env.as_deref(), Some("MY_TOKEN"));
        assert_eq!(
            Config::parse("", "petrel.toml").unwrap().server,
            ServerSettings::default()
        );
        let err = Config::parse("[server]\ntoken = \"x\"\n", "petrel.toml").unwrap_err();
        assert!(err.to_string().contains("token"), "{err}");
    }
}
