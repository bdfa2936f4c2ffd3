//! Prometheus metrics of a running host, fed from the event log as the
//! engine writes it ([`Metrics::observe`]) and rendered in the OpenMetrics
//! text format for `GET /metrics`. The README's "Metrics and traces"
//! table is this one.
//!
//! | metric | type | labels | what |
//! | --- | --- | --- | --- |
//! | `petrel_firings_total` | counter | `transition`, `result` | firing events: `completed`, `declined`, `failed` (one per failed attempt), `dead_lettered`, `aborted` (the guest aborted its case), `abandoned` (cut off by a crash), `compensated` |
//! | `petrel_firing_duration_seconds` | histogram | `transition` | guest (or worker) time of completed firings; buckets 100 µs to 52 s |
//! | `petrel_cases_total` | counter | `event` | cases `started`, `completed`, `stuck`, `aborted` |
//! | `petrel_llm_calls_total` | counter | `model`, `result` | language-model calls, `ok` or `error` (answers replayed from the journal are not calls) |
//! | `petrel_llm_tokens_total` | counter | `model`, `kind` | tokens the provider counted, `input` or `output` |
//! | `petrel_llm_call_duration_seconds` | histogram | `model` | latency of language-model calls (retries and backoff included, replays excluded); buckets 100 µs to 52 s |
//! | `petrel_open_cases` | gauge | | cases not yet completed, aborted or compensated (read from the store at scrape time) |
//! | `petrel_dead_letters` | gauge | | dead letters waiting (read from the store at scrape time) |
//! | `petrel_store_flushes_total` | counter | | durability flushes of the store; each acknowledges every change applied before it, for all the requests waiting on it (group commit) |
//!
//! Cardinality is bounded: `transition` takes the names of deployed
//! transitions, `model` the models of the host's `[llm]` config (`none`
//! for calls refused before reaching one), and past [`MAX_MODELS`]
//! distinct models every other one counts as `other`; every other label
//! is a fixed set. No label holds a case id, a prompt or a key.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::{Event, EventRecord, Store, StoreError};

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FiringLabels {
    transition: String,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabels {
    transition: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CaseLabels {
    event: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LlmCallLabels {
    model: String,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LlmTokenLabels {
    model: String,
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

/// Most distinct `model` label values; later models count as `other`.
pub const MAX_MODELS: usize = 16;

fn latency_histogram() -> Histogram {
    // 100 µs to about 52 s.
    Histogram::new(exponential_buckets(0.000_1, 2.0, 20))
}

/// A host's metrics (see the module docs). Share it in an [`Arc`]: the
/// engine feeds it through [`Metrics::observer`], the server renders it.
pub struct Metrics {
    registry: Registry,
    firings: Family<FiringLabels, Counter>,
    firing_seconds: Family<TransitionLabels, Histogram, fn() -> Histogram>,
    cases: Family<CaseLabels, Counter>,
    llm_calls: Family<LlmCallLabels, Counter>,
    llm_tokens: Family<LlmTokenLabels, Counter>,
    llm_seconds: Family<ModelLabels, Histogram, fn() -> Histogram>,
    /// The `model` label values given out so far (at most [`MAX_MODELS`]).
    models: Mutex<Vec<String>>,
    open_cases: Gauge,
    dead_letters: Gauge,
    flushes: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty metrics, registered under the `petrel_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("petrel");
        let firings = Family::<FiringLabels, Counter>::default();
        registry.register(
            "firings",
            "Firing events by transition and result",
            firings.clone(),
        );
        let firing_seconds =
            Family::<TransitionLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "firing_duration_seconds",
            "Guest or worker time of completed firings",
            firing_seconds.clone(),
        );
        let cases = Family::<CaseLabels, Counter>::default();
        registry.register("cases", "Case lifecycle events", cases.clone());
        let llm_calls = Family::<LlmCallLabels, Counter>::default();
        registry.register(
            "llm_calls",
            "Language-model calls by model and result",
            llm_calls.clone(),
        );
        let llm_tokens = Family::<LlmTokenLabels, Counter>::default();
        registry.register(
            "llm_tokens",
            "Language-model tokens as the provider counted them, by model",
            llm_tokens.clone(),
        );
        let llm_seconds = Family::<ModelLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "llm_call_duration_seconds",
            "Latency of language-model calls by model (retries included)",
            llm_seconds.clone(),
        );
        let open_cases = Gauge::default();
        registry.register(
            "open_cases",
            "Cases not completed, aborted or compensated",
            open_cases.clone(),
        );
        let dead_letters = Gauge::default();
        registry.register(
            "dead_letters",
            "Dead letters waiting for retry or discard",
            dead_letters.clone(),
        );
        let flushes = Counter::default();
        registry.register(
            "store_flushes",
            "Durability flushes of the store; each acknowledges every change applied before it (group commit)",
            flushes.clone(),
        );
        Metrics {
            registry,
            flushes,
            firings,
            firing_seconds,
            cases,
            llm_calls,
            llm_tokens,
            llm_seconds,
            models: Mutex::new(Vec::new()),
            open_cases,
            dead_letters,
        }
    }

    /// A callback for [`EngineConfig::observer`](crate::engine::EngineConfig)
    /// that feeds every event the engine writes into these metrics.
    pub fn observer(self: &Arc<Self>) -> Arc<dyn Fn(&EventRecord) + Send + Sync> {
        let metrics = self.clone();
        Arc::new(move |record: &EventRecord| metrics.observe(record))
    }

    /// Counts one event of the log.
    pub fn observe(&self, record: &EventRecord) {
        let firing = |transition: &str, result: &'static str| {
            self.firings
                .get_or_create(&FiringLabels {
                    transition: transition.to_string(),
                    result,
                })
                .inc();
        };
        let case = |event: &'static str| {
            self.cases.get_or_create(&CaseLabels { event }).inc();
        };
        match &record.event {
            Event::FiringCompleted {
                transition,
                elapsed_us,
                ..
            } => {
                firing(transition, "completed");
                self.firing_seconds
                    .get_or_create(&TransitionLabels {
                        transition: transition.clone(),
                    })
                    .observe(*elapsed_us as f64 / 1e6);
            }
            Event::FiringDeclined { transition, .. } => firing(transition, "declined"),
            Event::FiringFailed { transition, .. } => firing(transition, "failed"),
            Event::FiringDeadLettered { transition, .. } => firing(transition, "dead_lettered"),
            Event::FiringAbandoned { transition, .. } => firing(transition, "abandoned"),
            Event::CompensationCompleted { transition, .. } => firing(transition, "compensated"),
            Event::CaseAborted { transition, .. } => {
                firing(transition, "aborted");
                case("aborted");
            }
            Event::RegionAborted { transition, .. } => firing(transition, "region_aborted"),
            Event::CaseCancelled { .. } => case("cancelled"),
            Event::CaseStarted { .. } => case("started"),
            Event::CaseCompleted => case("completed"),
            Event::CaseStuck { .. } => case("stuck"),
            Event::CaseRestarted { .. } => case("restarted"),
            Event::CaseDeadLettered { .. } => case("dead_lettered"),
            Event::LlmExchange(exchange) if exchange.replayed_from.is_none() => {
                let result = if exchange.response.is_some() {
                    "ok"
                } else {
                    "error"
                };
                let model = self.model_label(&exchange.model);
                self.llm_calls
                    .get_or_create(&LlmCallLabels {
                        model: model.clone(),
                        result,
                    })
                    .inc();
                for (kind, n) in [
                    ("input", exchange.usage.input_tokens),
                    ("output", exchange.usage.output_tokens),
                ] {
                    self.llm_tokens
                        .get_or_create(&LlmTokenLabels {
                            model: model.clone(),
                            kind,
                        })
                        .inc_by(u64::from(n));
                }
                self.llm_seconds
                    .get_or_create(&ModelLabels { model })
                    .observe(exchange.latency_ms as f64 / 1e3);
            }
            _ => {}
        }
    }

    /// The `model` label of `model`: itself while fewer than
    /// [`MAX_MODELS`] were seen, `none` when empty, else `other`.
    fn model_label(&self, model: &str) -> String {
        if model.is_empty() {
            return "none".into();
        }
        let mut models = self.models.lock().unwrap_or_else(|e| e.into_inner());
        if models.iter().any(|m| m == model) {
            return model.to_string();
        }
        if models.len() < MAX_MODELS {
            models.push(model.to_string());
            return model.to_string();
        }
        "other".into()
    }

    /// The metrics as OpenMetrics text ([`CONTENT_TYPE`]), with the gauges
    /// read from `store` now and `flushes` the store's flushes so far.
    pub fn render(&self, store: &dyn Store, flushes: u64) -> Result<String, StoreError> {
        self.flushes
            .inc_by(flushes.saturating_sub(self.flushes.get()));
        let open = store
            .cases()?
            .iter()
            .filter(|c| !c.status.is_terminal())
            .count();
        self.open_cases.set(open as i64);
        self.dead_letters.set(store.dead_letter_count()? as i64);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| StoreError::Bug(format!("encoding metrics: {e}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(event: Event) -> EventRecord {
        EventRecord {
            seq: 1,
            at_ms: 0,
            case: Some("c".into()),
            event,
        }
    }

    #[test]
    fn counts_firings_by_transition_and_result() {
        let metrics = Arc::new(Metrics::new());
        let observe = metrics.observer();
        observe(&record(Event::FiringCompleted {
            firing: 7,
            transition: "approve".into(),
            attempt: 1,
            outcome: "ok".into(),
            timed_out: false,
            consumed: vec![],
            produced: vec![],
            log: vec![],
            elapsed_us: 1500,
        }));
        observe(&record(Event::FiringDeclined {
            firing: 8,
            transition: "approve".into(),
            attempt: 1,
            log: vec![],
        }));
        observe(&record(Event::CaseCompleted));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &metrics.registry).unwrap();
        for line in [
            "petrel_firings_total{transition=\"approve\",result=\"completed\"} 1",
            "petrel_firings_total{transition=\"approve\",result=\"declined\"} 1",
            "petrel_firing_duration_seconds_count{transition=\"approve\"} 1",
            "petrel_cases_total{event=\"completed\"} 1",
        ] {
            assert!(out.contains(line), "missing {line} in\n{out}");
        }
    }

    #[test]
    fn counts_llm_calls_and_tokens_but_not_replays() {
        use crate::llm::{ChatRequest, ChatResponse, ExchangeRecord, Usage};
        let usage = Usage {
            input_tokens: 12,
            output_tokens: 5,
        };
        let exchange = |replayed_from: Option<u64>| {
            record(Event::LlmExchange(Box::new(ExchangeRecord {
                firing: 1,
                transition: "classify".into(),
                key: "k".into(),
                call: 0,
                provider: "cassette".into(),
                model: "m".into(),
                request_hash: "h".into(),
                request: ChatRequest::user("hi"),
                response: Some(ChatResponse {
                    text: "refund".into(),
                    model: "m".into(),
                    usage,
                }),
                error: None,
                latency_ms: 3,
                attempts: 0,
                usage,
                replayed_from,
            })))
        };
        let metrics = Metrics::new();
        metrics.observe(&exchange(None));
        metrics.observe(&exchange(Some(1)));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &metrics.registry).unwrap();
        for line in [
            "petrel_llm_calls_total{model=\"m\",result=\"ok\"} 1",
            "petrel_llm_tokens_total{model=\"m\",kind=\"input\"} 12",
            "petrel_llm_tokens_total{model=\"m\",kind=\"output\"} 5",
            "petrel_llm_call_duration_seconds_count{model=\"m\"} 1",
        ] {
            assert!(out.contains(line), "missing {line} in\n{out}");
        }
    }

    #[test]
    fn model_labels_are_bounded() {
        let metrics = Metrics::new();
        assert_eq!(metrics.model_label(""), "none");
        for i in 0..MAX_MODELS {
            assert_eq!(metrics.model_label(&format!("m{i}")), format!("m{i}"));
        }
        assert_eq!(metrics.model_label("one-too-many"), "other");
        assert_eq!(metrics.model_label("m0"), "m0");
    }
}
