//! `/v1/dead-letters`: firings that ran out of attempts.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use super::extract::{Json, Path};
use crate::store::DeadLetter;

/// What listing answers.
#[derive(Debug, Serialize)]
pub(crate) struct DeadLetterList {
    dead_letters: Vec<DeadLetter>,
}

/// Every dead letter, oldest first.
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<axum::Json<DeadLetterList>, ApiError> {
    Ok(axum::Json(DeadLetterList {
        dead_letters: state.host.dead_letters()?,
    }))
}

/// Puts a dead letter's tokens back; answers the dead letter as it was.
pub(crate) async fn retry(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<axum::Json<DeadLetter>, ApiError> {
    Ok(axum::Json(state.host.retry_dead_letter(id).await?))
}

/// `POST /v1/dead-letters/{id}/discard` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscardRequest {
    /// Why (logged).
    reason: String,
}

/// Drops a dead letter's tokens for good; answers the dead letter as it was.
pub(crate) async fn discard(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    Json(request): Json<DiscardRequest>,
) -> Result<axum::Json<DeadLetter>, ApiError> {
    Ok(axum::Json(
        state.host.discard_dead_letter(id, &request.reason).await?,
    ))
}
