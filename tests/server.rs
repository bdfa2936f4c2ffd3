//! The HTTP daemon: `petrel serve` as a real binary, or the library's
//! `serve` on a real 127.0.0.1:0 listener, driven over real HTTP. Only
//! loopback; every wait is bounded.

mod api;
mod auth;
mod cluster;
mod crash;
mod errors;
mod load;
mod operate;
mod refund;
mod remote_cli;
mod saga_workers;
mod shutdown;
mod work;
mod workflow;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use petrel::engine::EngineConfig;
use petrel::host::ShutdownReport;
use petrel::metrics::Metrics;
use petrel::server::{ServerConfig, ServerError, serve};
use serde_json::{Value, json};

use crate::util::petrel_bin;

/// An answer: status, headers and the body as JSON (`Null` when empty, a
/// string when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The error code of an error body; panics if the body is not one.
    pub fn code(&self) -> &str {
        let error = &self.body["error"];
        assert!(error["message"].is_string(), "not an error body: {self:?}");
        error["code"].as_str().unwrap()
    }

    /// The error message of an error body.
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap()
    }

    /// Asserts the status, printing the whole reply if it differs.
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "{self:#?}");
        self
    }
}

/// A client for one server.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
    token: Option<String>,
}

impl Api {
    pub fn new(base: String, token: Option<&str>) -> Api {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Api {
            http,
            base,
            token: token.map(str::to_string),
        }
    }

    /// The same server with another token (or none).
    pub fn with_token(&self, token: Option<&str>) -> Api {
        Api {
            token: token.map(str::to_string),
            ..self.clone()
        }
    }

    /// A request to `path` with the token, if any.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn send(request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request failed");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        Api::send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        Api::send(self.request(reqwest::Method::POST, path).json(&body)).await
    }

    /// Deploys a net file, uploading its text and guests; its version.
    pub async fn deploy(&self, net: &Path) -> String {
        let reply = self.post("/v1/nets", upload(net)).await;
        assert!(matches!(reply.status, 200 | 201), "{reply:#?}");
        reply.body["version"].as_str().unwrap().to_string()
    }

    /// Starts a case with one token.
    pub async fn start(&self, net: &str, id: &str, place: &str, payload: Value) -> Reply {
        let body =
            json!({ "net": net, "id": id, "tokens": [{ "place": place, "payload": payload }] });
        self.post("/v1/cases", body).await.expect(201)
    }

    /// Waits (at most `within`) until case `id` has `status`; the case.
    pub async fn wait_status(&self, id: &str, status: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let case = self.get(&format!("/v1/cases/{id}")).await.expect(200).body;
            if case["status"] == status {
                return case;
            }
            assert!(
                Instant::now() < deadline,
                "case {id} is not {status} after {within:?}: {case:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The `POST /v1/nets` body that uploads the net file `net` with the
/// components of its guests (base64, under their paths as declared). A
/// net this build refuses is sent with the guests its `guest = "..."`
/// lines name, for the server to judge.
pub fn upload(net: &Path) -> Value {
    use base64::Engine as _;
    let source = std::fs::read_to_string(net).unwrap();
    let dir = net.parent().unwrap();
    let guests: Vec<(String, PathBuf)> = match petrel::Net::load(net) {
        Ok(parsed) => parsed
            .transitions()
            .iter()
            .filter_map(|t| match &t.performer {
                petrel::net::Performer::Guest { declared, path } => {
                    Some((declared.clone(), path.clone()))
                }
                petrel::net::Performer::External => None,
            })
            .collect(),
        Err(_) => source
            .lines()
            .filter_map(|l| l.trim().strip_prefix("guest = \""))
            .filter_map(|l| l.strip_suffix('"'))
            .map(|g| (g.to_string(), dir.join(g)))
            .collect(),
    };
    let mut components = serde_json::Map::new();
    for (declared, path) in guests {
        let bytes = std::fs::read(path).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        components.insert(declared, Value::String(encoded));
    }
    json!({ "source": source, "components": components })
}

/// The library's `serve` on 127.0.0.1:0 over a temp data dir.
pub struct InProcess {
    pub api: Api,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<ShutdownReport, ServerError>>,
}

impl InProcess {
    /// Starts a server; `token` is required of clients when set, `tweak`
    /// adjusts the config.
    pub async fn start(token: Option<&str>, tweak: impl FnOnce(&mut ServerConfig)) -> InProcess {
        InProcess::start_on(None, token, tweak).await
    }

    /// [`InProcess::start`] on the PostgreSQL store at `store` (`None`:
    /// sled in the temp dir).
    pub async fn start_on(
        store: Option<&str>,
        token: Option<&str>,
        tweak: impl FnOnce(&mut ServerConfig),
    ) -> InProcess {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::new());
        let mut engine = EngineConfig::new(dir.path().join("data"));
        engine.store = store.map(str::to_string);
        engine.observer = Some(metrics.observer());
        let host = petrel::Host::open(engine).await.unwrap();
        let mut config = ServerConfig::default();
        if let Some(token) = token {
            config = config.with_token(token);
        }
        config.metrics = metrics;
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(host, listener, config, async move {
            let _ = stopped.await;
        }));
        InProcess {
            api: Api::new(base, token),
            dir,
            stop: Some(stop),
            task,
        }
    }

    /// Writes a net file into the server's temp dir.
    pub fn net(&self, file: &str, text: &str) -> PathBuf {
        crate::util::write_net(self.dir.path(), file, text)
    }

    /// Shuts the server down; what the host's shutdown did.
    pub async fn stop(self) -> ShutdownReport {
        self.stop_keeping_dir().await.0
    }

    /// Shuts the server down, keeping its temp dir (its data in `data`)
    /// for a look afterwards.
    pub async fn stop_keeping_dir(mut self) -> (ShutdownReport, tempfile::TempDir) {
        let _ = self.stop.take().unwrap().send(());
        let report = tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the server did not stop within 30 s")
            .unwrap()
            .unwrap();
        (report, self.dir)
    }
}

/// A net whose one transition is external: `pay` moves `due` to `paid` or
/// `refused`; a failed attempt is retried at once, up to 3 attempts.
pub const PAYMENTS_NET: &str = r#"
[net]
name = "payments"
[places.due]
start = true
[places.paid]
final = true
[places.refused]
final = true
[transitions.pay]
external = true
inputs = { due = 1 }
outcomes.paid = { paid = 1 }
outcomes.refused = { refused = 1 }
retry = { max_attempts = 3, initial_delay_ms = 10, max_delay_ms = 10, jitter = 0.0 }
"#;

/// `petrel serve` as a child process.
pub struct Daemon {
    child: Child,
    pub api: Api,
    stderr: PathBuf,
    command: String,
}

impl Daemon {
    /// Starts `petrel serve --data DATA --listen 127.0.0.1:0 ARGS` (ARGS may
    /// name another `--listen`, to come back on the same port) with `env`
    /// (and without PETREL_API_TOKEN unless `env` sets it); waits for its
    /// `listening on` line.
    pub fn start(data: &Path, args: &[&str], env: &[(&str, &str)], token: Option<&str>) -> Daemon {
        let stderr = data.with_extension(format!("stderr-{}", crate::util::now_ms()));
        let mut command = Command::new(petrel_bin());
        command
            .args(["serve", "--data"])
            .arg(data)
            .args(if args.contains(&"--listen") {
                &[][..]
            } else {
                &["--listen", "127.0.0.1:0"][..]
            })
            .args(args)
            .env_remove("PETREL_API_TOKEN")
            .env_remove("PETREL_DATA")
            .env_remove("PETREL_STORE")
            .env_remove("PETREL_CONFIG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let shown = format!("petrel serve --data {} {}", data.display(), args.join(" "));
        let mut child = command.spawn().expect("cannot start petrel serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{shown}: no `listening on` line (got {line:?})\n--- stderr\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        };
        Daemon {
            api: Api::new(base.to_string(), token),
            child,
            stderr,
            command: shown,
        }
    }

    /// Sends SIGTERM and waits (at most 60 s) for the exit; (code, stderr).
    pub fn terminate(mut self) -> (i32, String) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not exit within 60 s of SIGTERM\n{}",
                    self.command,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (code, self.stderr())
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A worker: claims one firing of `transition` (waiting up to `wait_ms`).
pub async fn claim(api: &Api, transition: &str, lease_ms: u64, wait_ms: u64) -> Option<Value> {
    let reply = api
        .post(
            "/v1/work/claim",
            json!({ "worker": "test-worker", "transition": transition, "lease_ms": lease_ms, "wait_ms": wait_ms }),
        )
        .await;
    match reply.status {
        200 => Some(reply.body),
        204 => None,
        _ => panic!("claim failed: {reply:#?}"),
    }
}

/// Completes a claimed firing with `outcome` producing `tokens`.
pub async fn complete(api: &Api, item: &Value, outcome: &str, tokens: Value) -> Reply {
    let firing = &item["firing"];
    api.post(
        &format!("/v1/work/{firing}/complete"),
        json!({ "lease": item["lease"], "outcome": outcome, "tokens": tokens }),
    )
    .await
}
