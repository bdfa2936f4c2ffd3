//! The `petrel.llm` span of one language-model call (see
//! [`crate::telemetry`]): model, tokens, latency, result; the prompt and
//! answer only when the host opted in; never the key.

use tracing::field::Empty;

use super::gateway::Caller;
use super::{ChatResponse, ProviderError};
use crate::store::ExchangeRecord;

/// The `petrel.llm` span of call `call` of `caller`'s firing.
pub(super) fn llm_span(caller: &Caller, call: u32) -> tracing::Span {
    tracing::info_span!(
        "petrel.llm",
        case = %caller.case,
        transition = %caller.transition,
        call,
        model = Empty,
        provider = Empty,
        input_tokens = Empty,
        output_tokens = Empty,
        latency_ms = Empty,
        attempts = Empty,
        journaled = Empty,
        result = Empty,
        llm.request = Empty,
        llm.response = Empty,
    )
}

/// Puts what an exchange did on its span (its bodies only if `bodies`).
pub(super) fn trace(
    span: &tracing::Span,
    record: &ExchangeRecord,
    answer: &Result<ChatResponse, ProviderError>,
    bodies: bool,
) {
    if span.is_disabled() {
        return;
    }
    span.record("model", record.model.as_str());
    span.record("provider", record.provider.as_str());
    span.record("input_tokens", record.usage.input_tokens);
    span.record("output_tokens", record.usage.output_tokens);
    span.record("latency_ms", record.latency_ms);
    span.record("attempts", record.attempts);
    span.record("journaled", record.replayed_from.is_some());
    span.record(
        "result",
        answer.as_ref().map_or_else(|e| e.kind(), |_| "ok"),
    );
    if let Err(e) = answer {
        // A provider's error text may quote the request: only its kind,
        // unless bodies are wanted.
        let message = if bodies {
            e.to_string()
        } else {
            e.kind().to_string()
        };
        crate::telemetry::fail(span, message);
    }
    if bodies {
        if let Ok(request) = serde_json::to_string(&record.request) {
            span.record("llm.request", request);
        }
        if let Ok(r) = answer {
            span.record("llm.response", r.text.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::llm::{ChatRequest, Usage};

    /// Collects the spans a test's tracer ends.
    #[derive(Debug, Clone, Default)]
    struct Collect(Arc<std::sync::Mutex<Vec<opentelemetry_sdk::trace::SpanData>>>);

    impl opentelemetry_sdk::trace::SpanExporter for Collect {
        async fn export(
            &self,
            batch: Vec<opentelemetry_sdk::trace::SpanData>,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            self.0.lock().unwrap().extend(batch);
            Ok(())
        }
    }

    #[test]
    fn llm_spans_carry_prompts_and_answers_only_when_asked() {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let caller = Caller {
            case: "c".into(),
            transition: "classify".into(),
            firing: 1,
            key: crate::llm::JournalKey::from_seed(&[0; 32]),
        };
        let usage = Usage {
            input_tokens: 12,
            output_tokens: 5,
        };
        let answer = ChatResponse {
            text: "ANSWER-TEXT".into(),
            model: "m".into(),
            usage,
        };
        let record = ExchangeRecord {
            firing: 1,
            transition: "classify".into(),
            key: "k".into(),
            call: 0,
            provider: "openai".into(),
            model: "m".into(),
            request_hash: "h".into(),
            request: ChatRequest::user("PROMPT-TEXT"),
            response: Some(answer.clone()),
            error: None,
            latency_ms: 3,
            attempts: 1,
            usage,
            replayed_from: None,
        };
        for bodies in [false, true] {
            let spans = Collect::default();
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_simple_exporter(spans.clone())
                .build();
            let subscriber = tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
            tracing::subscriber::with_default(subscriber, || {
                let span = llm_span(&caller, 0);
                trace(&span, &record, &Ok(answer.clone()), bodies);
            });
            let spans = spans.0.lock().unwrap();
            assert_eq!(spans.len(), 1);
            let attr = |key: &str| {
                spans[0]
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == key)
                    .map(|kv| kv.value.to_string())
            };
            assert_eq!(attr("model").as_deref(), Some("m"));
            assert_eq!(attr("input_tokens").as_deref(), Some("12"));
            assert_eq!(attr("output_tokens").as_deref(), Some("5"));
            assert_eq!(attr("result").as_deref(), Some("ok"));
            let request = attr("llm.request");
            let response = attr("llm.response");
            if bodies {
                assert!(request.unwrap().contains("PROMPT-TEXT"));
                assert_eq!(response.as_deref(), Some("ANSWER-TEXT"));
            } else {
                assert_eq!((request, response), (None, None), "{spans:?}");
            }
        }
    }
}
