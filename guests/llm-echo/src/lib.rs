//! A guest that asks the host's language model: it consumes a `prompt` token
//! `{prompt: string}` and fires `answered`, putting `{text, model}` into
//! `answer`. An LLM error fails the firing (retryable or not, as the error
//! says).
//!
//! Imports `petrel:transition/llm` and `petrel:transition/log`: grant both.

use petrel_guest::llm::{self, Request};
use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

/// The question.
#[derive(Debug, Serialize, Deserialize)]
struct Prompt {
    prompt: String,
}

/// The model's answer.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    text: String,
    model: String,
}

struct Echo;

impl Transition for Echo {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let Prompt { prompt } = firing.input("prompt")?;
        let response = llm::complete(
            Request::new()
                .system("Answer in one short sentence.")
                .user(prompt)
                .max_output_tokens(100)
                .temperature(0.0),
        )?;
        log::info(format!(
            "{} answered with {} tokens",
            response.model, response.usage.output_tokens
        ));
        let answer = Answer {
            text: response.text,
            model: response.model,
        };
        Decision::fire("answered").token("answer", &answer)
    }
}

petrel_guest::transition!(Echo);
