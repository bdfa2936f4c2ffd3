//! A cassette: answers recorded in a file, so demos and tests run offline
//! and deterministically.
//!
//! The file is JSON:
//!
//! ```json
//! {
//!   "petrel_cassette": 1,
//!   "interactions": [
//!     {
//!       "request_hash": "…",
//!       "request": { "system": "…", "messages": [{ "role": "user", "content": "…" }], "max_output_tokens": 50, "temperature": 0.0 },
//!       "response": { "text": "{\"intent\":\"refund\"}", "model": "gpt-4o-mini", "usage": { "input_tokens": 60, "output_tokens": 8 } },
//!       "delay_ms": 0
//!     }
//!   ]
//! }
//! ```
//!
//! A request is answered by the interaction whose `request` is equal to it
//! (compared by [`ChatRequest::hash`]; `request_hash` is informative).
//! `delay_ms` (default 0) makes the answer wait, like a slow model: past the
//! deadline it is a timeout. In record mode a request the cassette lacks goes
//! to the real endpoint, and its answer is appended to the file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::SetupError;
use super::settings::{CassetteConfig, CassetteMode};
use super::{
    Answer, BoxFuture, ChatRequest, ChatResponse, LlmProvider, OpenAiProvider, ProviderError,
};

/// Format version written and read.
const FORMAT: u32 = 1;

/// One recorded interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// [`ChatRequest::hash`] of `request` (recomputed on load).
    #[serde(default)]
    pub request_hash: String,
    /// The request.
    pub request: ChatRequest,
    /// Its answer.
    pub response: ChatResponse,
    /// How long the answer takes.
    #[serde(default, skip_serializing_if = "crate::store::is_zero")]
    pub delay_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct File {
    petrel_cassette: u32,
    interactions: Vec<Interaction>,
}

/// Answers from a cassette file (and, recording, from the real endpoint).
pub struct CassetteProvider {
    file: PathBuf,
    model: String,
    interactions: tokio::sync::Mutex<IndexMap<String, Interaction>>,
    upstream: Option<OpenAiProvider>,
}

impl std::fmt::Debug for CassetteProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CassetteProvider")
            .field("file", &self.file)
            .field("recording", &self.upstream.is_some())
            .finish_non_exhaustive()
    }
}

fn read(file: &Path) -> Result<Vec<Interaction>, SetupError> {
    let text = std::fs::read_to_string(file).map_err(|e| SetupError::Provider {
        message: format!(
            "cannot read cassette `{}`: {e} (record one with `mode = \"record\"` under `[llm.cassette]`)",
            file.display()
        ),
    })?;
    let parsed: File = serde_json::from_str(&text).map_err(|e| SetupError::Provider {
        message: format!(
            "cassette `{}` is not a Petrel cassette: {e}",
            file.display()
        ),
    })?;
    if parsed.petrel_cassette != FORMAT {
        return Err(SetupError::Provider {
            message: format!(
                "cassette `{}` has format {} (expected {FORMAT})",
                file.display(),
                parsed.petrel_cassette
            ),
        });
    }
    Ok(parsed.interactions)
}

impl CassetteProvider {
    /// Opens the cassette `config` names. With `upstream` (record mode) a
    /// missing file is an empty cassette.
    pub fn open(
        config: &CassetteConfig,
        upstream: Option<OpenAiProvider>,
    ) -> Result<CassetteProvider, SetupError> {
        let recording = config.mode == CassetteMode::Record && upstream.is_some();
        let list = if recording && !config.file.exists() {
            Vec::new()
        } else {
            read(&config.file)?
        };
        Ok(CassetteProvider::new(
            config.file.clone(),
            list,
            if recording { upstream } else { None },
        ))
    }

    /// A cassette holding `interactions` (tests, embedders), kept in `file`.
    pub fn new(
        file: PathBuf,
        interactions: Vec<Interaction>,
        upstream: Option<OpenAiProvider>,
    ) -> CassetteProvider {
        let model = upstream
            .as_ref()
            .map(|u| u.model().to_string())
            .or_else(|| interactions.first().map(|i| i.response.model.clone()))
            .unwrap_or_else(|| "cassette".to_string());
        let interactions = interactions
            .into_iter()
            .map(|mut i| {
                i.request_hash = i.request.hash();
                (i.request_hash.clone(), i)
            })
            .collect();
        CassetteProvider {
            file,
            model,
            interactions: tokio::sync::Mutex::new(interactions),
            upstream,
        }
    }

    /// Names the model it stands in for (the configured one), as the event
    /// log shows it.
    pub fn with_model(mut self, model: impl Into<String>) -> CassetteProvider {
        self.model = model.into();
        self
    }

    /// Writes the cassette (whole file, via a temp file and a rename).
    fn save(&self, interactions: &IndexMap<String, Interaction>) -> std::io::Result<()> {
        let file = File {
            petrel_cassette: FORMAT,
            interactions: interactions.values().cloned().collect(),
        };
        let mut text = serde_json::to_string_pretty(&file).map_err(std::io::Error::other)?;
        text.push('\n');
        let tmp = self.file.with_extension("json.tmp");
        if let Some(dir) = self.file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.file)
    }

    async fn answer(&self, request: &ChatRequest, deadline: Instant) -> Answer {
        let hash = request.hash();
        let found = self.interactions.lock().await.get(&hash).cloned();
        if let Some(i) = found {
            let delay = Duration::from_millis(i.delay_ms);
            let started = Instant::now();
            if started + delay > deadline {
                tokio::time::sleep_until(deadline.into()).await;
                let after_ms = started.elapsed().as_millis() as u64;
                return Answer {
                    result: Err(ProviderError::Timeout { after_ms }),
                    attempts: 0,
                };
            }
            tokio::time::sleep(delay).await;
            return Answer {
                result: Ok(i.response),
                attempts: 0,
            };
        }
        let Some(upstream) = &self.upstream else {
            return Answer {
                result: Err(ProviderError::NotRecorded {
                    cassette: self.file.display().to_string(),
                    request_hash: hash,
                }),
                attempts: 0,
            };
        };
        let answer = upstream.complete(request, deadline).await;
        if let Ok(response) = &answer.result {
            let mut interactions = self.interactions.lock().await;
            interactions.insert(
                hash.clone(),
                Interaction {
                    request_hash: hash,
                    request: request.clone(),
                    response: response.clone(),
                    delay_ms: 0,
                },
            );
            if let Err(e) = self.save(&interactions) {
                tracing::warn!(cassette = %self.file.display(), cause = %e, "cannot write the cassette");
            }
        }
        answer
    }
}

impl LlmProvider for CassetteProvider {
    fn name(&self) -> &str {
        "cassette"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        deadline: Instant,
    ) -> BoxFuture<'a, Answer> {
        Box::pin(self.answer(request, deadline))
    }

    fn redact(&self, text: &str) -> String {
        match &self.upstream {
            Some(u) => u.redact(text),
            None => text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Usage;

    fn interaction(prompt: &str, text: &str, delay_ms: u64) -> Interaction {
        Interaction {
            request_hash: String::new(),
            request: ChatRequest::user(prompt),
            response: ChatResponse {
                text: text.into(),
                model: "m".into(),
                usage: Usage {
                    input_tokens: 3,
                    output_tokens: 1,
                },
            },
            delay_ms,
        }
    }

    #[tokio::test]
    async fn answers_recorded_requests_only_and_slow_ones_time_out() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        let c = CassetteProvider::new(
            file.clone(),
            vec![interaction("a", "A", 0), interaction("slow", "S", 5_000)],
            None,
        );
        c.save(&*c.interactions.lock().await).unwrap();
        let c = CassetteProvider::open(
            &CassetteConfig {
                file,
                mode: CassetteMode::Replay,
            },
            None,
        )
        .unwrap();
        assert_eq!(c.model(), "m");
        let soon = Instant::now() + Duration::from_millis(100);
        assert_eq!(
            c.complete(&ChatRequest::user("a"), soon)
                .await
                .result
                .unwrap()
                .text,
            "A"
        );
        let miss = c
            .complete(&ChatRequest::user("b"), soon)
            .await
            .result
            .unwrap_err();
        assert!(matches!(miss, ProviderError::NotRecorded { .. }), "{miss}");
        assert!(miss.to_string().contains("mode = \"record\""));
        let slow = c
            .complete(&ChatRequest::user("slow"), soon)
            .await
            .result
            .unwrap_err();
        assert!(matches!(slow, ProviderError::Timeout { .. }), "{slow}");
    }

    #[test]
    fn a_missing_cassette_is_refused_in_replay_mode() {
        let err = CassetteProvider::open(
            &CassetteConfig {
                file: "no/such/cassette.json".into(),
                mode: CassetteMode::Replay,
            },
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot read cassette `no/such/cassette.json`"),
            "{err}"
        );
    }
}
