//! OpenTelemetry traces through the real binary: a real OTLP/HTTP receiver
//! on 127.0.0.1:0 decodes what `petrel run` and `petrel serve` export
//! (protobuf `ExportTraceServiceRequest`), with real guests, a real store
//! and a real chat-completions server. Loopback only; every wait bounded.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use prost::Message as _;
use serde_json::json;

use crate::llm::server::{ChatServer, Reply};
use crate::server::Daemon;
use crate::util::{petrel_env, write_net};

/// Two branches of one case, fired in separate tasks at different times:
/// `chain` asks the language model, `flaky` fails once and is retried.
/// (They never join, so `petrel check` calls the net unsound: it is
/// deployed with `--allow-problems`.)
const NET: &str = r#"
[net]
name = "traced"
[places.prompts]
start = true
[places.plan]
start = true
[places.answers]
final = true
[places.done]
final = true

[transitions.chain]
guest = "GUEST(llm_chain)"
inputs = { prompts = 1 }
outcomes.answered = { answers = 1 }
capabilities = ["llm"]
timeout_ms = 30000

[transitions.flaky]
guest = "GUEST(flaky)"
inputs = { plan = 1 }
outcomes.ok = { done = 1 }
retry = { max_attempts = 3, initial_delay_ms = 10, max_delay_ms = 10, jitter = 0.0 }
"#;

const KEY_VAR: &str = "PETREL_TEST_OTEL_KEY";
const KEY: &str = "sk-petrel-otel-SECRET-77e1";
/// Most spans the receiver keeps.
const MAX_SPANS: usize = 10_000;

/// One received span, flattened.
#[derive(Debug, Clone)]
struct Got {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent: Vec<u8>,
    attributes: HashMap<String, String>,
    /// OTLP status code: 0 unset, 1 ok, 2 error.
    status: i32,
    links: Vec<Vec<u8>>,
}

impl Got {
    fn attr(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
    }
}

fn text(value: Option<&Any>) -> String {
    match value {
        Some(Any::StringValue(s)) => s.clone(),
        Some(Any::BoolValue(b)) => b.to_string(),
        Some(Any::IntValue(i)) => i.to_string(),
        Some(Any::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// An OTLP/HTTP traces receiver: `POST /v1/traces`, protobuf, gzip or not.
struct Receiver {
    base: String,
    spans: Arc<Mutex<Vec<Got>>>,
}

async fn traces(
    State(spans): State<Arc<Mutex<Vec<Got>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> ([(&'static str, &'static str); 1], Vec<u8>) {
    let body = if headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip")
    {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        body.to_vec()
    };
    let request = ExportTraceServiceRequest::decode(&body[..]).expect("an OTLP protobuf request");
    let mut got = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .map(|kv| text(kv.value.as_ref().and_then(|v| v.value.as_ref())))
            .unwrap_or_default();
        for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
            if got.len() >= MAX_SPANS {
                break;
            }
            got.push(Got {
                service: service.clone(),
                name: span.name,
                trace_id: span.trace_id,
                span_id: span.span_id,
                parent: span.parent_span_id,
                attributes: span
                    .attributes
                    .iter()
                    .map(|kv| {
                        let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
                        (kv.key.clone(), text(value))
                    })
                    .collect(),
                status: span.status.map_or(0, |s| s.code),
                links: span.links.into_iter().map(|l| l.trace_id).collect(),
            });
        }
    }
    (
        [("content-type", "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

impl Receiver {
    async fn start() -> Receiver {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/v1/traces", post(traces))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            base: format!("http://{addr}"),
            spans,
        }
    }

    fn spans(&self) -> Vec<Got> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) until `done` holds of the spans received.
    fn wait(&self, what: &str, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} after 10 s; received {spans:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn trace_of(case: &str) -> Vec<u8> {
    petrel::telemetry::case_trace_id(case).to_vec()
}

fn firings<'a>(spans: &'a [Got], case: &str, transition: &str) -> Vec<&'a Got> {
    let mut found: Vec<&Got> = spans
        .iter()
        .filter(|s| {
            s.name == "petrel.firing"
                && s.attr("case") == case
                && s.attr("transition") == transition
        })
        .collect();
    found.sort_by_key(|s| s.attr("attempt").to_string());
    found
}

/// Checks one case's spans: the firings with their attributes, the failed
/// attempt's error status, the LLM call under its firing with model and
/// tokens, all in the case's own trace.
fn check_case(spans: &[Got], case: &str, service: &str) {
    let trace = trace_of(case);
    let chain = firings(spans, case, "chain");
    assert_eq!(chain.len(), 1, "one chain firing of {case}: {spans:#?}");
    let chain = chain[0];
    for (key, value) in [
        ("net", "traced"),
        ("attempt", "1"),
        ("result", "fired"),
        ("outcome", "answered"),
    ] {
        assert_eq!(chain.attr(key), value, "{key} of {chain:#?}");
    }
    assert_eq!(chain.attr("version").len(), 16, "{chain:#?}");
    assert_eq!(chain.service, service);
    let flaky = firings(spans, case, "flaky");
    assert_eq!(flaky.len(), 2, "two flaky attempts of {case}: {spans:#?}");
    assert_eq!(
        (
            flaky[0].attr("attempt"),
            flaky[0].attr("result"),
            flaky[0].status
        ),
        ("1", "failed", 2),
        "{:#?}",
        flaky[0]
    );
    assert_eq!(
        (
            flaky[1].attr("attempt"),
            flaky[1].attr("result"),
            flaky[1].attr("outcome")
        ),
        ("2", "fired", "ok"),
        "{:#?}",
        flaky[1]
    );
    let llm: Vec<&Got> = spans
        .iter()
        .filter(|s| s.name == "petrel.llm" && s.attr("case") == case)
        .collect();
    assert_eq!(llm.len(), 1, "one llm call of {case}: {spans:#?}");
    let llm = llm[0];
    for (key, value) in [
        ("model", "test-model"),
        ("provider", "openai"),
        ("input_tokens", "1"),
        ("output_tokens", "9"),
        ("result", "ok"),
        ("transition", "chain"),
    ] {
        assert_eq!(llm.attr(key), value, "{key} of {llm:#?}");
    }
    assert!(llm.attributes.contains_key("latency_ms"), "{llm:#?}");
    assert_eq!(
        llm.parent, chain.span_id,
        "the llm call is a child of its firing"
    );
    // One case, one trace: every span that names the case, in any task.
    let of_case: Vec<&Got> = spans.iter().filter(|s| s.attr("case") == case).collect();
    assert!(of_case.len() >= 4, "{of_case:#?}");
    for s in of_case {
        assert_eq!(s.trace_id, trace, "{} of {case} outside its trace", s.name);
    }
}

#[test]
fn spans_of_firings_llm_calls_requests_and_commits_reach_an_otlp_receiver() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = rt.block_on(Receiver::start());
    let chat = rt.block_on(ChatServer::start(|prompt, _, _| {
        Reply::answer(&format!("answer to {prompt}"))
    }));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let net = write_net(dir.path(), "net.toml", NET);
    let llm = format!(
        "[llm]\nprovider = \"openai\"\nbase_url = \"{}\"\nmodel = \"test-model\"\napi_key_env = \"{KEY_VAR}\"\n",
        chat.url
    );
    // `petrel run` finds the receiver in petrel.toml...
    let file_config = dir.path().join("petrel.toml");
    std::fs::write(
        &file_config,
        format!(
            "{llm}\n[telemetry]\notlp_endpoint = \"{}\"\n",
            receiver.base
        ),
    )
    .unwrap();
    let file_s = file_config.to_str().unwrap();
    let env = [
        (KEY_VAR, KEY),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
        ("OTEL_SERVICE_NAME", ""),
    ];
    let prompt = |case: &str| format!(r#"prompts={{"prompts":["PROMPT-TEXT-{case}"]}}"#);
    let plan = r#"plan={"fail":1,"how":"error","to":"done"}"#;
    petrel_env(
        &[
            "start",
            net.to_str().unwrap(),
            "--data",
            data_s,
            "--config",
            file_s,
            "--case",
            "c1",
            "--token",
            &prompt("c1"),
            "--token",
            plan,
            // Two branches that never join: not a sound workflow net.
            "--allow-problems",
        ],
        &env,
    )
    .expect_code(0);
    petrel_env(&["run", "--data", data_s, "--config", file_s], &env).expect_code(0);

    // ... `petrel serve` in the standard environment variables.
    let env_config = dir.path().join("env.toml");
    std::fs::write(&env_config, &llm).unwrap();
    let serve_env = [
        (KEY_VAR, KEY),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base.as_str()),
        ("OTEL_SERVICE_NAME", "petrel-traced"),
    ];
    let daemon = Daemon::start(
        &data,
        &["--config", env_config.to_str().unwrap()],
        &serve_env,
        None,
    );
    rt.block_on(async {
        let body = json!({
            "net": "traced",
            "id": "c2",
            "tokens": [
                { "place": "prompts", "payload": { "prompts": ["PROMPT-TEXT-c2"] } },
                { "place": "plan", "payload": { "fail": 1, "how": "error", "to": "done" } },
            ],
        });
        daemon.api.post("/v1/cases", body).await.expect(201);
        daemon
            .api
            .wait_status("c2", "completed", Duration::from_secs(30))
            .await;
    });
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");

    let spans = receiver.wait("spans of both cases and the request", |spans| {
        let firing_of = |case: &str| firings(spans, case, "flaky").len() == 2;
        firing_of("c1") && firing_of("c2") && spans.iter().any(|s| s.name == "POST /v1/cases")
    });
    check_case(&spans, "c1", "petrel");
    check_case(&spans, "c2", "petrel-traced");
    assert_ne!(trace_of("c1"), trace_of("c2"));

    // The request that started c2, named by its route template.
    let started = spans
        .iter()
        .find(|s| s.name == "POST /v1/cases")
        .unwrap_or_else(|| panic!("no span of POST /v1/cases: {spans:#?}"));
    assert_eq!(started.attr("http.route"), "/v1/cases");
    assert_eq!(started.attr("http.request.method"), "POST");
    assert_eq!(started.attr("http.response.status_code"), "201");
    assert_eq!(started.service, "petrel-traced");

    // Store commits: their own traces, linked to the cases they change.
    let commits: Vec<&Got> = spans
        .iter()
        .filter(|s| s.name == "petrel.store.commit")
        .collect();
    assert!(!commits.is_empty(), "{spans:#?}");
    for case in ["c1", "c2"] {
        assert!(
            commits.iter().any(|c| c.links.contains(&trace_of(case))),
            "no commit linked to {case}'s trace: {commits:#?}"
        );
    }
    assert!(
        commits
            .iter()
            .all(|c| !c.attr("changes").is_empty() && c.trace_id != trace_of("c1"))
    );
    assert!(spans.iter().any(|s| s.name == "petrel.store.flush"));

    // Never the key; no prompt or answer without the opt-in.
    for s in &spans {
        for value in s.attributes.values() {
            assert!(!value.contains(KEY), "the key in {s:#?}");
            assert!(!value.contains("PROMPT-TEXT"), "a prompt in {s:#?}");
        }
    }
}
