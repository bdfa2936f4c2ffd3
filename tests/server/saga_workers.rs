//! The order-fulfilment saga with real effects: a ledger, a payment worker
//! and a stock worker (`host/examples/fulfilment`) against `petrel serve`.
//! Orders whose carrier is down abort after their retries; the workers
//! refund and release, each exactly once and newest first, while the host
//! is SIGKILLed and restarted, a worker dies between an effect and its
//! completion, and another is SIGKILLed. At the end the ledger balances.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Api, Daemon};
use crate::util::{petrel, petrel_example, repo};

const ORDERS: usize = 16;

/// A child process of the example, its output in a file; killed on drop.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let log = dir.join(format!("{name}-{}.log", crate::util::now_ms()));
        let child = Command::new(petrel_example("fulfilment"))
            .args(args)
            .env_remove("PETREL_API_TOKEN")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("cannot start the fulfilment example");
        Proc { child, log }
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The ledger on 127.0.0.1:0, and its base URL.
fn ledger(dir: &Path) -> (Proc, String) {
    let mut proc = Proc::spawn(dir, "ledger", &["ledger", "--listen", "127.0.0.1:0"], &[]);
    let mut line = String::new();
    BufReader::new(proc.child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("ledger said {line:?}\n{}", proc.log()))
        .to_string();
    (proc, base)
}

fn worker(dir: &Path, role: &str, url: &str, ledger: &str, crash_after: Option<u64>) -> Proc {
    let mut args = vec!["worker", "--role", role, "--url", url, "--ledger", ledger];
    let crash = crash_after.map(|n| n.to_string());
    if let Some(n) = &crash {
        args.extend(["--crash-after-effects", n]);
    }
    let mut proc = Proc::spawn(dir, role, &args, &[]);
    // Its stdout (one line per effect) is not read: drop the pipe's reader
    // side by handing it to a thread that drains it.
    let out = proc.child.stdout.take().unwrap();
    std::thread::spawn(move || for _ in BufReader::new(out).lines() {});
    proc
}

/// A port free now, for a host that comes back on the same address.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn order(i: usize) -> Value {
    json!({
        "order_id": format!("o-{i}"),
        "amount_cents": 1_000 + i,
        "items": 1 + i % 3,
        "carrier": if i.is_multiple_of(2) { "down" } else { "ok" },
        "undo_fails": u32::from(i.is_multiple_of(4)),
    })
}

/// Statuses of the orders, `None` while one cannot be read.
async fn statuses(api: &Api) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(ORDERS);
    for i in 0..ORDERS {
        let request = api.request(reqwest::Method::GET, &format!("/v1/cases/o-{i}"));
        let reply = request.send().await.ok()?;
        let case: Value = reply.json().await.ok()?;
        out.push(case["status"].as_str()?.to_string());
    }
    Some(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_orders_are_refunded_and_released_once_each_across_kills() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let text = std::fs::read_to_string(repo().join("examples/order-fulfilment/net-workers.toml"))
        .unwrap()
        .replace(
            "../../guests/target/wasm32-wasip2/release/",
            &format!("{}/", env!("PETREL_GUESTS_DIR")),
        );
    let net = dir.path().join("net-workers.toml");
    std::fs::write(&net, text).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let url = format!("http://{listen}");
    let serve = ["--listen", listen.as_str()];

    let (_ledger, ledger_url) = ledger(dir.path());
    let mut daemon = Daemon::start(&data, &serve, &[], None);
    daemon.api.deploy(&net).await;
    // The payment worker dies after its third effect, before completing
    // that firing: its lease lapses and the work is handed out again.
    let mut payment = worker(dir.path(), "payment", &url, &ledger_url, Some(3));
    let mut stock = worker(dir.path(), "stock", &url, &ledger_url, None);
    for i in 0..ORDERS {
        daemon
            .api
            .start(
                "order-fulfilment-workers",
                &format!("o-{i}"),
                "order",
                order(i),
            )
            .await
            .expect(201);
    }

    let started = Instant::now();
    let (mut host_killed, mut stock_killed, mut payment_restarted) = (false, false, false);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let at = started.elapsed();
        if !host_killed && at > Duration::from_millis(1_500) {
            daemon.kill();
            daemon = Daemon::start(&data, &serve, &[], None);
            host_killed = true;
        }
        if !stock_killed && at > Duration::from_millis(2_500) {
            stock.kill();
            stock = worker(dir.path(), "stock", &url, &ledger_url, None);
            stock_killed = true;
        }
        if payment.exited() {
            assert!(
                !payment_restarted,
                "the payment worker died again:\n{}",
                payment.log()
            );
            payment = worker(dir.path(), "payment", &url, &ledger_url, None);
            payment_restarted = true;
        }
        let Some(now) = statuses(&daemon.api).await else {
            continue;
        };
        let stuck: Vec<_> = now
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.as_str(), "stuck" | "compensation_failed"))
            .collect();
        assert!(
            stuck.is_empty(),
            "{stuck:?}\n--- payment\n{}\n--- stock\n{}",
            payment.log(),
            stock.log()
        );
        if now.iter().all(|s| s == "completed" || s == "aborted") {
            break;
        }
        assert!(
            at < Duration::from_secs(90),
            "not settled in 90 s: {now:?}\n--- payment\n{}\n--- stock\n{}\n--- host\n{}",
            payment.log(),
            stock.log(),
            daemon.stderr()
        );
    }
    assert!(payment_restarted, "the payment worker never crashed");
    let settled = started.elapsed();

    let book = reqwest::get(format!("{ledger_url}/ledger"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let mut ops: HashMap<String, Vec<String>> = HashMap::new();
    for e in book["entries"].as_array().unwrap() {
        ops.entry(e["order_id"].as_str().unwrap().to_string())
            .or_default()
            .push(e["op"].as_str().unwrap().to_string());
    }
    let (mut kept_cents, mut kept_items) = (0, 0);
    for i in 0..ORDERS {
        let id = format!("o-{i}");
        let o = order(i);
        let (status, expected) = if i.is_multiple_of(2) {
            ("aborted", vec!["reserve", "charge", "refund", "release"])
        } else {
            kept_cents += o["amount_cents"].as_i64().unwrap();
            kept_items += o["items"].as_i64().unwrap();
            ("completed", vec!["reserve", "charge"])
        };
        assert_eq!(
            daemon.api.get(&format!("/v1/cases/{id}")).await.body["status"],
            status,
            "{id}"
        );
        assert_eq!(
            ops[&id], expected,
            "{id}: each effect once, undone newest first"
        );
        if status == "aborted" {
            let history = daemon
                .api
                .get(&format!("/v1/cases/{id}/history?limit=1000"))
                .await
                .expect(200)
                .body;
            let undone: Vec<_> = history["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == "compensation_completed")
                .map(|e| e["transition"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                undone,
                ["refund_charge", "release_stock"],
                "{id}: {history:#}"
            );
        }
    }
    assert_eq!(book["charged_cents"], kept_cents, "{book:#}");
    assert_eq!(book["items_held"], kept_items, "{book:#}");
    assert!(
        book["replays"].as_u64().unwrap() >= 1,
        "the crashed worker's effect was asked for again and answered from the ledger: {book:#}"
    );

    eprintln!(
        "{ORDERS} orders settled in {settled:?} with the host SIGKILLed once and two workers lost; {} effects answered again from the ledger",
        book["replays"]
    );
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    let replay = petrel(&["replay", "--data", data.to_str().unwrap(), "--verify"]);
    assert_eq!(replay.code(), 0, "{}", replay.stdout());
}
