//! The host side of the `llm` import: WIT records ⇄ [`crate::llm`] types,
//! answered by the firing's [`LlmSession`](crate::llm::LlmSession).

use super::bindings::llm;
use super::state::GuestState;
use crate::llm::{ChatMessage, ChatRequest, ChatResponse, ProviderError};

fn request(r: llm::Request) -> ChatRequest {
    ChatRequest {
        system: r.system,
        messages: r
            .messages
            .into_iter()
            .map(|m| ChatMessage {
                role: m.role,
                content: m.content,
            })
            .collect(),
        max_output_tokens: r.max_output_tokens,
        temperature: r.temperature,
        json_schema: r.json_schema,
    }
}

fn response(r: ChatResponse) -> llm::Response {
    llm::Response {
        text: r.text,
        model: r.model,
        usage: llm::Usage {
            input_tokens: r.usage.input_tokens,
            output_tokens: r.usage.output_tokens,
        },
    }
}

/// What the guest is told: the variant it can match, with a message for
/// the open-ended ones.
fn error(e: ProviderError) -> llm::LlmError {
    match e {
        ProviderError::Timeout { .. } => llm::LlmError::Timeout,
        ProviderError::RateLimited { .. } => llm::LlmError::RateLimited,
        ProviderError::BudgetExceeded { .. } => llm::LlmError::BudgetExceeded,
        ProviderError::RefusedByPolicy { message } => llm::LlmError::RefusedByPolicy(message),
        ProviderError::NotConfigured => llm::LlmError::NotConfigured,
        other @ (ProviderError::Status { .. }
        | ProviderError::Connect { .. }
        | ProviderError::Malformed { .. }
        | ProviderError::NotRecorded { .. }) => llm::LlmError::ProviderError(other.to_string()),
    }
}

impl llm::Host for GuestState {
    async fn complete(
        &mut self,
        r: llm::Request,
    ) -> wasmtime::Result<Result<llm::Response, llm::LlmError>> {
        let Some(session) = self.llm.as_mut() else {
            return Ok(Err(llm::LlmError::NotConfigured));
        };
        match session.complete(request(r)).await {
            Ok(answer) => Ok(answer.map(response).map_err(error)),
            // The exchange could not be journaled: trap, so the firing fails
            // instead of deciding on an answer a crash could not reproduce.
            Err(e) => Err(wasmtime::Error::msg(format!(
                "cannot journal the llm exchange: {e}"
            ))),
        }
    }
}
