//! Traces: the spans the library opens, and how one case becomes one trace.
//!
//! The library only creates [`tracing`] spans; whoever embeds it decides
//! whether they go anywhere (the `petrel` binary exports them over OTLP
//! when `[telemetry] otlp_endpoint` or `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set, see `host/src/cli/telemetry.rs`). Without a subscriber that wants
//! them, a span costs a cached "not interested" check.
//!
//! | span | where | attributes |
//! | --- | --- | --- |
//! | `petrel.firing` | one guest run of one firing (`engine::driver`) | `net`, `version`, `transition`, `case`, `firing`, `attempt`, `result` (`fired`, `declined`, `aborted`, `failed`), `outcome` (when fired); error status with the failure when the guest failed |
//! | `petrel.llm` | one `llm.complete` of a guest, child of its firing | `model`, `provider`, `call`, `input_tokens`, `output_tokens`, `latency_ms`, `attempts`, `journaled`, `result`; `llm.request` / `llm.response` only with `[telemetry] record_llm_bodies = true`; never the key |
//! | `petrel.http` (exported as `METHOD /route`) | one request of `petrel serve` | `http.request.method`, `http.route` (the route template, never the path with its ids), `http.response.status_code` |
//! | `petrel.store.commit` | one store transaction of a group of changes | `jobs`, `changes`, `cases`; linked to each case's trace (up to [`MAX_LINKS`]) |
//! | `petrel.store.flush` | one durability flush | `waiters` |
//!
//! **One case is one trace.** A case's firings run at different times, in
//! different tasks, possibly on different hosts or after a restart, so
//! nothing in memory can carry its trace. Its trace id is derived from the
//! case id instead ([`case_trace_id`]: the first 16 bytes of BLAKE3 of
//! it), and every firing span is parented on a remote span context with
//! that trace id ([`join_case`]); LLM spans are children of their firing.
//! A store commit serves many cases at once: it is a trace of its own,
//! with a link to each case's trace. HTTP requests are traces of their own.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Most case links on one store-commit span.
pub const MAX_LINKS: usize = 32;

/// The trace id of every span of case `case`: the first 16 bytes of the
/// BLAKE3 hash of its id (never all zero, which OpenTelemetry reserves).
pub fn case_trace_id(case: &str) -> [u8; 16] {
    let hash = blake3::hash(case.as_bytes());
    let mut id = [0; 16];
    id.copy_from_slice(&hash.as_bytes()[..16]);
    if id == [0; 16] {
        id[15] = 1;
    }
    id
}

/// The remote span context a case's spans hang from: its trace id, and a
/// span id derived from the same hash (the case's "root", which no one
/// exports).
fn case_span_context(case: &str) -> SpanContext {
    let hash = blake3::hash(case.as_bytes());
    let mut span = [0; 8];
    span.copy_from_slice(&hash.as_bytes()[16..24]);
    if span == [0; 8] {
        span[7] = 1;
    }
    SpanContext::new(
        TraceId::from_bytes(case_trace_id(case)),
        SpanId::from_bytes(span),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

/// Puts `span` (not yet entered) in case `case`'s trace. Free when no
/// subscriber records the span.
pub(crate) fn join_case(span: &tracing::Span, case: &str) {
    if span.is_disabled() {
        return;
    }
    let parent = opentelemetry::Context::new().with_remote_span_context(case_span_context(case));
    // Fails only without an OpenTelemetry layer: then there is no trace to join.
    let _ = span.set_parent(parent);
}

/// Links `span` to the traces of `cases` (at most [`MAX_LINKS`]).
pub(crate) fn link_cases<'a>(span: &tracing::Span, cases: impl Iterator<Item = &'a str>) {
    if span.is_disabled() {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    let mut count = 0usize;
    for case in cases {
        if seen.insert(case) {
            count += 1;
            if seen.len() <= MAX_LINKS {
                span.add_link(case_span_context(case));
            }
        }
    }
    span.record("cases", count);
}

/// Marks `span` failed with `message` (an OpenTelemetry error status).
pub(crate) fn fail(span: &tracing::Span, message: impl Into<String>) {
    if !span.is_disabled() {
        span.set_status(opentelemetry::trace::Status::error(message.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_trace_id_is_the_blake3_of_its_id() {
        let id = case_trace_id("r-1");
        assert_eq!(id, case_trace_id("r-1"), "the same on every host and run");
        assert_eq!(&id[..], &blake3::hash(b"r-1").as_bytes()[..16]);
        assert_ne!(id, case_trace_id("r-2"));
        let cx = case_span_context("r-1");
        assert!(cx.is_valid() && cx.is_remote() && cx.is_sampled());
        assert_eq!(cx.trace_id(), TraceId::from_bytes(id));
        assert_eq!(
            format!("{}", cx.trace_id()),
            blake3::hash(b"r-1").to_hex()[..32]
        );
    }

    #[test]
    fn spans_nobody_records_are_left_alone() {
        // No subscriber: the span is disabled, nothing is hashed or linked.
        let span = tracing::info_span!("petrel.test", cases = tracing::field::Empty);
        join_case(&span, "c");
        link_cases(&span, ["a", "b"].into_iter());
        fail(&span, "no");
        assert!(span.is_disabled());
    }
}
