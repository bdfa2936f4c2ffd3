//! Probes and documents: `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use crate::engine::EngineError;

/// 200 while the process serves.
pub(crate) async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

/// 200 when the host's driver runs, 503 before it does or once shutdown began.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    if state.host.ready() && !*state.stopping.borrow() {
        axum::Json(json!({ "status": "ready" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unavailable" })),
        )
            .into_response()
    }
}

/// The metrics in the OpenMetrics text format (the gauges scan the store:
/// off the async workers).
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.host.engine().store().clone();
    let flushes = state.host.engine().flushes();
    let text = tokio::task::spawn_blocking(move || state.metrics.render(store.as_ref(), flushes))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("rendering metrics: {e}")))?
        .map_err(EngineError::from)?;
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response())
}

/// The OpenAPI 3.1 document.
pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::DOCUMENT,
    )
        .into_response()
}
