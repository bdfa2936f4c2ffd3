//! A transition's language-model policy (the net file's `llm` table).

/// Default most `llm.complete` calls per firing.
pub const DEFAULT_LLM_MAX_CALLS: u32 = 4;
/// Default most tokens (input + output) per firing.
pub const DEFAULT_LLM_MAX_TOKENS: u64 = 8_000;
/// Default most tokens (input + output) per case, over all its firings.
pub const DEFAULT_LLM_CASE_TOKEN_BUDGET: u64 = 50_000;

/// Bounds on a transition's language-model calls, from
///
/// ```toml
/// [transitions.classify]
/// capabilities = ["llm"]              # required for an `llm` table
/// timeout_ms = 10000                  # the firing's deadline bounds every call
/// on_timeout = "handoff"              # deadline passed: inputs move unchanged
/// llm = { max_calls = 3, max_tokens = 2000, case_token_budget = 20000, call_timeout_ms = 8000 }
/// # also: max_request_kb (default and ceiling: the host's `[limits] llm_request_kb`)
/// ```
///
/// Every field is optional. A call that would pass `max_calls`,
/// `max_tokens` or `case_token_budget` gets `budget-exceeded` without
/// reaching the provider; every call counts toward `max_calls`, refused
/// ones included. A request larger than `max_request_kb` is refused
/// (`refused-by-policy`) and journaled cut to that size. Token limits are checked before the call with the
/// estimate *prompt bytes / 4 + max-output-tokens* and charged with the
/// provider's counts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlmPolicy {
    /// Most calls per firing (default 4).
    pub max_calls: u32,
    /// Most tokens, input and output, per firing (default 8000).
    pub max_tokens: u64,
    /// Most tokens, input and output, per case over all its firings
    /// (default 50000).
    pub case_token_budget: u64,
    /// Deadline of one call, retries included (default and maximum: the
    /// transition's `timeout_ms`). When it passes first, the guest gets
    /// `timeout` and decides; when the firing's deadline passes, the host
    /// fires `on_timeout`.
    pub call_timeout_ms: u64,
    /// Largest request (system prompt, messages and schema), KiB (default
    /// and ceiling: the host's `[limits] llm_request_kb`).
    pub max_request_kb: u32,
}

impl LlmPolicy {
    /// The defaults, for a transition whose deadline is `timeout_ms`.
    pub fn defaults(timeout_ms: u64) -> LlmPolicy {
        LlmPolicy {
            max_calls: DEFAULT_LLM_MAX_CALLS,
            max_tokens: DEFAULT_LLM_MAX_TOKENS,
            case_token_budget: DEFAULT_LLM_CASE_TOKEN_BUDGET,
            call_timeout_ms: timeout_ms,
            max_request_kb: crate::limits::DEFAULT_LLM_REQUEST_KB,
        }
    }
}

impl Default for LlmPolicy {
    fn default() -> Self {
        LlmPolicy::defaults(super::DEFAULT_TIMEOUT_MS)
    }
}
