//! `/v1/work`: workers claim firings of external transitions, then
//! complete, fail or extend them under the lease they got.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use crate::host::{
    ClaimRequest, Completion, LeaseInfo, OfferFilter, OpenOffer, WorkFailure, WorkToken,
};

/// `GET /v1/work` answer.
#[derive(Debug, Serialize)]
pub(crate) struct OfferList {
    offers: Vec<OpenOffer>,
}

/// The open offers (waiting for a worker or held by one), oldest first:
/// the dashboard's inbox lists the human ones.
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(filter): Query<OfferFilter>,
) -> Result<axum::Json<OfferList>, ApiError> {
    let offers = state.host.open_offers(filter).await?;
    Ok(axum::Json(OfferList { offers }))
}

/// Claims a firing: 200 with the work item, or 204 when none came within
/// `wait_ms` (cut to the server's longest long poll, and cut short when the
/// server shuts down).
pub(crate) async fn claim(
    State(state): State<AppState>,
    Json(mut request): Json<ClaimRequest>,
) -> Result<Response, ApiError> {
    let cap = u64::try_from(state.max_claim_wait.as_millis()).unwrap_or(u64::MAX);
    request.wait_ms = request.wait_ms.min(cap);
    let mut stopping = state.stopping.clone();
    let item = tokio::select! {
        item = state.host.claim(request) => item?,
        _ = stopping.wait_for(|s| *s) => None,
    };
    Ok(match item {
        Some(item) => axum::Json(item).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `POST /v1/work/{firing}/complete` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompleteRequest {
    lease: String,
    outcome: String,
    #[serde(default)]
    tokens: Vec<WorkToken>,
}

/// Completes a claimed firing with a declared outcome; 204 once durable.
pub(crate) async fn complete(
    State(state): State<AppState>,
    Path(firing): Path<u64>,
    Json(request): Json<CompleteRequest>,
) -> Result<StatusCode, ApiError> {
    let completion = Completion {
        outcome: request.outcome,
        tokens: request.tokens,
    };
    state
        .host
        .complete(firing, &request.lease, completion)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/work/{firing}/fail` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailRequest {
    lease: String,
    message: String,
    #[serde(default = "retryable_by_default")]
    retryable: bool,
}

fn retryable_by_default() -> bool {
    true
}

/// Reports a claimed firing failed; its retry policy applies. 204.
pub(crate) async fn fail(
    State(state): State<AppState>,
    Path(firing): Path<u64>,
    Json(request): Json<FailRequest>,
) -> Result<StatusCode, ApiError> {
    let failure = WorkFailure {
        message: request.message,
        retryable: request.retryable,
    };
    state.host.fail(firing, &request.lease, failure).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/work/{firing}/extend` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtendRequest {
    lease: String,
    lease_ms: u64,
}

/// Extends a claimed firing's lease; answers the new lease.
pub(crate) async fn extend(
    State(state): State<AppState>,
    Path(firing): Path<u64>,
    Json(request): Json<ExtendRequest>,
) -> Result<axum::Json<LeaseInfo>, ApiError> {
    Ok(axum::Json(
        state
            .host
            .extend(firing, &request.lease, request.lease_ms)
            .await?,
    ))
}
