//! A chat-completions server on 127.0.0.1:0 for the llm tests: answers as
//! its script says (status, headers, body, delay) and remembers every
//! request it saw, `Authorization` header included.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// What the server does with one request.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    /// A chat completion answering `text` (usage: 1 input, 9 output tokens).
    pub fn answer(text: &str) -> Reply {
        let body = json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": "test-model-1",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 1, "completion_tokens": 9, "total_tokens": 10 },
        });
        Reply {
            status: 200,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// An error status with this body.
    pub fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// The same reply, after `delay`.
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// The same reply with a header.
    pub fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub authorization: Option<String>,
    /// The last message's content.
    pub prompt: String,
    pub body: Value,
    pub at: Instant,
}

/// The script: (prompt, how many times this prompt was seen before,
/// the `Authorization` header) → reply.
type Script = dyn Fn(&str, usize, Option<&str>) -> Reply + Send + Sync;

struct Shared {
    seen: Mutex<Vec<Seen>>,
    script: Box<Script>,
}

/// The running server (stops with the runtime it was started on).
pub struct ChatServer {
    /// Base URL to configure (`http://127.0.0.1:PORT/v1`).
    pub url: String,
    shared: Arc<Shared>,
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let prompt = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let before = {
        let mut seen = shared.seen.lock().unwrap();
        let before = seen.iter().filter(|s| s.prompt == prompt).count();
        seen.push(Seen {
            authorization: authorization.clone(),
            prompt: prompt.clone(),
            body,
            at: Instant::now(),
        });
        before
    };
    let reply = (shared.script)(&prompt, before, authorization.as_deref());
    tokio::time::sleep(reply.delay).await;
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap(),
        [("content-type", "application/json")],
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

impl ChatServer {
    /// Starts a server on 127.0.0.1:0 (must run inside a tokio runtime).
    pub async fn start(
        script: impl Fn(&str, usize, Option<&str>) -> Reply + Send + Sync + 'static,
    ) -> ChatServer {
        let shared = Arc::new(Shared {
            seen: Mutex::new(Vec::new()),
            script: Box::new(script),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        ChatServer {
            url: format!("http://{addr}/v1"),
            shared,
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Requests whose prompt contains `text`.
    pub fn count(&self, text: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.prompt.contains(text))
            .count()
    }
}

/// A base URL where nothing listens (a port bound, then freed).
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1")
}
