//! The `[llm]` table of `petrel.toml` (documented in [`crate::config`]),
//! read into the llm module's [`LlmConfig`].

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Ctx};
use crate::llm::{
    CassetteConfig, CassetteMode, DEFAULT_API_KEY_ENV, DEFAULT_BASE_URL, DEFAULT_CASSETTE_FILE,
    DEFAULT_MODEL, DEFAULT_REQUEST_TIMEOUT_MS, LlmConfig, ProviderKind, RetryPolicy,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLlm {
    provider: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    model: Option<Spanned<String>>,
    api_key_env: Option<Spanned<String>>,
    request_timeout_ms: Option<Spanned<u64>>,
    max_retries: Option<Spanned<u32>>,
    backoff_initial_ms: Option<Spanned<u64>>,
    backoff_max_ms: Option<Spanned<u64>>,
    cassette: Option<Spanned<RawCassette>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCassette {
    file: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

fn positive(cx: &Ctx<'_>, v: &Spanned<u64>, field: &str) -> Result<u64, ConfigError> {
    match *v.get_ref() {
        0 => Err(cx.err(
            v.span(),
            field,
            "0 is not allowed (expected a positive number of milliseconds)",
        )),
        n => Ok(n),
    }
}

/// Reads the `[llm]` table.
pub(super) fn from_raw(cx: &Ctx<'_>, raw: &Spanned<RawLlm>) -> Result<LlmConfig, ConfigError> {
    let span = raw.span();
    let r = raw.get_ref();
    let provider = match r.provider.as_ref().map(|p| (p.get_ref().as_str(), p)) {
        None | Some(("openai", _)) => ProviderKind::OpenAi,
        Some(("cassette", _)) => ProviderKind::Cassette,
        Some((other, p)) => {
            return Err(cx.err(
                    p.span(),
                    "llm.provider",
                    format!("unknown provider `{other}` (expected `openai` for any OpenAI-compatible endpoint, or `cassette`)"),
                ));
        }
    };
    let base_url = match &r.base_url {
        None => DEFAULT_BASE_URL.to_string(),
        Some(u) => cx.http_url(
            u,
            "llm.base_url",
            "https://api.openai.com/v1",
            "the key in the environment variable named by `api_key_env`",
        )?,
    };
    let model = match &r.model {
        None => DEFAULT_MODEL.to_string(),
        Some(m) if m.get_ref().trim().is_empty() => {
            return Err(cx.err(
                m.span(),
                "llm.model",
                "empty model name (expected e.g. `gpt-4o-mini` or `llama3.1`)",
            ));
        }
        Some(m) => m.get_ref().clone(),
    };
    let (api_key_env, key_line_span) = match &r.api_key_env {
        None => (DEFAULT_API_KEY_ENV.to_string(), span.clone()),
        Some(k) => {
            let name = k.get_ref();
            let ok = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !ok {
                return Err(cx.err(k.span(), "llm.api_key_env", "expected the NAME of an environment variable (letters, digits, `_`), not the key itself; \"\" for an endpoint without a key"));
            }
            (name.clone(), k.span())
        }
    };
    let request_timeout = match &r.request_timeout_ms {
        None => Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS),
        Some(v) => Duration::from_millis(positive(cx, v, "llm.request_timeout_ms")?),
    };
    let mut retry = RetryPolicy::default();
    if let Some(v) = &r.max_retries {
        if *v.get_ref() > 20 {
            return Err(cx.err(
                v.span(),
                "llm.max_retries",
                format!("{} retries is too many (expected at most 20)", v.get_ref()),
            ));
        }
        retry.max_retries = *v.get_ref();
    }
    if let Some(v) = &r.backoff_initial_ms {
        retry.initial = Duration::from_millis(positive(cx, v, "llm.backoff_initial_ms")?);
    }
    if let Some(v) = &r.backoff_max_ms {
        retry.max = Duration::from_millis(positive(cx, v, "llm.backoff_max_ms")?);
    }
    if retry.max < retry.initial {
        let at = r
            .backoff_max_ms
            .as_ref()
            .map_or(span.clone(), Spanned::span);
        return Err(cx.err(
            at,
            "llm.backoff_max_ms",
            format!(
                "{} ms is below backoff_initial_ms ({} ms)",
                retry.max.as_millis(),
                retry.initial.as_millis()
            ),
        ));
    }
    let dir = cx.file.parent().unwrap_or(Path::new("."));
    let mut cassette = CassetteConfig {
        file: dir.join(DEFAULT_CASSETTE_FILE),
        mode: CassetteMode::Replay,
    };
    if let Some(c) = &r.cassette {
        let c = c.get_ref();
        if let Some(f) = &c.file {
            if f.get_ref().trim().is_empty() {
                return Err(cx.err(
                    f.span(),
                    "llm.cassette.file",
                    "empty path (expected a file, e.g. `cassette.json`)",
                ));
            }
            cassette.file = dir.join(f.get_ref());
        }
        if let Some(m) = &c.mode {
            cassette.mode = match m.get_ref().as_str() {
                "replay" => CassetteMode::Replay,
                "record" => CassetteMode::Record,
                other => {
                    return Err(cx.err(
                        m.span(),
                        "llm.cassette.mode",
                        format!("unknown mode `{other}` (expected `replay` or `record`)"),
                    ));
                }
            };
        }
    }
    let key_origin = (cx.file.to_path_buf(), cx.line(key_line_span));
    Ok(LlmConfig {
        provider,
        base_url,
        model,
        api_key_env,
        request_timeout,
        retry,
        cassette,
        key_origin,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::*;

    fn err(text: &str) -> String {
        Config::parse(text, "conf/petrel.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn an_empty_file_configures_nothing_and_an_empty_table_has_defaults() {
        assert_eq!(Config::parse("", "petrel.toml").unwrap().llm, None);
        let llm = Config::parse("[llm]\n", "conf/petrel.toml")
            .unwrap()
            .llm
            .unwrap();
        assert_eq!(llm.provider, ProviderKind::OpenAi);
        assert_eq!(llm.base_url, DEFAULT_BASE_URL);
        assert_eq!(llm.model, DEFAULT_MODEL);
        assert_eq!(llm.api_key_env, DEFAULT_API_KEY_ENV);
        assert_eq!(llm.request_timeout, Duration::from_secs(30));
        assert_eq!(llm.retry, RetryPolicy::default());
        assert_eq!(llm.cassette.file, Path::new("conf/cassette.json"));
        assert_eq!(llm.cassette.mode, CassetteMode::Replay);
    }

    #[test]
    fn every_field_is_read() {
        let text = r#"
[llm]
provider = "cassette"
base_url = "http://127.0.0.1:11434/v1/"
model = "llama3.1"
api_key_env = ""
request_timeout_ms = 500
max_retries = 1
backoff_initial_ms = 10
backoff_max_ms = 20
cassette = { file = "tapes/refund.json", mode = "record" }
"#;
        let llm = Config::parse(text, "conf/petrel.toml")
            .unwrap()
            .llm
            .unwrap();
        assert_eq!(llm.provider, ProviderKind::Cassette);
        assert_eq!(llm.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(llm.model, "llama3.1");
        assert_eq!(llm.api_key_env, "");
        assert_eq!(llm.request_timeout, Duration::from_millis(500));
        assert_eq!(llm.retry.max_retries, 1);
        assert_eq!(llm.retry.initial, Duration::from_millis(10));
        assert_eq!(llm.retry.max, Duration::from_millis(20));
        assert_eq!(llm.cassette.file, Path::new("conf/tapes/refund.json"));
        assert_eq!(llm.cassette.mode, CassetteMode::Record);
        assert!(llm.needs_endpoint());
    }

    #[test]
    fn bad_fields_name_file_line_and_field() {
        assert_eq!(
            err("[llm]\nprovider = \"anthropic\"\n"),
            "conf/petrel.toml:2: `llm.provider`: unknown provider `anthropic` (expected `openai` for any OpenAI-compatible endpoint, or `cassette`)"
        );
        assert!(
            err("[llm]\n\nbase_url = \"ftp://x\"\n")
                .starts_with("conf/petrel.toml:3: `llm.base_url`: `ftp://x` is not an http(s) URL")
        );
        assert!(err("[llm]\nbase_url = \"https://u:p@x/v1\"\n").contains("carries credentials"));
        assert!(
            err("[llm]\napi_key_env = \"sk-abc123-secret\"\n")
                .starts_with("conf/petrel.toml:2: `llm.api_key_env`: expected the NAME")
        );
        assert!(
            err("[llm]\nrequest_timeout_ms = 0\n")
                .contains("`llm.request_timeout_ms`: 0 is not allowed")
        );
        assert!(err("[llm]\nmax_retries = 99\n").contains("`llm.max_retries`"));
        assert!(
            err("[llm]\nbackoff_initial_ms = 100\nbackoff_max_ms = 10\n")
                .starts_with("conf/petrel.toml:3: `llm.backoff_max_ms`")
        );
        assert!(
            err("[llm.cassette]\nmode = \"rewind\"\n")
                .contains("`llm.cassette.mode`: unknown mode `rewind`")
        );
        assert!(
            err("[llm]\nmodle = \"x\"\n").starts_with("conf/petrel.toml:2: unknown field `modle`"),
            "{}",
            err("[llm]\nmodle = \"x\"\n")
        );
        assert!(err("[llms]\n").starts_with("conf/petrel.toml:1: unknown field `llms`"));
    }
}
