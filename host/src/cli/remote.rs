//! A client for a running `petrel serve`: what the commands given `--url`
//! use instead of opening the store. It sends `PETREL_API_TOKEN` as the
//! bearer token, turns the API's error bodies (`{"error": {"code",
//! "message"}}`) into CLI errors naming the URL, and reads at most
//! [`MAX_ANSWER`] bytes of an answer.

use std::time::Duration;

use anyhow::anyhow;
use petrel::host::TokenView;
use petrel::store::CaseRecord;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{BAD_INPUT, Failure, PROBLEM, bad_input};

/// Most bytes of one answer read: a full page of dead letters with their
/// payloads fits, a server that streams without end does not.
const MAX_ANSWER: usize = 64 << 20;

/// Longest one request may take (a start or a cancel waits for durability).
const TIMEOUT: Duration = Duration::from_secs(120);

/// A running `petrel serve`.
#[derive(Debug)]
pub(crate) struct Remote {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

/// A case as `GET /v1/cases/{id}` answers it: the record, its tokens (payloads
/// as JSON) and the ids of its dead letters.
#[derive(Debug, Deserialize)]
pub(crate) struct RemoteCase {
    #[serde(flatten)]
    pub(crate) record: CaseRecord,
    pub(crate) tokens: Vec<RemoteToken>,
    pub(crate) dead_letters: Vec<u64>,
}

/// A token of [`RemoteCase`].
#[derive(Debug, Deserialize)]
pub(crate) struct RemoteToken {
    pub(crate) place: String,
    seq: u64,
    payload: Value,
}

impl From<RemoteToken> for TokenView {
    fn from(t: RemoteToken) -> TokenView {
        TokenView {
            place: t.place,
            seq: t.seq,
            payload: t.payload,
        }
    }
}

/// The API's error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

impl Remote {
    /// A client for the server at `url` (`http://HOST:PORT`, optionally with
    /// a path prefix), with the token `PETREL_API_TOKEN` holds, if any.
    pub(crate) fn new(url: &str) -> Result<Remote, Failure> {
        let base = Url::parse(url).map_err(|e| {
            bad_input(anyhow!(
                "--url `{url}`: {e} (expected the address `petrel serve` listens on, e.g. http://127.0.0.1:8080)"
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad_input(anyhow!(
                "--url `{url}`: expected an http:// or https:// address, e.g. http://127.0.0.1:8080"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| Failure::from(anyhow!("cannot make an HTTP client: {e}")))?;
        let token = std::env::var("PETREL_API_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        Ok(Remote { http, base, token })
    }

    /// The server's address as given.
    pub(crate) fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The URL of the path made of `segments` (each percent-encoded).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `GET` the path `segments` with `query`; the answer as `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, Failure> {
        let request = self.request(Method::GET, segments).query(query);
        self.send(request).await
    }

    /// `POST` `body` (if any) to the path `segments`; the answer as `T`.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<T, Failure> {
        let request = self.request(Method::POST, segments);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        self.send(request).await
    }

    /// A case with its tokens (`GET /v1/cases/{id}`).
    pub(crate) async fn case(&self, id: &str) -> Result<RemoteCase, Failure> {
        self.get(&["v1", "cases", id], &[]).await
    }

    fn request(&self, method: Method, segments: &[&str]) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(segments));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Failure> {
        let base = self.base();
        let mut response = request.send().await.map_err(|e| {
            Failure::from(anyhow!(
                "cannot reach petrel serve at {base}: {} (is it running, and is this its --listen address?)",
                chain(&e)
            ))
        })?;
        let status = response.status();
        let mut body = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|e| {
                Failure::from(anyhow!("{base}: the answer broke off: {}", chain(&e)))
            })?;
            let Some(chunk) = chunk else { break };
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(anyhow!(
                    "{base}: the answer is larger than {} MiB; refused",
                    MAX_ANSWER >> 20
                )
                .into());
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(refusal(base, status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Failure::from(anyhow!(
                "{base}: the answer ({status}) is not what petrel serve sends: {e}"
            ))
        })
    }
}

/// The error an unsuccessful answer means: the API's message, with a hint
/// for a missing token; bad input (exit 2) for what the request got wrong.
fn refusal(base: &str, status: StatusCode, body: &[u8]) -> Failure {
    let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.error.code, b.error.message),
        Err(_) => {
            let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
            (status.as_str().to_string(), text)
        }
    };
    let hint = match status {
        StatusCode::UNAUTHORIZED => {
            " (set PETREL_API_TOKEN to the token the server was started with)"
        }
        _ => "",
    };
    Failure {
        code: if status.is_client_error() {
            BAD_INPUT
        } else {
            PROBLEM
        },
        error: anyhow!("{base}: {message} ({code}){hint}"),
    }
}

/// An error with its causes, one after the other.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> Remote {
        Remote::new(url).unwrap_or_else(|f| panic!("{url}: {:#}", f.error))
    }

    #[test]
    fn paths_are_encoded_under_the_base() {
        let remote = client("http://127.0.0.1:8080/petrel/");
        assert_eq!(
            remote.url(&["v1", "cases", "a b/c"]).as_str(),
            "http://127.0.0.1:8080/petrel/v1/cases/a%20b%2Fc"
        );
        let bare = client("http://127.0.0.1:8080");
        assert_eq!(
            bare.url(&["v1", "cases"]).as_str(),
            "http://127.0.0.1:8080/v1/cases"
        );
        assert_eq!(bare.base(), "http://127.0.0.1:8080");
    }

    #[test]
    fn a_url_that_is_not_http_is_bad_input() {
        for url in ["127.0.0.1:8080", "ftp://host", "not a url"] {
            let failure = Remote::new(url).unwrap_err();
            assert_eq!(failure.code, BAD_INPUT, "{url}");
            assert!(
                failure.error.to_string().contains(url),
                "{:#}",
                failure.error
            );
        }
    }

    #[test]
    fn error_bodies_become_messages_naming_the_server() {
        let body = br#"{"error":{"code":"not_found","message":"no case `x`"}}"#;
        let failure = refusal("http://h:1", StatusCode::NOT_FOUND, body);
        assert_eq!(failure.code, BAD_INPUT);
        assert_eq!(
            failure.error.to_string(),
            "http://h:1: no case `x` (not_found)"
        );
        let failure = refusal("http://h:1", StatusCode::UNAUTHORIZED, b"{}");
        assert!(failure.error.to_string().contains("PETREL_API_TOKEN"));
        let failure = refusal("http://h:1", StatusCode::BAD_GATEWAY, b"<html>");
        assert_eq!(failure.code, PROBLEM);
        assert_eq!(failure.error.to_string(), "http://h:1: <html> (502)");
    }
}
