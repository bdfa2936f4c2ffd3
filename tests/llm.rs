//! The `llm` capability end to end: real guests calling `llm.complete`,
//! the host calling a real chat-completions server on 127.0.0.1:0, the
//! event log recording every exchange. In-process here; the real binary
//! (crash, key hygiene, config errors, demo) in `llm/binary.rs`.

mod binary;
pub(crate) mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel::engine::{Engine, EngineConfig, RunOptions, decode_payload};
use petrel::llm::{
    CassetteMode, CassetteProvider, ChatRequest, ExchangeRecord, LlmConfig, LlmProvider,
    OpenAiProvider, ProviderError, RetryPolicy, Secret,
};
use petrel::store::{CaseStatus, Event, Owner};
use serde_json::{Value, json};

use crate::util::write_net;
use server::{ChatServer, Reply, refused_url};

/// The API key the in-process tests send.
const KEY: &str = "sk-petrel-test-inprocess-0123456789";

const NET: &str = r#"
[net]
name = "llm-tests"

# A request asks one question or several (the tests start theirs in
# `prompt` or `prompts`).
[places.request]
start = true
[places.prompt]
[places.prompts]
[places.answer]
final = true
[places.answers]
final = true
[places.handoff]
final = true

[transitions.route]
external = true
inputs = { request = 1 }
outcomes.one = { prompt = 1 }
outcomes.many = { prompts = 1 }

[transitions.echo]
guest = "GUEST(llm_echo)"
inputs = { prompt = 1 }
outcomes.answered = { answer = 1 }
outcomes.late = { handoff = 1 }
on_timeout = "late"
capabilities = ["llm"]
timeout_ms = TIMEOUT_MS

[transitions.chain]
guest = "GUEST(llm_chain)"
inputs = { prompts = 1 }
outcomes.answered = { answers = 1 }
outcomes.late = { handoff = 1 }
on_timeout = "late"
capabilities = ["llm"]
timeout_ms = TIMEOUT_MS
llm = POLICY
"#;

/// An OpenAI-compatible provider for `url` with fast, bounded retries.
fn openai(url: &str, max_retries: u32) -> Arc<dyn LlmProvider> {
    let mut config = LlmConfig::openai(url, "test-model");
    config.retry = RetryPolicy {
        max_retries,
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
    };
    config.request_timeout = Duration::from_secs(10);
    Arc::new(OpenAiProvider::new(&config, Some(Secret::new(KEY))).unwrap())
}

struct Setup {
    _dir: tempfile::TempDir,
    engine: Engine,
    version: String,
}

async fn setup(provider: Arc<dyn LlmProvider>, timeout_ms: u64, policy: &str) -> Setup {
    setup_with(provider, timeout_ms, policy, 256).await
}

async fn setup_with(
    provider: Arc<dyn LlmProvider>,
    timeout_ms: u64,
    policy: &str,
    max_in_flight: usize,
) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(dir.path().join("data"));
    config.llm = Some(provider);
    config.max_in_flight = max_in_flight;
    let engine = Engine::open(config).await.unwrap();
    let text = NET
        .replace("TIMEOUT_MS", &timeout_ms.to_string())
        .replace("POLICY", policy);
    let net = write_net(dir.path(), "net.toml", &text);
    let version = engine.deploy(&net).await.unwrap().version;
    Setup {
        _dir: dir,
        engine,
        version,
    }
}

impl Setup {
    async fn start(&self, case: &str, tokens: &[(&str, Value)]) {
        let tokens = tokens
            .iter()
            .map(|(p, v)| (p.to_string(), v.clone()))
            .collect();
        self.engine
            .start_case(&self.version, case, tokens)
            .await
            .unwrap();
    }

    async fn run(&self) {
        self.engine.run(RunOptions::default()).await.unwrap();
    }

    /// The case's tokens as (place, JSON payload).
    fn tokens(&self, case: &str) -> Vec<(String, Value)> {
        self.engine
            .store()
            .tokens(&Owner::Case(case.into()))
            .unwrap()
            .into_iter()
            .map(|t| (t.place, decode_payload(&t.payload)))
            .collect()
    }

    fn status(&self, case: &str) -> CaseStatus {
        self.engine.store().case(case).unwrap().unwrap().status
    }

    fn events(&self, case: &str) -> Vec<Event> {
        self.engine
            .store()
            .events(Some(case), 0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect()
    }

    fn exchanges(&self, case: &str) -> Vec<ExchangeRecord> {
        self.events(case)
            .into_iter()
            .filter_map(|e| match e {
                Event::LlmExchange(x) => Some(*x),
                _ => None,
            })
            .collect()
    }
}

fn prompts(list: &[&str]) -> Value {
    json!({ "prompts": list })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_reach_the_guest_and_each_exchange_is_logged() {
    let server = ChatServer::start(|prompt, _, _| Reply::answer(&format!("echo: {prompt}"))).await;
    let s = setup(openai(&server.url, 0), 5000, "{}").await;
    s.start("c1", &[("prompt", json!({ "prompt": "hello there" }))])
        .await;
    s.run().await;

    assert_eq!(s.status("c1"), CaseStatus::Completed);
    let tokens = s.tokens("c1");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].0, "answer");
    assert_eq!(
        tokens[0].1,
        json!({ "text": "echo: hello there", "model": "test-model-1" })
    );

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(seen[0].body["model"], "test-model");
    assert_eq!(seen[0].body["messages"][0]["role"], "system");
    assert_eq!(seen[0].body["max_tokens"], 100);

    let x = s.exchanges("c1");
    assert_eq!(x.len(), 1, "{x:?}");
    let x = &x[0];
    assert_eq!((x.transition.as_str(), x.call, x.attempts), ("echo", 0, 1));
    assert_eq!(
        (x.provider.as_str(), x.model.as_str()),
        ("openai", "test-model")
    );
    assert_eq!(x.request.messages[0].content, "hello there");
    assert_eq!(x.request_hash, x.request.hash());
    assert_eq!(x.response.as_ref().unwrap().text, "echo: hello there");
    assert_eq!((x.usage.input_tokens, x.usage.output_tokens), (1, 9));
    assert_eq!((x.error.as_ref(), x.replayed_from), (None, None));
    // Logged before the firing that used it committed.
    let events = s.events("c1");
    let at = |f: &dyn Fn(&Event) -> bool| events.iter().position(f).unwrap();
    assert!(
        at(&|e| matches!(e, Event::LlmExchange(_)))
            < at(&|e| matches!(e, Event::FiringCompleted { .. }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_slower_than_the_deadline_sends_the_case_to_on_timeout() {
    let server =
        ChatServer::start(|_, _, _| Reply::answer("too late").after(Duration::from_secs(20))).await;
    let s = setup(openai(&server.url, 0), 400, "{}").await;
    s.start("slow", &[("prompt", json!({ "prompt": "anyone there?" }))])
        .await;
    let started = Instant::now();
    s.run().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    assert_eq!(s.status("slow"), CaseStatus::Completed);
    assert_eq!(
        s.tokens("slow"),
        vec![("handoff".to_string(), json!({ "prompt": "anyone there?" }))],
        "the input moves unchanged"
    );
    let events = s.events("slow");
    assert!(
        events.iter().any(|e| matches!(e, Event::FiringCompleted { outcome, timed_out: true, .. } if outcome == "late")),
        "{events:?}"
    );
    let x = s.exchanges("slow");
    assert_eq!(x.len(), 1, "{x:?}");
    assert!(
        matches!(x[0].error, Some(ProviderError::Timeout { .. })),
        "{x:?}"
    );
    assert!(x[0].latency_ms < 1000, "{x:?}");
    assert_eq!(server.count("anyone there?"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_its_retry_after_and_not_past_the_deadline() {
    let server = ChatServer::start(|prompt, before, _| match (prompt, before) {
        ("patient", 0) => Reply::status(429, r#"{"error":"slow down"}"#).header("retry-after", "1"),
        ("patient", _) => Reply::answer("thanks for waiting"),
        _ => Reply::status(429, r#"{"error":"come back tomorrow"}"#).header("retry-after", "30"),
    })
    .await;
    let s = setup(openai(&server.url, 3), 4000, "{}").await;
    s.start("p", &[("prompts", prompts(&["patient"]))]).await;
    s.start("q", &[("prompts", prompts(&["impatient"]))]).await;
    let started = Instant::now();
    s.run().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let seen = server.seen();
    let patient: Vec<_> = seen.iter().filter(|r| r.prompt == "patient").collect();
    assert_eq!(patient.len(), 2);
    let waited = patient[1].at - patient[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}, Retry-After was 1 s"
    );
    assert_eq!(s.tokens("p")[0].1["answers"], json!(["thanks for waiting"]));
    assert_eq!(s.exchanges("p")[0].attempts, 2);

    // Waiting 30 s would pass the deadline: the guest hears at once.
    assert_eq!(server.count("impatient"), 1);
    assert_eq!(s.tokens("q")[0].1["error_kind"], "rate_limited");
    let x = &s.exchanges("q")[0];
    assert_eq!(
        x.error,
        Some(ProviderError::RateLimited {
            retry_after_ms: Some(30_000)
        })
    );
    assert!(x.latency_ms < 1000, "{x:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_reported_and_malformed_answers_are_not_retried() {
    let server = ChatServer::start(|prompt, before, _| match prompt {
        "flaky" if before < 2 => Reply::status(500, "upstream hiccup"),
        "flaky" => Reply::answer("third time lucky"),
        "broken" => Reply::status(500, "always down"),
        _ => Reply::status(200, "this is not json"),
    })
    .await;
    let s = setup(openai(&server.url, 2), 5000, "{}").await;
    s.start("flaky", &[("prompts", prompts(&["flaky"]))]).await;
    s.start("broken", &[("prompts", prompts(&["broken"]))])
        .await;
    s.start("garbled", &[("prompts", prompts(&["garbled"]))])
        .await;
    s.run().await;

    assert_eq!(server.count("flaky"), 3);
    assert_eq!(
        s.tokens("flaky")[0].1["answers"],
        json!(["third time lucky"])
    );
    assert_eq!(s.exchanges("flaky")[0].attempts, 3);

    assert_eq!(server.count("broken"), 3, "1 attempt + max_retries 2");
    let out = &s.tokens("broken")[0].1;
    assert_eq!(out["error_kind"], "provider_error");
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500: always down"),
        "{out}"
    );
    let x = &s.exchanges("broken")[0];
    assert!(
        matches!(&x.error, Some(ProviderError::Status { status: 500, .. })),
        "{x:?}"
    );
    assert_eq!(x.attempts, 3);

    assert_eq!(
        server.count("garbled"),
        1,
        "a malformed answer is not retried"
    );
    assert_eq!(s.tokens("garbled")[0].1["error_kind"], "provider_error");
    let x = &s.exchanges("garbled")[0];
    assert!(
        matches!(&x.error, Some(ProviderError::Malformed { .. })),
        "{x:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_retried_then_reported() {
    let s = setup(openai(&refused_url(), 2), 5000, "{}").await;
    s.start("c", &[("prompts", prompts(&["hello?"]))]).await;
    s.run().await;
    let out = &s.tokens("c")[0].1;
    assert_eq!(out["error_kind"], "provider_error", "{out}");
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach the provider"),
        "{out}"
    );
    let x = &s.exchanges("c")[0];
    assert!(
        matches!(&x.error, Some(ProviderError::Connect { .. })),
        "{x:?}"
    );
    assert_eq!(x.attempts, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_past_max_calls_gets_budget_exceeded() {
    let server = ChatServer::start(|prompt, _, _| Reply::answer(prompt)).await;
    let s = setup(openai(&server.url, 0), 5000, "{ max_calls = 3 }").await;
    s.start("c", &[("prompts", prompts(&["a", "b", "c", "d", "e"]))])
        .await;
    s.run().await;
    let out = &s.tokens("c")[0].1;
    assert_eq!(out["answers"], json!(["a", "b", "c"]));
    assert_eq!(out["error_kind"], "budget_exceeded");
    assert_eq!(
        server.seen().len(),
        3,
        "the refused call never reached the provider"
    );
    let x = s.exchanges("c");
    assert_eq!(x.len(), 4);
    assert!(
        matches!(&x[3].error, Some(ProviderError::BudgetExceeded { message }) if message.contains("max_calls")),
        "{:?}",
        x[3]
    );
    assert_eq!(x[3].attempts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_past_its_token_budget_gets_budget_exceeded() {
    // Each call holds its estimate (prompt bytes / 4 + 16 output tokens = 18)
    // and is charged what the server reports (1 + 9 = 10). Two firings of one
    // case, one after the other: 10, 20, then 20 + 18 <= 40 → 30, then
    // 30 + 18 > 40 → refused.
    let server = ChatServer::start(|prompt, _, _| Reply::answer(prompt)).await;
    let s = setup_with(
        openai(&server.url, 0),
        5000,
        "{ case_token_budget = 40 }",
        1,
    )
    .await;
    s.start(
        "c",
        &[
            ("prompts", prompts(&["a", "b"])),
            ("prompts", prompts(&["c", "d"])),
        ],
    )
    .await;
    s.run().await;
    let outs: Vec<Value> = s.tokens("c").into_iter().map(|(_, v)| v).collect();
    assert_eq!(outs.len(), 2);
    let answered: usize = outs
        .iter()
        .map(|o| o["answers"].as_array().unwrap().len())
        .sum();
    assert_eq!(answered, 3, "{outs:?}");
    let refused: Vec<_> = outs
        .iter()
        .filter(|o| o["error_kind"] == "budget_exceeded")
        .collect();
    assert_eq!(refused.len(), 1, "{outs:?}");
    assert_eq!(server.seen().len(), 3);
    let x = s.exchanges("c");
    assert!(
        x.iter().any(|x| matches!(&x.error, Some(ProviderError::BudgetExceeded { message }) if message.contains("case_token_budget"))),
        "{x:?}"
    );
    let spent: u64 = x.iter().map(|x| x.usage.total()).sum();
    assert_eq!(spent, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_mode_writes_a_cassette_that_replays_offline() {
    let server =
        ChatServer::start(|prompt, _, _| Reply::answer(&format!("recorded: {prompt}"))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tapes/cassette.json");
    let toml = format!(
        "[llm]\nprovider = \"cassette\"\nbase_url = \"{}\"\napi_key_env = \"\"\n[llm.cassette]\nfile = \"tapes/cassette.json\"\nmode = \"record\"\n",
        server.url
    );
    let config_file = dir.path().join("petrel.toml");
    std::fs::write(&config_file, &toml).unwrap();
    let recording = petrel::config::Config::load(&config_file)
        .unwrap()
        .llm_provider()
        .unwrap()
        .unwrap();
    let soon = || Instant::now() + Duration::from_secs(5);
    let request = ChatRequest::user("what is a petrel?");
    let first = recording.complete(&request, soon()).await.result.unwrap();
    let again = recording.complete(&request, soon()).await.result.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.text, "recorded: what is a petrel?");
    assert_eq!(
        server.seen().len(),
        1,
        "recorded once, then answered from the cassette"
    );
    assert!(file.exists());

    let replaying = CassetteProvider::open(
        &petrel::llm::CassetteConfig {
            file,
            mode: CassetteMode::Replay,
        },
        None,
    )
    .unwrap();
    assert_eq!(
        replaying.complete(&request, soon()).await.result.unwrap(),
        first
    );
    let miss = replaying
        .complete(&ChatRequest::user("something else"), soon())
        .await
        .result
        .unwrap_err();
    assert!(matches!(miss, ProviderError::NotRecorded { .. }), "{miss}");
    assert_eq!(server.seen().len(), 1);
}
