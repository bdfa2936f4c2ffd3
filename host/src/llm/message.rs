//! What goes to a language model and what comes back, provider-neutral:
//! the host's form of the WIT `llm` records, as the event log and cassettes
//! keep them.

use serde::{Deserialize, Serialize};

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `user` or `assistant` (the system prompt is [`ChatRequest::system`]).
    pub role: String,
    /// What it says.
    pub content: String,
}

/// A completion request, as a guest made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The conversation, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Cap on the answer's length in tokens.
    pub max_output_tokens: u32,
    /// Sampling temperature; `None` leaves the provider's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// JSON schema (its JSON text) the answer must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<String>,
}

/// Tokens one call used, as the provider counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub input_tokens: u32,
    /// Tokens of the answer.
    pub output_tokens: u32,
}

impl Usage {
    /// Input and output tokens together.
    pub fn total(&self) -> u64 {
        u64::from(self.input_tokens) + u64::from(self.output_tokens)
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer's text.
    pub text: String,
    /// The model that answered (as the provider names it).
    pub model: String,
    /// Tokens used.
    pub usage: Usage,
}

impl ChatRequest {
    /// A request with one user message and the guest SDK's defaults.
    pub fn user(prompt: impl Into<String>) -> ChatRequest {
        ChatRequest {
            system: None,
            messages: vec![ChatMessage {
                role: "user".into(),
                content: prompt.into(),
            }],
            max_output_tokens: 1024,
            temperature: None,
            json_schema: None,
        }
    }

    /// BLAKE3 (hex, 32 digits) of the request's canonical JSON: equal
    /// requests hash equal (cassettes and the journal match on it).
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("a request always serializes");
        blake3::hash(&json).to_hex()[..32].to_string()
    }

    /// A rough count of the prompt's tokens (about four bytes each), used to
    /// check budgets before the provider reports the real count.
    pub fn estimated_input_tokens(&self) -> u64 {
        let bytes: usize = self.system.as_deref().map_or(0, str::len)
            + self
                .messages
                .iter()
                .map(|m| m.content.len() + 4)
                .sum::<usize>();
        (bytes as u64).div_ceil(4)
    }

    /// The most tokens the call may use, by the estimate: prompt estimate
    /// plus the output cap.
    pub fn estimated_tokens(&self) -> u64 {
        self.estimated_input_tokens() + u64::from(self.max_output_tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_requests_hash_equal_and_any_field_changes_the_hash() {
        let a = ChatRequest::user("is this a refund?");
        assert_eq!(a.hash(), ChatRequest::user("is this a refund?").hash());
        assert_eq!(a.hash().len(), 32);
        let mut b = a.clone();
        b.temperature = Some(0.0);
        assert_ne!(a.hash(), b.hash());
        let mut c = a.clone();
        c.max_output_tokens = 10;
        assert_ne!(a.hash(), c.hash());
    }

    #[test]
    fn estimates_count_prompt_and_output_cap() {
        let mut r = ChatRequest::user("x".repeat(40));
        r.max_output_tokens = 100;
        assert_eq!(r.estimated_input_tokens(), 11);
        assert_eq!(r.estimated_tokens(), 111);
    }
}
