//! The one error body every endpoint answers with:
//! `{"error": {"code": "<stable snake_case code>", "message": "..."}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::engine::EngineError;
use crate::store::StoreError;

/// A stable error code; clients branch on it, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The body is not JSON, or a field is missing or has the wrong type.
    InvalidJson,
    /// A path parameter does not parse (e.g. a firing id that is not a number).
    InvalidPath,
    /// A query parameter does not parse.
    InvalidQuery,
    /// The request is well-formed but names something malformed (a bad case
    /// id, an undeclared place).
    InvalidRequest,
    /// The net file or one of its guests was refused.
    InvalidNet,
    /// No such net, case, dead letter or firing.
    NotFound,
    /// No such route.
    NoRoute,
    /// The route exists, not with this method.
    MethodNotAllowed,
    /// The request clashes with the current state (a lost or expired lease).
    Conflict,
    /// A case with this id exists already.
    CaseExists,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// Missing or wrong bearer token.
    Unauthorized,
    /// The server runs without a token and the request's `Host` is not a
    /// loopback name (DNS rebinding).
    ForbiddenHost,
    /// Too many requests in flight; retry shortly.
    Overloaded,
    /// The request took longer than the server allows.
    Timeout,
    /// The host is shutting down.
    Unavailable,
    /// Something failed inside the server (store, sandbox).
    Internal,
}

impl ErrorCode {
    /// Every code, for the OpenAPI check.
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidPath,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidNet,
        ErrorCode::NotFound,
        ErrorCode::NoRoute,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::CaseExists,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unauthorized,
        ErrorCode::ForbiddenHost,
        ErrorCode::Overloaded,
        ErrorCode::Timeout,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The HTTP status it goes with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidJson
            | ErrorCode::InvalidPath
            | ErrorCode::InvalidQuery
            | ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorCode::InvalidNet => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::NotFound | ErrorCode::NoRoute => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict | ErrorCode::CaseExists => StatusCode::CONFLICT,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::ForbiddenHost => StatusCode::FORBIDDEN,
            ErrorCode::Overloaded | ErrorCode::Timeout | ErrorCode::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The code as it appears in the body.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidPath => "invalid_path",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidNet => "invalid_net",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NoRoute => "no_route",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::CaseExists => "case_exists",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::ForbiddenHost => "forbidden_host",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An error answer: a code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong, naming the bad field or value.
    pub message: String,
    /// Where the host running the case listens, when another host runs it
    /// (the request is forwarded there: see `forward`).
    pub(crate) run_by: Option<String>,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            run_by: None,
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: ErrorCode,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
        };
        let mut response = (self.code.status(), Json(body)).into_response();
        if let Some(url) = self.run_by {
            response.extensions_mut().insert(super::forward::RunBy(url));
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let code = match &e {
            EngineError::Net(_) | EngineError::Deploy(_) | EngineError::Check(_) => {
                ErrorCode::InvalidNet
            }
            EngineError::Invalid(_) => ErrorCode::InvalidRequest,
            EngineError::NotFound(_) => ErrorCode::NotFound,
            EngineError::Conflict(_) => ErrorCode::Conflict,
            EngineError::Elsewhere { url, .. } => {
                let mut error = ApiError::new(ErrorCode::Conflict, e.to_string());
                error.run_by = url.clone();
                return error;
            }
            EngineError::Store(StoreError::CaseExists(_)) => ErrorCode::CaseExists,
            EngineError::Unavailable(_) => ErrorCode::Unavailable,
            EngineError::Store(_) | EngineError::Sandbox(_) | EngineError::Retention(_) => {
                ErrorCode::Internal
            }
        };
        if code == ErrorCode::Internal {
            tracing::error!(cause = %e, "request failed inside the host");
        }
        ApiError::new(code, e.to_string())
    }
}

/// The answer to a request for a route that does not exist.
pub(crate) async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        ErrorCode::NoRoute,
        format!("no route `{}` (see /openapi.json)", uri.path()),
    )
}

/// The answer to a known route with a method it does not take.
pub(crate) async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "`{}` does not take {method} (see /openapi.json)",
            uri.path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_stable_codes() {
        let cases = [
            (
                EngineError::NotFound("no case `x`".into()),
                404,
                "not_found",
            ),
            (EngineError::Conflict("lease lost".into()), 409, "conflict"),
            (
                EngineError::Store(StoreError::CaseExists("x".into())),
                409,
                "case_exists",
            ),
            (
                EngineError::Invalid("bad id".into()),
                400,
                "invalid_request",
            ),
            (
                EngineError::Unavailable("stopping".into()),
                503,
                "unavailable",
            ),
            (EngineError::Sandbox("boom".into()), 500, "internal"),
        ];
        for (e, status, code) in cases {
            let api = ApiError::from(e);
            assert_eq!(api.code.status().as_u16(), status);
            assert_eq!(api.code.as_str(), code);
        }
    }
}
