//! What every request passes before its route: the `Host` check when the
//! server runs without a token, a cap on requests in flight, a deadline.
//!
//! Without a token only loopback may connect, but a web page can still
//! reach `127.0.0.1` through a name it controls (DNS rebinding): the
//! browser then sends that name as `Host`. Refusing every `Host` but a
//! loopback one (`localhost`, `127.0.0.1`, `[::1]`, any port) closes that.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::error::{ApiError, ErrorCode};

/// The guard's settings.
#[derive(Clone)]
pub(crate) struct Guard {
    /// Check `Host` (no token is required).
    pub(crate) loopback_only: bool,
    /// Requests in flight.
    pub(crate) in_flight: Arc<Semaphore>,
    /// Longest a request may take.
    pub(crate) timeout: Duration,
}

/// Whether the `Host` header value names a loopback host.
pub(crate) fn is_loopback_host(value: &str) -> bool {
    // `[::1]:8080`, `[::1]`, `localhost:8080`, `127.0.0.1`.
    let host = if let Some(rest) = value.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.starts_with(':') => ip,
            _ => return false,
        }
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            Some(_) => return false,
            None => value,
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Middleware: refuses a non-loopback `Host` when no token is required,
/// sheds a request past the in-flight cap, cuts one past the deadline (the
/// probes only get the `Host` check).
pub(crate) async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let host_ok = match request.headers().get(header::HOST) {
        None => true,
        Some(value) => value.to_str().is_ok_and(is_loopback_host),
    };
    if guard.loopback_only && !host_ok {
        return ApiError::new(
            ErrorCode::ForbiddenHost,
            "the server runs without an API token, so it answers only requests addressed to a loopback host (`Host: localhost` or `127.0.0.1`); set a token to serve other names",
        )
        .into_response();
    }
    // Probes stay cheap and answer even when the server is saturated.
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    let Ok(_permit) = guard.in_flight.clone().try_acquire_owned() else {
        return ApiError::new(
            ErrorCode::Overloaded,
            "too many requests in flight; retry shortly (`[server] max_requests` in petrel.toml)",
        )
        .into_response();
    };
    match tokio::time::timeout(guard.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorCode::Timeout,
            format!(
                "the request took longer than {} ms (`[server] request_timeout_ms` in petrel.toml)",
                guard.timeout.as_millis()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_hosts_pass() {
        for ok in [
            "localhost",
            "localhost:8080",
            "LOCALHOST:1",
            "localhost.:80",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:9",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:8080",
            "[::2]:80",
            "[::1]x",
            "localhost:http",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
