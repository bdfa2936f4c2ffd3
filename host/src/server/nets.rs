//! `/v1/nets`: deploying net files and listing versions.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorCode};
use super::extract::{Json, Query};
use crate::host::NetPage;
use crate::net::{Net, Performer};
use crate::verify::GateOptions;

/// `POST /v1/nets` body: a net file on the server, or one sent with its
/// components.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeployRequest {
    /// A net file in the server's nets directory (`[server] nets_dir`),
    /// relative to it; refused when none is configured.
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
            let file = confine(&state, path).await?;
            state.host.deploy_with(&file, &gate).await?
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

fn refused(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, message)
}

/// The file `path` names in the nets directory, with every guest it
/// declares inside that directory too. A path that is absolute or climbs
/// out (`..`) is refused before the filesystem is touched, so answers tell
/// nothing about files elsewhere; links are resolved and must stay inside.
async fn confine(state: &AppState, path: &Path) -> Result<PathBuf, ApiError> {
    let Some(dir) = state.nets_dir.clone() else {
        return Err(refused(
            "`path`: deploying a net file by path is off over HTTP (set `[server] nets_dir` in petrel.toml to allow the files of one directory); send the net's text as `source` with its `components` instead",
        ));
    };
    let plain = !path.as_os_str().is_empty()
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(refused(format!(
            "`path`: `{}` is not a plain relative path (expected a file name or `sub/dir/net.toml` inside the nets directory, without `..`)",
            path.display()
        )));
    }
    let path = path.to_path_buf();
    let limits = *state.host.engine().sandbox().limits();
    tokio::task::spawn_blocking(move || {
        let root = dir
            .canonicalize()
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the nets directory: {e}")))?;
        let inside = |p: &Path| p.canonicalize().ok().filter(|c| c.starts_with(&root));
        let Some(file) = inside(&root.join(&path)) else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("`path`: no net file `{}` in the nets directory", path.display()),
            ));
        };
        let net = Net::load_within(&file, &limits).map_err(|e| {
            ApiError::new(ErrorCode::InvalidNet, e.to_string())
        })?;
        for t in net.transitions() {
            if let Performer::Guest { declared, path } = &t.performer
                && inside(path).is_none()
            {
                return Err(refused(format!(
                    "transition `{}`: guest `{declared}` is not a file in the nets directory (a net deployed by path may use only guests beside it)",
                    t.name
                )));
            }
        }
        Ok(file)
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
}

/// `GET /v1/nets` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Versions after this one (the previous page's `next_after`).
    #[serde(default)]
    after: String,
    /// Versions per page (1 to 1000).
    #[serde(default)]
    limit: Option<usize>,
}

/// One page of the deployed versions, in version order.
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<NetPage>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    Ok(axum::Json(state.host.nets_page(&query.after, limit)?))
}

/// A deployed net version (or a net name: its newest version), with its
/// places, transitions and file.
pub(crate) async fn get(
    State(state): State<AppState>,
    super::extract::Path(version): super::extract::Path<String>,
) -> Result<axum::Json<crate::host::NetDetail>, ApiError> {
    Ok(axum::Json(state.host.net_detail(&version)?))
}

/// `GET /v1/nets/{version}/graph` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GraphQuery {
    /// `mermaid` (default) or `dot`.
    #[serde(default)]
    format: Option<String>,
    /// Count this case's tokens (else the version's live cases').
    #[serde(default)]
    case: Option<String>,
}

/// The net drawn as `petrel graph` draws it, with token counts; plain text.
pub(crate) async fn graph(
    State(state): State<AppState>,
    super::extract::Path(version): super::extract::Path<String>,
    Query(query): Query<GraphQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let format = match query.format.as_deref() {
        None | Some("mermaid") => crate::verify::GraphFormat::Mermaid,
        Some("dot") => crate::verify::GraphFormat::Dot,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!("`format`: expected `mermaid` or `dot`, got `{other}`"),
            ));
        }
    };
    let text = state
        .host
        .net_drawing(&version, format, query.case.as_deref())
        .await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
