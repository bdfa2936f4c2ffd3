//! `/v1/nets`: deploying net files and listing versions.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::Json;
use crate::host::NetVersion;
use crate::verify::GateOptions;

/// `POST /v1/nets` body: a net file on the server, or one sent with its
/// components.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeployRequest {
    /// A net file on the server's filesystem (relative: to its working dir).
    #[serde(default)]
    path: Option<PathBuf>,
    /// The text of a net file (instead of `path`).
    #[serde(default)]
    source: Option<String>,
    /// With `source`: each guest's component, base64-encoded, under its
    /// `guest` path as the net declares it.
    #[serde(default)]
    components: BTreeMap<String, String>,
    /// Deploy even when the deploy check finds problems.
    #[serde(default)]
    allow_problems: bool,
}

impl DeployRequest {
    /// The uploaded components' bytes.
    fn components(&self) -> Result<HashMap<String, Vec<u8>>, ApiError> {
        self.components
            .iter()
            .map(|(key, text)| {
                let bytes = BASE64.decode(text.as_bytes()).map_err(|e| {
                    ApiError::new(ErrorCode::InvalidRequest, format!(
                        "`components.{key}`: not base64 ({e}); send the component's bytes base64-encoded"
                    ))
                })?;
                Ok((key.clone(), bytes))
            })
            .collect()
    }
}

/// What a deploy answers.
#[derive(Debug, Serialize)]
pub(crate) struct DeployedView {
    name: String,
    version: String,
    new: bool,
    warnings: Vec<String>,
}

/// Deploys a net file: 201 when this version is new, 200 when it was there.
pub(crate) async fn deploy(
    State(state): State<AppState>,
    Json(request): Json<DeployRequest>,
) -> Result<(StatusCode, axum::Json<DeployedView>), ApiError> {
    let gate = GateOptions::allowing(request.allow_problems);
    let deployed = match (&request.path, &request.source) {
        (Some(path), None) if request.components.is_empty() => {
            state.host.deploy_with(path, &gate).await?
        }
        (Some(_), None) => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "`components`: only with `source` (a net file at `path` names its guests' files)",
            ));
        }
        (None, Some(source)) => {
            let components = request.components()?;
            state
                .host
                .deploy_source_with(source, &components, &gate)
                .await?
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "`path` or `source`: give exactly one (a net file on the server, or the net's text with `components`)",
            ));
        }
    };
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
            warnings: deployed.warnings,
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
