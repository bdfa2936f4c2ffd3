//! The server under load: in this process, or the real `petrel serve`
//! binary in a child process.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use petrel::Host;
use petrel::engine::EngineConfig;
use petrel::metrics::Metrics;
use petrel::server::{ServerConfig, serve};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a child server may take to start, and to stop once told.
const CHILD_WAIT: Duration = Duration::from_secs(60);

pub(super) enum Target {
    InProcess {
        base: String,
        stop: oneshot::Sender<()>,
        server: JoinHandle<Result<petrel::engine::ShutdownReport, petrel::server::ServerError>>,
    },
    Child {
        base: String,
        child: tokio::process::Child,
    },
}

impl Target {
    /// A server in this process over `dir/data`, admitting `concurrency`
    /// requests at once.
    pub(super) async fn in_process(
        dir: &Path,
        token: &str,
        concurrency: usize,
    ) -> anyhow::Result<Target> {
        let metrics = Arc::new(Metrics::new());
        let mut engine = EngineConfig::new(dir.join("data"));
        engine.observer = Some(metrics.observer());
        let host = Host::open(engine).await?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding 127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr().context("bound address")?);
        let mut config = ServerConfig::default().with_token(token);
        config.metrics = metrics;
        config.max_requests = config.max_requests.max(2 * concurrency);
        config.max_connections = config.max_connections.max(2 * concurrency);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(host, listener, config, async move {
            let _ = stopped.await;
        }));
        Ok(Target::InProcess { base, stop, server })
    }

    /// `petrel serve` (this binary, or `exe`) in a child process over
    /// `dir/data` on 127.0.0.1 port 0, requiring `token`.
    pub(super) async fn spawn(
        dir: &Path,
        token: &str,
        exe: Option<&Path>,
    ) -> anyhow::Result<Target> {
        let exe = match exe {
            Some(exe) => exe.to_path_buf(),
            None => std::env::current_exe().context("finding the petrel binary")?,
        };
        let mut child = tokio::process::Command::new(&exe)
            .arg("serve")
            .arg("--data")
            .arg(dir.join("data"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("PETREL_API_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} serve", exe.display()))?;
        let stdout = child.stdout.take().context("the child's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(CHILD_WAIT, lines.next_line())
            .await
            .context("petrel serve did not say where it listens within 60 s")?
            .context("reading petrel serve's stdout")?
            .ok_or_else(|| anyhow!("petrel serve exited before it listened"))?;
        let base = first
            .strip_prefix("listening on ")
            .ok_or_else(|| anyhow!("petrel serve's first line is not `listening on URL`: {first}"))?
            .trim()
            .to_string();
        // Keep draining its stdout so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Target::Child { base, child })
    }

    /// The server's base URL.
    pub(super) fn base(&self) -> &str {
        match self {
            Target::InProcess { base, .. } | Target::Child { base, .. } => base,
        }
    }

    /// The server process's resident memory (KiB), where /proc tells it.
    pub(super) fn rss_kib(&self) -> Option<u64> {
        let status = match self {
            Target::InProcess { .. } => std::fs::read_to_string("/proc/self/status"),
            Target::Child { child, .. } => {
                std::fs::read_to_string(format!("/proc/{}/status", child.id()?))
            }
        }
        .ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Stops the server the way an operator would (SIGTERM for the child)
    /// and waits for it; it must exit cleanly.
    pub(super) async fn stop(self) -> anyhow::Result<()> {
        match self {
            Target::InProcess { stop, server, .. } => {
                let _ = stop.send(());
                server.await.context("the server task panicked")??;
                Ok(())
            }
            Target::Child { mut child, .. } => {
                if let Some(pid) = child.id() {
                    let sent = tokio::process::Command::new("kill")
                        .args(["-TERM", &pid.to_string()])
                        .status()
                        .await
                        .context("running kill -TERM")?;
                    if !sent.success() {
                        return Err(anyhow!("kill -TERM {pid} failed"));
                    }
                }
                let status = tokio::time::timeout(CHILD_WAIT, child.wait())
                    .await
                    .context("petrel serve did not exit within 60 s of SIGTERM")?
                    .context("waiting for petrel serve")?;
                if status.success() {
                    Ok(())
                } else {
                    Err(anyhow!("petrel serve exited with {status}"))
                }
            }
        }
    }
}
