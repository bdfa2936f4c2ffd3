//! `/v1/dead-letters`: firings that ran out of attempts.

use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, OptionalJson, Path, Query};
use crate::host::DeadLetterPage;
use crate::store::DeadLetter;

/// Dead letters per page unless `limit` says otherwise (each holds its
/// tokens' payloads: pages are kept small).
const DEFAULT_LIMIT: usize = 50;

/// `GET /v1/dead-letters` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Dead letters with an id above this (the previous page's `next_after`).
    #[serde(default)]
    after: u64,
    /// Dead letters per page (1 to 1000).
    #[serde(default)]
    limit: Option<usize>,
}

/// One page of dead letters, oldest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<DeadLetterPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    Ok(axum::Json(
        state.host.dead_letters_page(query.after, limit)?,
    ))
}

/// `POST /v1/dead-letters/{id}/retry` body (may be left out).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetryRequest {
    /// Who retries (free text, logged; default `api`).
    #[serde(default)]
    by: Option<String>,
}

/// Puts a dead letter's tokens back for its transition to fire again on
/// them; answers the dead letter as it was.
pub(crate) async fn retry(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    OptionalJson(request): OptionalJson<RetryRequest>,
) -> Result<axum::Json<DeadLetter>, ApiError> {
    let by = request.by.unwrap_or_else(|| "api".into());
    Ok(axum::Json(state.host.retry_dead_letter(id, &by).await?))
}

/// `POST /v1/dead-letters/{id}/discard` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscardRequest {
    /// Why (logged).
    reason: String,
    /// Who discards (free text, logged; default `api`).
    #[serde(default)]
    by: Option<String>,
}

/// Drops a dead letter's tokens for good; answers the dead letter as it was.
pub(crate) async fn discard(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    Json(request): Json<DiscardRequest>,
) -> Result<axum::Json<DeadLetter>, ApiError> {
    Ok(axum::Json(
        state
            .host
            .discard_dead_letter(id, request.by.as_deref().unwrap_or("api"), &request.reason)
            .await?,
    ))
}
