//! Forwarding to the host running a case, when several hosts share a
//! store: a command on a case another host runs (a cancel, a dead letter's
//! retry or discard, a worker's complete, fail or extend) is refused by
//! the engine with the other host's URL; this layer then sends the same
//! request there once (same method, path, body, content type and bearer
//! token, marked `petrel-forwarded` so it is never sent on again) and
//! answers with that host's answer. Without a URL, or when that host does
//! not answer, the refusal (409, naming the host) stands. Bodies are
//! bounded by `max_body_bytes` both ways; the forwarded call by the
//! request deadline.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorCode};

/// Marks a 409 whose case another host runs, with that host's URL.
#[derive(Debug, Clone)]
pub(crate) struct RunBy(pub(crate) String);

/// The header marking a forwarded request.
const FORWARDED: HeaderName = HeaderName::from_static("petrel-forwarded");

/// What forwarding needs: a client, and the bounds.
#[derive(Clone)]
pub(crate) struct Forwarder {
    http: reqwest::Client,
    max_body_bytes: usize,
}

impl Forwarder {
    /// A forwarder whose calls take at most `timeout`.
    pub(crate) fn new(max_body_bytes: usize, timeout: Duration) -> Forwarder {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Forwarder {
            http,
            max_body_bytes,
        }
    }
}

/// The layer: see the module docs.
pub(crate) async fn to_owner(
    State(forwarder): State<Forwarder>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || request.headers().contains_key(&FORWARDED) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, forwarder.max_body_bytes).await else {
        let message = format!(
            "the request body is over {} bytes (`max_body_bytes`)",
            forwarder.max_body_bytes
        );
        return ApiError::new(ErrorCode::PayloadTooLarge, message).into_response();
    };
    let (method, uri, headers) = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
    );
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    let Some(RunBy(url)) = response.extensions().get::<RunBy>().cloned() else {
        return response;
    };
    let target = format!(
        "{}{}",
        url.trim_end_matches('/'),
        uri.path_and_query().map_or("", |p| p.as_str())
    );
    let mut forwarded = forwarder
        .http
        .request(method, &target)
        .header(FORWARDED, HeaderValue::from_static("1"))
        .body(bytes);
    for name in [header::CONTENT_TYPE, header::AUTHORIZATION] {
        if let Some(value) = headers.get(&name) {
            forwarded = forwarded.header(name, value);
        }
    }
    match relay(forwarded, forwarder.max_body_bytes).await {
        Ok(answer) => {
            tracing::debug!(%target, status = answer.status().as_u16(), "forwarded to the host running the case");
            answer
        }
        Err(e) => {
            tracing::warn!(%target, error = %e, "cannot forward to the host running the case");
            response
        }
    }
}

/// Sends `request` and turns its answer (status, content type, body of at
/// most `max_bytes`) into a response.
async fn relay(request: reqwest::RequestBuilder, max_bytes: usize) -> Result<Response, String> {
    let mut answer = request.send().await.map_err(|e| e.to_string())?;
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max_bytes {
            return Err(format!("its answer is over {max_bytes} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Some(value) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    Ok(response)
}
