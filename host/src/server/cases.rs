//! `/v1/cases`: starting cases, reading them and their history.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, OptionalJson, Path, Query};
use crate::engine::EngineError;
use crate::host::{CaseFilter, CasePage, CaseView, HistoryPage, WorkToken};
use crate::store::{CaseRecord, EventFilter};

/// Events per history page unless `limit` says otherwise.
const DEFAULT_HISTORY_LIMIT: usize = 100;
/// Cases per page unless `limit` says otherwise.
const DEFAULT_LIST_LIMIT: usize = 50;

/// `POST /v1/cases` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartRequest {
    /// Net name (its newest version) or version.
    net: String,
    /// Case id; a unique one is made up when absent.
    #[serde(default)]
    id: Option<String>,
    /// The case's first tokens.
    #[serde(default)]
    tokens: Vec<WorkToken>,
}

/// A fresh case id: `c-<ms since the epoch, hex>-<random hex>`.
fn fresh_case_id() -> String {
    let random = crate::random::random_u64();
    format!("c-{:x}-{:016x}", crate::store::now_ms(), random)
}

/// Starts a case; answers 201 with its record once it is durable.
pub(crate) async fn start(
    State(state): State<AppState>,
    Json(request): Json<StartRequest>,
) -> Result<Response, ApiError> {
    let id = request.id.unwrap_or_else(fresh_case_id);
    let tokens = request
        .tokens
        .into_iter()
        .map(|t| (t.place, t.payload))
        .collect();
    let record = state.host.start_case(&request.net, &id, tokens).await?;
    let location = HeaderValue::from_str(&format!("/v1/cases/{}", record.id))
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(record),
    )
        .into_response())
}

/// `GET /v1/cases` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Only cases of this net (by name).
    #[serde(default)]
    net: Option<String>,
    /// Only cases in these statuses, comma-separated.
    #[serde(default)]
    status: Option<String>,
    /// Only cases started at or after this time (RFC 3339, ms, or a
    /// duration ago).
    #[serde(default)]
    started_after: Option<String>,
    /// Only cases started before this time (same forms).
    #[serde(default)]
    started_before: Option<String>,
    /// The previous page's `next_after`.
    #[serde(default)]
    after: Option<String>,
    /// Cases per page (1 to 1000).
    #[serde(default)]
    limit: Option<usize>,
}

/// One page of cases, newest started first.
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<CasePage>, ApiError> {
    let filter = CaseFilter::parse(
        query.net.as_deref(),
        query.status.as_deref(),
        query.started_after.as_deref(),
        query.started_before.as_deref(),
        crate::store::now_ms(),
    )
    .map_err(|(name, m)| EngineError::Invalid(format!("`{name}`: {m}")))?;
    let limit = query.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    Ok(axum::Json(state.host.cases_page(
        &filter,
        query.after.as_deref(),
        limit,
    )?))
}

/// A case with its tokens and dead letters.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<CaseView>, ApiError> {
    Ok(axum::Json(state.host.case(&id)?))
}

/// `POST /v1/cases/{id}/cancel` body (may be left out).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelRequest {
    /// Why (logged with the case).
    #[serde(default)]
    reason: Option<String>,
    /// Who cancels (free text, logged; default `api`).
    #[serde(default)]
    by: Option<String>,
}

/// Cancels a case: it aborts and compensates as when a guest aborts it.
/// Answers its record once durable.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<CancelRequest>,
) -> Result<axum::Json<CaseRecord>, ApiError> {
    let reason = request
        .reason
        .unwrap_or_else(|| "cancelled by an operator".into());
    let by = request.by.unwrap_or_else(|| "api".into());
    Ok(axum::Json(state.host.cancel_case(&id, &by, &reason).await?))
}

/// `GET /v1/cases/{id}/history` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    /// Events after this seq (the previous page's `next_after`).
    #[serde(default)]
    after: u64,
    /// Events per page (1 to 1000).
    #[serde(default)]
    limit: Option<usize>,
    /// Only these event types, comma-separated (`firing_completed,llm_exchange`).
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// Only events written at or after this time (RFC 3339, ms since the
    /// epoch, or a duration ago such as `90m`).
    #[serde(default)]
    since: Option<String>,
    /// Only events written before this time (same forms as `since`).
    #[serde(default)]
    until: Option<String>,
}

impl HistoryQuery {
    /// The filter the query asks for, or which parameter is wrong and why.
    fn filter(&self, now_ms: u64) -> Result<EventFilter, EngineError> {
        let (kind, since, until) = (&self.kind, &self.since, &self.until);
        EventFilter::parse(kind.as_deref(), since.as_deref(), until.as_deref(), now_ms)
            .map_err(|(name, m)| EngineError::Invalid(format!("`{name}`: {m}")))
    }
}

/// One page of a case's event log.
pub(crate) async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<axum::Json<HistoryPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    let filter = query.filter(crate::store::now_ms())?;
    Ok(axum::Json(state.host.history_matching(
        &id,
        query.after,
        limit,
        &filter,
    )?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fresh_case_ids_are_valid_and_distinct() {
        let a = super::fresh_case_id();
        let b = super::fresh_case_id();
        assert_ne!(a, b);
        crate::store::check_case_id(&a).unwrap();
    }
}
