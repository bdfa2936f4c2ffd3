//! `petrel bench-llm` (hidden): many concurrent cases whose language model
//! is slow, to show a slow model does not serialise the host.
//!
//! Starts a chat-completions endpoint on 127.0.0.1:0 that answers every
//! request after `--delay-ms`, deploys a one-transition net whose guest
//! (`llm_echo`) asks it one question, starts `--cases` cases and times one
//! `run` that fires them all (reserve, guest, HTTP call, journal flush,
//! commit, group flush). The endpoint is a minimal HTTP/1.1 responder (a
//! fixture, keep-alive included); the client is the real one (reqwest).
//! `--cassette` takes HTTP out (the host's own cost); `--http-only` takes
//! the engine out (the HTTP stack's own cost).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use petrel::engine::{Engine, EngineConfig, RunOptions};
use petrel::llm::{
    CassetteProvider, ChatMessage, ChatRequest, ChatResponse, Interaction, LlmConfig, LlmProvider,
    RetryPolicy, Usage,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{OK, Outcome, PROBLEM, guests};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Cases started (one LLM call each).
    #[arg(long, default_value_t = 1000)]
    cases: usize,
    /// How long the endpoint takes to answer.
    #[arg(long, default_value_t = 50)]
    delay_ms: u64,
    /// Guest instances alive at once (pool slots); default: one per case.
    #[arg(long)]
    slots: Option<u32>,
    /// Firings in flight at once; default: one per case.
    #[arg(long)]
    in_flight: Option<usize>,
    /// Answer from an in-memory cassette with the same delay (the host's
    /// own cost, no HTTP).
    #[arg(long)]
    cassette: bool,
    /// Only the provider: the same number of concurrent calls, no engine
    /// (the HTTP stack's own cost).
    #[arg(long)]
    http_only: bool,
}

const NET: &str = r#"
[net]
name = "bench-llm"
[places.prompt]
start = true
[places.answer]
final = true
[transitions.ask]
guest = "GUEST"
inputs = { prompt = 1 }
outcomes.answered = { answer = 1 }
capabilities = ["llm"]
timeout_ms = 30000
"#;

/// Concurrent requests now and at most.
#[derive(Default)]
struct Load {
    now: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicUsize,
    /// Arrival of the first and the last request.
    arrivals: std::sync::Mutex<Option<(Instant, Instant)>>,
}

const ANSWER: &str = r#"{"id":"b","object":"chat.completion","model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}"#;

/// Serves one keep-alive connection: each request is answered after `delay`.
async fn serve(mut stream: TcpStream, delay: Duration, load: Arc<Load>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(8192);
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf.drain(..head_end + length);
        let now = load.now.fetch_add(1, Ordering::SeqCst) + 1;
        load.peak.fetch_max(now, Ordering::SeqCst);
        load.total.fetch_add(1, Ordering::SeqCst);
        {
            let now = Instant::now();
            let mut a = load.arrivals.lock().expect("arrivals lock");
            *a = Some(a.map_or((now, now), |(first, _)| (first, now)));
        }
        tokio::time::sleep(delay).await;
        load.now.fetch_sub(1, Ordering::SeqCst);
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER}",
            ANSWER.len()
        );
        stream.write_all(response.as_bytes()).await?;
    }
}

async fn endpoint(delay: Duration, load: Arc<Load>) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve(stream, delay, load.clone()));
        }
    });
    Ok(format!("http://{addr}/v1"))
}

/// The in-memory cassette `--cassette` answers from: the guest's exact
/// requests, each after `delay_ms`.
fn cassette(cases: usize, delay_ms: u64) -> CassetteProvider {
    let interactions = (0..cases)
        .map(|i| Interaction {
            request_hash: String::new(),
            // What `llm_echo` asks (see guests/llm-echo).
            request: ChatRequest {
                system: Some("Answer in one short sentence.".into()),
                messages: vec![ChatMessage {
                    role: "user".into(),
                    content: prompt(i),
                }],
                max_output_tokens: 100,
                temperature: Some(0.0),
                json_schema: None,
            },
            response: ChatResponse {
                text: "ok".into(),
                model: "bench-model".into(),
                usage: Usage::default(),
            },
            delay_ms,
        })
        .collect();
    CassetteProvider::new("bench-cassette.json".into(), interactions, None)
}

fn prompt(i: usize) -> String {
    format!("question {i}")
}

/// `--http-only`: the same number of concurrent calls straight to the
/// provider, no engine.
async fn http_only(
    provider: Arc<dyn LlmProvider>,
    cases: usize,
) -> anyhow::Result<(Duration, usize)> {
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..cases {
        let provider = provider.clone();
        calls.spawn(async move {
            let request = ChatRequest::user(prompt(i));
            let deadline = Instant::now() + Duration::from_secs(30);
            provider.complete(&request, deadline).await.result.is_ok()
        });
    }
    let mut ok = 0;
    while let Some(done) = calls.join_next().await {
        ok += usize::from(done?);
    }
    Ok((started.elapsed(), ok))
}

pub(crate) async fn run(args: Args) -> Outcome {
    let wasm = guests::build()?.components.join("llm_echo.wasm");
    let dir = tempfile::Builder::new()
        .prefix("petrel-bench-llm-")
        .tempdir()
        .map_err(anyhow::Error::from)?;
    let load = Arc::new(Load::default());
    let url = endpoint(Duration::from_millis(args.delay_ms), load.clone()).await?;
    let mut llm = LlmConfig::openai(url.as_str(), "bench-model");
    llm.retry = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    };
    let provider: Arc<dyn LlmProvider> = if args.cassette {
        Arc::new(cassette(args.cases, args.delay_ms))
    } else {
        petrel::llm::provider(&llm).context("llm provider")?
    };
    let what = if args.cassette {
        "an in-memory cassette answering"
    } else {
        "a loopback chat-completions endpoint answering"
    };
    if args.http_only {
        let (elapsed, ok) = http_only(provider, args.cases).await?;
        println!(
            "{ok}/{} concurrent calls (no engine) to {what} after {} ms: {:.0} ms",
            args.cases,
            args.delay_ms,
            elapsed.as_secs_f64() * 1e3
        );
        return Ok(if ok == args.cases { OK } else { PROBLEM });
    }
    let mut config = EngineConfig::new(dir.path().join("data"));
    config.instance_slots = args.slots.unwrap_or(args.cases.max(1) as u32);
    config.max_in_flight = args.in_flight.unwrap_or(args.cases.max(1));
    config.llm = Some(provider);
    let (slots, in_flight) = (config.instance_slots, config.max_in_flight);
    let engine = Arc::new(Engine::open(config).await?);
    let net = dir.path().join("net.toml");
    std::fs::write(&net, NET.replace("GUEST", &wasm.display().to_string()))
        .map_err(anyhow::Error::from)?;
    let version = engine.deploy(&net).await?.version;

    let mut starts = tokio::task::JoinSet::new();
    for i in 0..args.cases {
        let engine = engine.clone();
        let version = version.clone();
        starts.spawn(async move {
            let payload = serde_json::json!({ "prompt": prompt(i) });
            engine
                .start_case(&version, &format!("c{i}"), vec![("prompt".into(), payload)])
                .await
        });
    }
    while let Some(started) = starts.join_next().await {
        started.map_err(anyhow::Error::from)??;
    }

    let started = Instant::now();
    let summary = engine.run(RunOptions::default()).await?;
    let elapsed = started.elapsed();
    println!(
        "{} cases, one llm call each, to {what} after {} ms ({slots} instance slots, {in_flight} firings in flight)",
        args.cases, args.delay_ms
    );
    println!(
        "fired {} (failed {}) in {:.0} ms: {:.0} firings/s (one after another: {:.1} s)",
        summary.completed,
        summary.failed,
        elapsed.as_secs_f64() * 1e3,
        summary.completed as f64 / elapsed.as_secs_f64(),
        (Duration::from_millis(args.delay_ms) * args.cases as u32).as_secs_f64()
    );
    if let Some((first, last)) = *load.arrivals.lock().expect("arrivals lock") {
        println!(
            "endpoint: {} requests, at most {} at once, arriving {:.0} to {:.0} ms into the run",
            load.total.load(Ordering::SeqCst),
            load.peak.load(Ordering::SeqCst),
            (first - started).as_secs_f64() * 1e3,
            (last - started).as_secs_f64() * 1e3
        );
    }
    Ok(if summary.completed as usize == args.cases {
        OK
    } else {
        PROBLEM
    })
}
