//! `/v1/nets`: deploying net files and listing versions.

use std::path::PathBuf;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use super::extract::Json;
use crate::host::NetVersion;

/// `POST /v1/nets` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeployRequest {
    /// A net file on the server's filesystem (relative: to its working dir).
    path: PathBuf,
}

/// What a deploy answers.
#[derive(Debug, Serialize)]
pub(crate) struct DeployedView {
    name: String,
    version: String,
    new: bool,
}

/// Deploys a net file: 201 when this version is new, 200 when it was there.
pub(crate) async fn deploy(
    State(state): State<AppState>,
    Json(request): Json<DeployRequest>,
) -> Result<(StatusCode, axum::Json<DeployedView>), ApiError> {
    let deployed = state.host.deploy(&request.path).await?;
    let status = if deployed.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(DeployedView {
            name: deployed.name,
            version: deployed.version,
            new: deployed.new,
        }),
    ))
}

/// What listing answers.
#[derive(Debug, Serialize)]
pub(crate) struct NetList {
    nets: Vec<NetVersion>,
}

/// Every deployed version, oldest first.
pub(crate) async fn list(State(state): State<AppState>) -> Result<axum::Json<NetList>, ApiError> {
    Ok(axum::Json(NetList {
        nets: state.host.nets()?,
    }))
}
