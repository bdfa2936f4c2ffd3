//! One firing's language-model calls: policy, budgets, deadline, journal.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::budget::{self, Hold};
use super::gateway::{Caller, LlmGateway};
use super::journal::CaseLog;
use super::trace::{llm_span, trace};
use super::{Answer, ChatRequest, ChatResponse, ProviderError, Usage};
use crate::net::LlmPolicy;
use crate::store::ExchangeRecord;
use crate::store::StoreError;

/// The host side of `llm.complete` for one firing: counts its calls and
/// tokens, holds the case's budget, bounds each call by the call timeout and
/// the firing's deadline, answers from the journal what an abandoned
/// attempt of the same firing was already answered, and logs every exchange.
pub struct LlmSession {
    host: Arc<LlmGateway>,
    caller: Caller,
    policy: LlmPolicy,
    deadline: Option<Instant>,
    hit_deadline: bool,
    calls: u32,
    tokens: u64,
    /// The journal and the case's counter, read on the first call.
    log: Option<(CaseLog, Arc<AtomicU64>)>,
}

impl std::fmt::Debug for LlmSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSession")
            .field("caller", &self.caller)
            .field("policy", &self.policy)
            .field("calls", &self.calls)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

fn refuse(message: String) -> ProviderError {
    ProviderError::RefusedByPolicy { message }
}

fn over(message: String) -> ProviderError {
    ProviderError::BudgetExceeded { message }
}

/// Checks what a guest may ask at all.
fn check(request: &ChatRequest) -> Result<(), ProviderError> {
    if request.messages.is_empty() {
        return Err(refuse(
            "the request has no message (expected at least one user message)".into(),
        ));
    }
    if let Some(m) = request
        .messages
        .iter()
        .find(|m| m.role != "user" && m.role != "assistant")
    {
        return Err(refuse(format!(
            "message role `{}` (expected `user` or `assistant`; the system prompt goes in `system`)",
            m.role
        )));
    }
    if request.max_output_tokens == 0 {
        return Err(refuse("max-output-tokens 0 (expected at least 1)".into()));
    }
    if let Some(t) = request.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(refuse(format!("temperature {t} (expected 0.0 to 2.0)")));
    }
    if let Some(schema) = &request.json_schema
        && let Err(e) = serde_json::from_str::<serde_json::Value>(schema)
    {
        return Err(refuse(format!("the json-schema is not JSON: {e}")));
    }
    Ok(())
}

impl LlmSession {
    pub(crate) fn new(host: Arc<LlmGateway>, caller: Caller, policy: LlmPolicy) -> LlmSession {
        LlmSession {
            host,
            caller,
            policy,
            deadline: None,
            hit_deadline: false,
            calls: 0,
            tokens: 0,
            log: None,
        }
    }

    /// Sets the firing's deadline: no call outlives it.
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }

    /// Whether a call was cut off by the firing's deadline.
    pub fn hit_deadline(&self) -> bool {
        self.hit_deadline
    }

    /// Calls made so far (journal answers and refusals included).
    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// Largest request the policy allows, in bytes (`llm.max_request_kb`).
    pub fn max_request_bytes(&self) -> usize {
        self.policy.max_request_kb as usize * 1024
    }

    /// Answers one `llm.complete` of the guest. The outer error (the store
    /// failed) traps the guest; the inner one goes back to it.
    ///
    /// Every call counts toward `max_calls`, refused ones too; past it a
    /// call is refused unjournaled (the first refusal is journaled, once),
    /// so a guest looping on refused calls writes nothing more. A request
    /// over `max_request_kb` is refused and journaled cut to that size.
    ///
    /// Each call is a `petrel.llm` span (see [`crate::telemetry`]): model,
    /// tokens, latency and result; the prompt and answer only when the
    /// host opted in (`[telemetry] record_llm_bodies`); never the key.
    pub async fn complete(
        &mut self,
        request: ChatRequest,
    ) -> Result<Result<ChatResponse, ProviderError>, StoreError> {
        let span = llm_span(&self.caller, self.calls);
        self.exchange(request, &span).instrument(span.clone()).await
    }

    async fn exchange(
        &mut self,
        request: ChatRequest,
        span: &tracing::Span,
    ) -> Result<Result<ChatResponse, ProviderError>, StoreError> {
        let index = self.calls;
        self.calls = self.calls.saturating_add(1);
        if index > self.policy.max_calls {
            return Ok(Err(self.over_max_calls()));
        }
        let hash = request.hash();
        let cap = self.max_request_bytes();
        let size = request_bytes(&request);
        let request = if size > cap {
            cut_request(request, cap)
        } else {
            request
        };
        let started = Instant::now();
        let mut record = ExchangeRecord {
            firing: self.caller.firing,
            transition: self.caller.transition.clone(),
            key: self.caller.key.0.clone(),
            call: index,
            provider: String::new(),
            model: String::new(),
            request_hash: hash.clone(),
            request,
            response: None,
            error: None,
            latency_ms: 0,
            attempts: 0,
            usage: Usage::default(),
            replayed_from: None,
        };
        let answer = if size > cap {
            Ok(Err(refuse(format!(
                "the request has {size} bytes, more than the {cap} of llm.max_request_kb of transition `{}`",
                self.caller.transition
            ))))
        } else {
            self.answer(&mut record, index, &hash, started).await
        }?;
        record.latency_ms = started.elapsed().as_millis() as u64;
        let durable = answer.is_ok() && record.replayed_from.is_none();
        match &answer {
            Ok(r) => {
                record.usage = r.usage;
                record.response = Some(r.clone());
            }
            Err(e) => record.error = Some(e.clone()),
        }
        trace(span, &record, &answer, self.host.record_bodies);
        tracing::info!(
            target: "petrel.llm",
            case = %self.caller.case,
            transition = %self.caller.transition,
            firing = self.caller.firing,
            call = index,
            latency_ms = record.latency_ms,
            attempts = record.attempts,
            journaled = record.replayed_from.is_some(),
            result = answer.as_ref().map_or_else(|e| e.kind(), |_| "ok"),
            "llm exchange"
        );
        // A successful answer is durable before the guest sees it: a crash
        // after this point re-runs the firing with this answer.
        self.host.record(&self.caller.case, record, durable).await?;
        Ok(answer)
    }

    async fn answer(
        &mut self,
        record: &mut ExchangeRecord,
        index: u32,
        hash: &str,
        started: Instant,
    ) -> Result<Result<ChatResponse, ProviderError>, StoreError> {
        if index >= self.policy.max_calls {
            return Ok(Err(self.over_max_calls()));
        }
        let Some(provider) = self.host.provider.clone() else {
            return Ok(Err(ProviderError::NotConfigured));
        };
        record.provider = provider.name().to_string();
        record.model = provider.model().to_string();
        if let Err(e) = check(&record.request) {
            return Ok(Err(e));
        }
        if self.log.is_none() {
            let host = &self.host;
            let log = CaseLog::read(host.store(), &self.caller.case, &self.caller.key)?;
            let spent = log.spent;
            let counter = host.budgets.case(&self.caller.case, || spent);
            self.log = Some((log, counter));
        }
        let (log, counter) = self.log.as_ref().expect("read above");
        if let Some(j) = log.answers.get(&index).filter(|j| j.request_hash == hash) {
            self.tokens += j.response.usage.total();
            record.replayed_from = Some(j.firing);
            return Ok(Ok(j.response.clone()));
        }
        let estimate = record.request.estimated_tokens();
        if self.tokens + estimate > self.policy.max_tokens {
            return Ok(Err(over(format!(
                "this call may use {estimate} tokens and the firing used {} of its {} (llm.max_tokens)",
                self.tokens, self.policy.max_tokens
            ))));
        }
        let hold: Hold = match budget::hold(counter, estimate, self.policy.case_token_budget) {
            Ok(h) => h,
            Err(spent) => {
                return Ok(Err(over(format!(
                    "this call may use {estimate} tokens and case `{}` used {spent} of its {} (llm.case_token_budget)",
                    self.caller.case, self.policy.case_token_budget
                ))));
            }
        };
        let mut deadline = started + Duration::from_millis(self.policy.call_timeout_ms);
        let firing_deadline = self.deadline.filter(|&d| d <= deadline);
        if let Some(d) = firing_deadline {
            deadline = d;
        }
        let Answer { result, attempts } = provider.complete(&record.request, deadline).await;
        record.attempts = attempts;
        if firing_deadline.is_some() && matches!(result, Err(ProviderError::Timeout { .. })) {
            self.hit_deadline = true;
        }
        let used = result.as_ref().map_or(0, |r| r.usage.total());
        hold.settle(used);
        self.tokens += used;
        Ok(result.map_err(|e| redact(e, &*provider)))
    }
}

impl LlmSession {
    fn over_max_calls(&self) -> ProviderError {
        over(format!(
            "the firing made its {} call(s) (llm.max_calls of transition `{}`)",
            self.policy.max_calls, self.caller.transition
        ))
    }
}

/// Bytes of a request's text: system prompt, messages, schema.
fn request_bytes(r: &ChatRequest) -> usize {
    r.system.as_deref().map_or(0, str::len)
        + r.messages
            .iter()
            .map(|m| m.role.len() + m.content.len())
            .sum::<usize>()
        + r.json_schema.as_deref().map_or(0, str::len)
}

/// `r` with its texts cut, in order, so that all of them together hold at
/// most `cap` bytes: what the journal keeps of a refused, oversized request.
fn cut_request(r: ChatRequest, cap: usize) -> ChatRequest {
    let mut left = cap;
    let mut take = |text: &str| {
        let kept = crate::limits::cut_str(text, left);
        left -= kept.len();
        kept
    };
    let system = r.system.as_deref().map(&mut take);
    let messages = r
        .messages
        .iter()
        .map(|m| super::ChatMessage {
            role: take(&m.role),
            content: take(&m.content),
        })
        .collect();
    let json_schema = r.json_schema.as_deref().map(&mut take);
    ChatRequest {
        system,
        messages,
        json_schema,
        ..r
    }
}

/// Scrubs the provider's secrets out of an error's text.
fn redact(err: ProviderError, provider: &dyn super::LlmProvider) -> ProviderError {
    match err {
        ProviderError::Status { status, message } => ProviderError::Status {
            status,
            message: provider.redact(&message),
        },
        ProviderError::Connect { message } => ProviderError::Connect {
            message: provider.redact(&message),
        },
        ProviderError::Malformed { message } => ProviderError::Malformed {
            message: provider.redact(&message),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ChatMessage;

    #[test]
    fn an_oversized_request_is_kept_cut_to_the_cap() {
        let mut r = ChatRequest::user("x".repeat(1000));
        r.system = Some("s".repeat(100));
        r.json_schema = Some("{}".into());
        assert_eq!(request_bytes(&r), 1106);
        let cut = cut_request(r.clone(), 300);
        assert!(request_bytes(&cut) <= 300, "{}", request_bytes(&cut));
        assert_eq!(cut.system.as_deref(), r.system.as_deref());
        assert_eq!(cut.messages[0].role, "user");
        assert_eq!(cut.messages[0].content.len(), 196);
        assert_eq!(cut.json_schema.as_deref(), Some(""));
        assert_eq!(cut.max_output_tokens, r.max_output_tokens);
    }

    #[test]
    fn guests_may_ask_only_well_formed_requests() {
        let ok = ChatRequest::user("hi");
        assert!(check(&ok).is_ok());
        let mut r = ok.clone();
        r.messages.clear();
        assert!(check(&r).unwrap_err().to_string().contains("no message"));
        let mut r = ok.clone();
        r.messages.push(ChatMessage {
            role: "system".into(),
            content: "x".into(),
        });
        assert!(check(&r).unwrap_err().to_string().contains("role `system`"));
        let mut r = ok.clone();
        r.temperature = Some(7.0);
        assert!(check(&r).is_err());
        let mut r = ok;
        r.json_schema = Some("{".into());
        assert!(matches!(
            check(&r),
            Err(ProviderError::RefusedByPolicy { .. })
        ));
    }
}
