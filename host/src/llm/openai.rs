//! An OpenAI-compatible chat-completions client (OpenAI, vLLM, llama.cpp
//! server, Ollama's `/v1`, ...).
//!
//! `POST {base_url}/chat/completions` with `model`, `messages` (the system
//! prompt first), `max_tokens`, `temperature` and, for a JSON schema,
//! `response_format = {type: "json_schema", json_schema: {name, schema}}`;
//! reads `choices[0].message.content`, `model` and
//! `usage.{prompt,completion}_tokens`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::SetupError;
use super::error::preview;
use super::retry::{AttemptError, RetryPolicy, parse_retry_after};
use super::{
    Answer, BoxFuture, ChatRequest, ChatResponse, LlmConfig, LlmProvider, ProviderError, Secret,
    Usage,
};

/// Bytes of an error body kept in messages.
const MAX_ERROR_BODY: usize = 300;
/// Time allowed to open a connection (the attempt's own timeout still applies).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of one OpenAI-compatible endpoint.
pub struct OpenAiProvider {
    client: reqwest::Client,
    url: String,
    model: String,
    key: Option<Secret>,
    request_timeout: Duration,
    retry: RetryPolicy,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("key", &self.key.as_ref().map(|_| super::secret::REDACTED))
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Completion {
    model: Option<String>,
    choices: Vec<Choice>,
    usage: Option<RawUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct RawUsage {
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
}

impl OpenAiProvider {
    /// A client for the endpoint `config` names, sending `key` (if any) as a
    /// bearer token.
    pub fn new(config: &LlmConfig, key: Option<Secret>) -> Result<OpenAiProvider, SetupError> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("petrel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SetupError::Provider {
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(OpenAiProvider {
            client,
            url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
            model: config.model.clone(),
            key,
            request_timeout: config.request_timeout,
            retry: config.retry,
        })
    }

    /// The endpoint called.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn body(&self, request: &ChatRequest) -> Result<Value, ProviderError> {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if let Some(system) = &request.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        for m in &request.messages {
            messages.push(json!({ "role": m.role, "content": m.content }));
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_output_tokens,
            "stream": false,
        });
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(schema) = &request.json_schema {
            let schema: Value =
                serde_json::from_str(schema).map_err(|e| ProviderError::RefusedByPolicy {
                    message: format!("the request's json-schema is not JSON: {e}"),
                })?;
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": { "name": "answer", "schema": schema },
            });
        }
        Ok(body)
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(key) = &self.key
            && let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
        {
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        headers
    }

    fn scrub(&self, text: &str) -> String {
        match &self.key {
            Some(key) => key.redact(text),
            None => text.to_string(),
        }
    }

    /// What a reqwest error says, with its causes, scrubbed.
    fn describe(&self, err: &reqwest::Error) -> String {
        let mut message = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        self.scrub(&message)
    }

    async fn attempt(&self, body: &Value, left: Duration) -> Result<ChatResponse, AttemptError> {
        let timeout = self.request_timeout.min(left);
        let started = Instant::now();
        let sent = self
            .client
            .post(&self.url)
            .headers(self.headers())
            .timeout(timeout)
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Err(ProviderError::Timeout {
                    after_ms: started.elapsed().as_millis() as u64,
                }
                .into());
            }
            Err(e) => {
                return Err(ProviderError::Connect {
                    message: self.describe(&e),
                }
                .into());
            }
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) if e.is_timeout() => {
                return Err(ProviderError::Timeout {
                    after_ms: started.elapsed().as_millis() as u64,
                }
                .into());
            }
            Err(e) => {
                return Err(ProviderError::Connect {
                    message: self.describe(&e),
                }
                .into());
            }
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(AttemptError {
                error: ProviderError::RateLimited {
                    retry_after_ms: retry_after.map(|d| d.as_millis() as u64),
                },
                retry_after,
            });
        }
        if !status.is_success() {
            return Err(AttemptError {
                error: ProviderError::Status {
                    status: status.as_u16(),
                    message: preview(&self.scrub(text.trim()), MAX_ERROR_BODY),
                },
                retry_after,
            });
        }
        self.parse(&text).map_err(AttemptError::from)
    }

    fn parse(&self, text: &str) -> Result<ChatResponse, ProviderError> {
        let malformed = |message: String| ProviderError::Malformed { message };
        let completion: Completion = serde_json::from_str(text).map_err(|e| {
            malformed(format!(
                "{e} (body starts `{}`)",
                preview(&self.scrub(text.trim()), 120)
            ))
        })?;
        let Some(choice) = completion.choices.into_iter().next() else {
            return Err(malformed("no choices".into()));
        };
        let content = match (choice.message.content, choice.message.refusal) {
            (Some(c), _) => c,
            (None, Some(refusal)) => {
                return Err(malformed(format!(
                    "the model refused: {}",
                    preview(&self.scrub(&refusal), MAX_ERROR_BODY)
                )));
            }
            (None, None) => return Err(malformed("the first choice has no content".into())),
        };
        let usage = completion.usage.map_or_else(Usage::default, |u| Usage {
            input_tokens: u.prompt_tokens.unwrap_or(0),
            output_tokens: u.completion_tokens.unwrap_or(0),
        });
        Ok(ChatResponse {
            text: self.scrub(&content),
            model: completion.model.unwrap_or_else(|| self.model.clone()),
            usage,
        })
    }
}

/// `retry-after-ms` (OpenAI) or `Retry-After` in seconds.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_millis(ms));
    }
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

impl LlmProvider for OpenAiProvider {
    fn name(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        deadline: Instant,
    ) -> BoxFuture<'a, Answer> {
        Box::pin(async move {
            let body = match self.body(request) {
                Ok(b) => b,
                Err(e) => {
                    return Answer {
                        result: Err(e),
                        attempts: 0,
                    };
                }
            };
            let (result, attempts) = self
                .retry
                .run(deadline, |left| self.attempt(&body, left))
                .await;
            Answer { result, attempts }
        })
    }

    fn redact(&self, text: &str) -> String {
        self.scrub(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> OpenAiProvider {
        OpenAiProvider::new(
            &LlmConfig::openai("http://127.0.0.1:9/v1/", "m"),
            Some(Secret::new("sk-secret-1234")),
        )
        .unwrap()
    }

    #[test]
    fn the_body_is_a_chat_completion_request() {
        let p = provider();
        assert_eq!(p.url(), "http://127.0.0.1:9/v1/chat/completions");
        let mut r = ChatRequest::user("hi");
        r.system = Some("be brief".into());
        r.temperature = Some(0.0);
        r.json_schema = Some(r#"{"type":"object"}"#.into());
        r.max_output_tokens = 50;
        assert_eq!(
            p.body(&r).unwrap(),
            json!({
                "model": "m",
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                "max_tokens": 50,
                "stream": false,
                "temperature": 0.0,
                "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}},
            })
        );
        r.json_schema = Some("{not json".into());
        assert!(matches!(
            p.body(&r),
            Err(ProviderError::RefusedByPolicy { .. })
        ));
    }

    #[test]
    fn answers_parse_and_bad_ones_are_malformed() {
        let p = provider();
        let ok = p
            .parse(r#"{"model":"m-1","choices":[{"message":{"role":"assistant","content":"yes"}}],"usage":{"prompt_tokens":7,"completion_tokens":1}}"#)
            .unwrap();
        assert_eq!(ok.text, "yes");
        assert_eq!(ok.model, "m-1");
        assert_eq!(
            ok.usage,
            Usage {
                input_tokens: 7,
                output_tokens: 1
            }
        );
        for bad in [
            "not json",
            r#"{"choices":[]}"#,
            r#"{"choices":[{"message":{}}]}"#,
        ] {
            assert!(
                matches!(p.parse(bad), Err(ProviderError::Malformed { .. })),
                "{bad}"
            );
        }
        let echoed = p
            .parse(r#"{"choices":[{"message":{"content":"key sk-secret-1234"}}]}"#)
            .unwrap();
        assert_eq!(echoed.text, "key [redacted]");
        assert!(!format!("{p:?}").contains("sk-secret"));
    }

    #[test]
    fn the_authorization_header_is_sensitive() {
        let headers = provider().headers();
        let value = headers.get(AUTHORIZATION).unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{headers:?}").contains("sk-secret"));
    }
}
