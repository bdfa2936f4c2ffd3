//! The `[telemetry]` table of `petrel.toml` (documented in
//! [`crate::config`]): where traces go and what they may hold.

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Ctx};

/// The `[telemetry]` table: OpenTelemetry traces of `petrel serve`,
/// `petrel run` and `petrel start`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// Base URL of an OTLP/HTTP receiver (`http://collector:4318`); spans
    /// are POSTed to `{otlp_endpoint}/v1/traces`. `None`: traces are
    /// exported only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, which also overrides
    /// this field.
    pub otlp_endpoint: Option<String>,
    /// Put language-model prompts and answers on LLM spans (default
    /// false: spans carry the model, token counts, latency and result only;
    /// never the API key).
    pub record_llm_bodies: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTelemetry {
    otlp_endpoint: Option<Spanned<String>>,
    record_llm_bodies: Option<bool>,
}

/// Reads the `[telemetry]` table.
pub(super) fn parse(cx: &Ctx<'_>, raw: &RawTelemetry) -> Result<TelemetrySettings, ConfigError> {
    let otlp_endpoint = raw
        .otlp_endpoint
        .as_ref()
        .map(|u| {
            let url = cx.http_url(
                u,
                "telemetry.otlp_endpoint",
                "http://127.0.0.1:4318",
                "them in the OTEL_EXPORTER_OTLP_HEADERS environment variable",
            )?;
            if url.ends_with("/v1/traces") {
                return Err(cx.err(
                    u.span(),
                    "telemetry.otlp_endpoint",
                    format!("`{url}` ends with /v1/traces (expected the receiver's base URL, e.g. `http://127.0.0.1:4318`: /v1/traces is appended)"),
                ));
            }
            Ok(url)
        })
        .transpose()?;
    Ok(TelemetrySettings {
        otlp_endpoint,
        record_llm_bodies: raw.record_llm_bodies.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn err(source: &str) -> String {
        Config::parse(source, "conf/petrel.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_telemetry_table_names_a_base_url() {
        let config = Config::parse(
            "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318/\"\nrecord_llm_bodies = true\n",
            "petrel.toml",
        )
        .unwrap();
        assert_eq!(
            config.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert!(config.telemetry.record_llm_bodies);
        let default = Config::parse("", "petrel.toml").unwrap().telemetry;
        assert_eq!(default.otlp_endpoint, None);
        assert!(!default.record_llm_bodies);
    }

    #[test]
    fn bad_telemetry_values_name_file_line_and_field() {
        assert!(
            err("[telemetry]\n\notlp_endpoint = \"grpc://x:4317\"\n").starts_with(
                "conf/petrel.toml:3: `telemetry.otlp_endpoint`: `grpc://x:4317` is not an http(s) URL"
            ),
            "{}",
            err("[telemetry]\n\notlp_endpoint = \"grpc://x:4317\"\n")
        );
        assert!(err("[telemetry]\notlp_endpoint = \"not a url\"\n").contains("is not a URL"));
        assert!(
            err("[telemetry]\notlp_endpoint = \"http://u:p@x:4318\"\n")
                .contains("carries credentials")
        );
        assert!(
            err("[telemetry]\notlp_endpoint = \"http://x:4318/v1/traces\"\n")
                .starts_with("conf/petrel.toml:2: `telemetry.otlp_endpoint`: `http://x:4318/v1/traces` ends with /v1/traces")
        );
        assert!(
            err("[telemetry]\nrecord_llm_bodies = \"yes\"\n").starts_with("conf/petrel.toml:2:")
        );
        assert!(err("[telemetry]\nendpoint = \"http://x\"\n").contains("endpoint"));
    }
}
