//! A guest that asks the host's language model several questions in a row:
//! it consumes a `prompts` token `{prompts: [string], max_output_tokens?: u32}`,
//! asks each prompt in order until one fails, and fires `answered`, putting
//! `{answers: [string], calls: u32, error: string?, error_kind: string?}`
//! into `answers`.
//!
//! Tests use it to exceed budgets, to cut a firing between two calls, and to
//! see what a guest is told.
//!
//! Imports `petrel:transition/llm`: grant it.

use petrel_guest::llm::{self, LlmError, Request};
use petrel_guest::{Decision, Error, Firing, Transition};
use serde::{Deserialize, Serialize};

/// The questions.
#[derive(Debug, Serialize, Deserialize)]
struct Prompts {
    prompts: Vec<String>,
    #[serde(default)]
    max_output_tokens: Option<u32>,
}

/// What came back.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Answers {
    answers: Vec<String>,
    calls: u32,
    error: Option<String>,
    error_kind: Option<String>,
}

fn kind(err: &LlmError) -> &'static str {
    match err {
        LlmError::Timeout => "timeout",
        LlmError::RateLimited => "rate_limited",
        LlmError::BudgetExceeded => "budget_exceeded",
        LlmError::Provider(_) => "provider_error",
        LlmError::RefusedByPolicy(_) => "refused_by_policy",
        LlmError::NotConfigured => "not_configured",
        LlmError::InvalidAnswer { .. } => "invalid_answer",
    }
}

struct Chain;

impl Transition for Chain {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let Prompts {
            prompts,
            max_output_tokens,
        } = firing.input("prompts")?;
        let mut out = Answers::default();
        for prompt in prompts {
            out.calls += 1;
            let request = Request::new()
                .user(prompt)
                .max_output_tokens(max_output_tokens.unwrap_or(16))
                .temperature(0.0);
            match llm::complete(request) {
                Ok(response) => out.answers.push(response.text),
                Err(err) => {
                    out.error_kind = Some(kind(&err).to_string());
                    out.error = Some(err.to_string());
                    break;
                }
            }
        }
        Decision::fire("answered").token("answers", &out)
    }
}

petrel_guest::transition!(Chain);
