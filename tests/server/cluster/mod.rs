//! Several `petrel serve --store postgres://…` hosts on one database share
//! the work: cases started on any host, hosts SIGKILLed at random moments
//! and restarted (a new process on a new port, the same or a fresh data
//! dir), their cases adopted by the living once their lease lapses. No
//! acknowledged case is lost, no firing commits twice, the one shared
//! reviewer token survives, and replay agrees. Skipped without
//! `PETREL_TEST_POSTGRES`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use petrel::store::postgres::Scratch;

use super::{Api, Daemon, Reply};

mod orders;
mod routing;
mod work;
use crate::util::{Rng, now_ms, order_net, order_token, petrel, write_net};

const HOSTS: usize = 3;
/// A host's lease: a dead host's cases are adopted about this long after it died.
const LEASE_MS: &str = "1000";

/// One external step: a worker pays. A lapsed lease is a failed attempt,
/// retried often enough never to dead-letter here.
const PAYMENTS: &str = r#"
[net]
name = "cluster-payments"
[places.due]
start = true
[places.paid]
final = true
[transitions.pay]
external = true
inputs = { due = 1 }
outcomes.paid = { paid = 1 }
retry = { max_attempts = 100, initial_delay_ms = 10, max_delay_ms = 10 }
"#;

/// `petrel serve` hosts on one store, each in a slot that outlives its
/// process: a killed slot keeps its old (dead) address until restarted.
struct Cluster {
    dir: tempfile::TempDir,
    store: String,
    slots: Mutex<Vec<Slot>>,
    /// Kills so far, counted before the signal: a request that fails saw one.
    deaths: AtomicUsize,
}

struct Slot {
    daemon: Option<Daemon>,
    api: Api,
    data: PathBuf,
}

impl Slot {
    /// A host on `store` with its component cache in `data`; blocks until
    /// it listens.
    fn start(store: &str, data: PathBuf) -> Slot {
        let args = ["--store", store, "--lease-ms", LEASE_MS];
        let daemon = Daemon::start(&data, &args, &[], None);
        let api = daemon.api.clone();
        let daemon = Some(daemon);
        Slot { daemon, api, data }
    }
}

impl Cluster {
    /// Starts [`HOSTS`] daemons on `store`, one after another.
    fn start(store: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let slots = (0..HOSTS)
            .map(|i| Slot::start(store, dir.path().join(format!("host-{i}"))))
            .collect();
        Cluster {
            dir,
            store: store.to_string(),
            slots: Mutex::new(slots),
            deaths: AtomicUsize::new(0),
        }
    }

    /// The current address of slot `slot` (dead while the slot is down).
    fn api(&self, slot: usize) -> Api {
        self.slots.lock().unwrap()[slot].api.clone()
    }

    /// SIGKILL: no shutdown, no flush, no goodbye to the other hosts.
    fn kill(&self, slot: usize) {
        let daemon = self.slots.lock().unwrap()[slot].daemon.take();
        self.deaths.fetch_add(1, SeqCst);
        daemon
            .unwrap_or_else(|| panic!("slot {slot} is down already"))
            .kill();
    }

    /// A new process for slot `slot`, on a fresh data dir (an empty
    /// component cache) or its old one. Blocks until it listens.
    fn restart(&self, slot: usize, fresh: bool) {
        let data = if fresh {
            self.dir.path().join(format!("host-{slot}-{}", now_ms()))
        } else {
            self.slots.lock().unwrap()[slot].data.clone()
        };
        let new = Slot::start(&self.store, data);
        self.slots.lock().unwrap()[slot] = new;
    }

    /// SIGTERM to every host; each must exit 0.
    fn stop(&self) {
        let mut slots = self.slots.lock().unwrap();
        for daemon in slots.iter_mut().filter_map(|s| s.daemon.take()) {
            let (code, stderr) = daemon.terminate();
            assert_eq!(code, 0, "a host did not stop cleanly:\n{stderr}");
        }
    }

    /// The end of every host's stderr, the killed ones' included: for
    /// failure messages.
    fn logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".stderr-") {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail = &text[text.floor_char_boundary(text.len().saturating_sub(3_000))..];
                out.push_str(&format!("--- {name}\n{tail}\n"));
            }
        }
        out
    }
}

/// Runs `f` off the async threads: starting and stopping daemons blocks
/// until they listen or exit.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Sends `request`; `None` when no whole answer came (its host is down, or
/// was killed mid-request).
async fn try_send(request: reqwest::RequestBuilder) -> Option<Reply> {
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.ok()?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// Starts a case through slot `first`'s host; while no answer comes (that
/// host died, or is down) the same case goes to the next host. 201, or
/// `case_exists` on a retry (the dead host had stored it), acknowledge it.
/// False if it was not acknowledged by `deadline`.
async fn start_case(cluster: &Cluster, first: usize, body: &Value, deadline: Instant) -> bool {
    for attempt in 0.. {
        let api = cluster.api((first + attempt) % HOSTS);
        let request = api.request(reqwest::Method::POST, "/v1/cases").json(body);
        match try_send(request).await {
            Some(r) if r.status == 201 => return true,
            Some(r) if r.status == 409 && attempt > 0 && r.code() == "case_exists" => return true,
            // Overloaded: another host may not be.
            Some(r) if r.status == 503 => {}
            Some(r) => panic!("starting {body}: {r:#?}\n{}", cluster.logs()),
            None => {}
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20 * attempt.min(10) as u64)).await;
    }
    unreachable!()
}

/// Waits (polling every millisecond) until `done()`; past `deadline`, fails
/// saying `what`, with the hosts' logs.
async fn wait_until(cluster: &Cluster, deadline: Instant, what: &str, done: impl Fn() -> bool) {
    while !done() {
        if Instant::now() > deadline {
            panic!("{what}\n{}", cluster.logs());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits (at most `within`) until no case is running, restarting or
/// compensating, asking whichever host answers.
async fn wait_finished(cluster: &Cluster, within: Duration, seed: u64) {
    let deadline = Instant::now() + within;
    let path = "/v1/cases?status=running,restarting,compensating&limit=1000";
    let mut left = None;
    while Instant::now() < deadline {
        for slot in 0..HOSTS {
            let request = cluster.api(slot).request(reqwest::Method::GET, path);
            if let Some(page) = try_send(request).await.filter(|r| r.status == 200) {
                let n = page.body["cases"].as_array().map_or(0, Vec::len);
                if n == 0 && page.body["next_after"].is_null() {
                    return;
                }
                left = Some(n);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "seed {seed}: {left:?} cases still unfinished after {within:?}\n{}",
        cluster.logs()
    );
}

/// `firing_completed` entries per transition and `firing_abandoned`
/// entries (firings cut off and run again) in case `id`'s history.
async fn firings(api: &Api, id: &str) -> (HashMap<String, usize>, usize) {
    let history = api
        .get(&format!("/v1/cases/{id}/history?limit=1000"))
        .await
        .expect(200)
        .body;
    assert!(history["next_after"].is_null(), "{id}: history too long");
    let (mut completed, mut abandoned) = (HashMap::new(), 0);
    for e in history["events"].as_array().unwrap() {
        match e["type"].as_str() {
            Some("firing_completed") => {
                let t = e["transition"].as_str().unwrap().to_string();
                *completed.entry(t).or_default() += 1;
            }
            Some("firing_abandoned") => abandoned += 1,
            _ => {}
        }
    }
    (completed, abandoned)
}

/// A scratch schema with [`HOSTS`] hosts on it and `net` deployed on each
/// (the same file is the same version everywhere), and a seed; `None`
/// without PostgreSQL.
async fn three_hosts(net: &std::path::Path) -> Option<(Scratch, Arc<Cluster>, u64)> {
    let schema = crate::postgres::scratch()?;
    let seed = now_ms() | 1;
    eprintln!("cluster seed {seed}");
    let store = schema.url().to_string();
    let cluster = Arc::new(blocking(move || Cluster::start(&store)).await);
    let mut versions = HashSet::new();
    for slot in 0..HOSTS {
        versions.insert(cluster.api(slot).deploy(net).await);
    }
    assert_eq!(versions.len(), 1, "{versions:?}");
    Some((schema, cluster, seed))
}

/// Stops the hosts (SIGTERM, exit 0), then reads the marking off the store
/// with the CLI and checks that `replay --verify` agrees with it.
async fn stop_and_read(cluster: &Arc<Cluster>, seed: u64) -> Value {
    let stopping = cluster.clone();
    blocking(move || stopping.stop()).await;
    // The CLI's component cache beside the hosts'.
    let data = cluster.dir.path().join("cli").display().to_string();
    let store = cluster.store.as_str();
    let marking = petrel(&[
        "marking", "--store", store, "--data", &data, "--format", "json",
    ])
    .expect_code(0)
    .json();
    let replay = petrel(&[
        "replay", "--store", store, "--data", &data, "--verify", "--format", "json",
    ]);
    if replay.code() != 0 || replay.json()["agree"] != true {
        replay.fail(&format!("seed {seed}: replay disagrees with the store"));
    }
    marking
}
