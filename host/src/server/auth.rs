//! Bearer-token authentication: `Authorization: Bearer <token>` on every
//! route but the probes, compared in constant time.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::{ApiError, ErrorCode};

/// The token requests must present. Only its hash is kept, so comparing
/// takes the same time whatever the length or content of the guess.
#[derive(Clone)]
pub(crate) struct BearerToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

impl BearerToken {
    pub(crate) fn new(token: &str) -> BearerToken {
        BearerToken {
            digest: *blake3::hash(token.as_bytes()).as_bytes(),
        }
    }

    /// Whether `presented` is the token.
    fn matches(&self, presented: &str) -> bool {
        let digest = blake3::hash(presented.as_bytes());
        self.digest.ct_eq(digest.as_bytes()).into()
    }

    /// Whether the `Authorization` header value carries the token.
    fn admits(&self, header: Option<&HeaderValue>) -> bool {
        let Some(value) = header.and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, token)) = value.split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer") && self.matches(token.trim())
    }
}

/// Middleware: refuses a request without the right token with a 401 and
/// `WWW-Authenticate: Bearer`.
pub(crate) async fn require(
    State(token): State<BearerToken>,
    request: Request,
    next: Next,
) -> Response {
    if token.admits(request.headers().get(header::AUTHORIZATION)) {
        return next.run(request).await;
    }
    let message = if request.headers().contains_key(header::AUTHORIZATION) {
        "the bearer token is wrong"
    } else {
        "missing `Authorization: Bearer <token>` header"
    };
    let mut response = ApiError::new(ErrorCode::Unauthorized, message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"petrel\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_only_the_right_bearer_token() {
        let token = BearerToken::new("s3cret-token");
        let header = |s: &'static str| Some(HeaderValue::from_static(s));
        assert!(token.admits(header("Bearer s3cret-token").as_ref()));
        assert!(token.admits(header("bearer s3cret-token").as_ref()));
        assert!(!token.admits(header("Bearer s3cret-toke").as_ref()));
        assert!(!token.admits(header("Bearer s3cret-token2").as_ref()));
        assert!(!token.admits(header("Basic s3cret-token").as_ref()));
        assert!(!token.admits(header("s3cret-token").as_ref()));
        assert!(!token.admits(None));
    }

    #[test]
    fn debug_hides_the_token() {
        assert!(!format!("{:?}", BearerToken::new("abc")).contains("abc"));
    }
}
