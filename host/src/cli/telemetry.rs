//! The binary's tracing subscriber: log lines on stderr (`PETREL_LOG`,
//! default `warn`) and, when an OTLP endpoint is configured, the library's
//! spans (see `petrel::telemetry`) exported over OTLP/HTTP (protobuf).
//!
//! The exporter is installed only when `[telemetry] otlp_endpoint` (the
//! receiver's base URL; `/v1/traces` is appended) or the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is
//! set; the environment wins over the file, as the OpenTelemetry spec
//! has it. The service is named by `OTEL_SERVICE_NAME` (default
//! `petrel`). Spans go out in batches from a thread of their own;
//! [`Telemetry::shutdown`] sends what is left (the end of `petrel run` or
//! `start`, `petrel serve` after SIGTERM).

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use petrel::config::TelemetrySettings;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

use super::{Failure, bad_input};

/// The service name unless `OTEL_SERVICE_NAME` says otherwise.
const SERVICE_NAME: &str = "petrel";

/// What was installed; [`Telemetry::shutdown`] flushes it.
pub(crate) struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Set and not empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The OTLP/HTTP traces URL to set on the exporter: `Some(None)` when the
/// environment names it (the exporter reads it with the standard
/// semantics), `Some(Some(url))` from `petrel.toml`, `None`: no exporter.
fn endpoint(settings: &TelemetrySettings) -> Option<Option<String>> {
    if env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        || env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
    {
        return Some(None);
    }
    let base = settings.otlp_endpoint.as_deref()?;
    Some(Some(format!("{base}/v1/traces")))
}

fn provider(endpoint: Option<String>) -> anyhow::Result<SdkTracerProvider> {
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary);
    if let Some(url) = endpoint {
        exporter = exporter.with_endpoint(url);
    }
    let exporter = exporter.build().context("setting up the OTLP exporter")?;
    let service = env("OTEL_SERVICE_NAME").unwrap_or_else(|| SERVICE_NAME.to_string());
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build())
}

/// Installs the global subscriber: log lines, and spans to OTLP when
/// `settings` or the environment name an endpoint.
pub(crate) fn install(settings: &TelemetrySettings) -> Result<Telemetry, Failure> {
    let log_filter =
        EnvFilter::try_from_env("PETREL_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let log = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(log_filter);
    let provider = endpoint(settings)
        .map(provider)
        .transpose()
        .map_err(bad_input)?;
    // Only the library's spans (and the events inside them) are exported;
    // each layer filters for itself, so without an exporter a span the log
    // filter does not want costs nothing.
    let spans = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("petrel"))
            .with_filter(Targets::new().with_target("petrel", tracing::Level::INFO))
    });
    tracing_subscriber::registry().with(log).with(spans).init();
    Ok(Telemetry { provider })
}

impl Telemetry {
    /// Exports the spans not yet sent (waits up to 5 s for the receiver).
    pub(crate) fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warning: exporting the last spans: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_names_a_base_url_and_v1_traces_is_appended() {
        // The test process has no OTEL_EXPORTER_OTLP_* variables set.
        if env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        {
            return;
        }
        assert_eq!(endpoint(&TelemetrySettings::default()), None);
        let settings = TelemetrySettings {
            otlp_endpoint: Some("http://127.0.0.1:4318".into()),
            record_llm_bodies: false,
        };
        assert_eq!(
            endpoint(&settings),
            Some(Some("http://127.0.0.1:4318/v1/traces".into()))
        );
    }
}
