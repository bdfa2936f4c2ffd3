//! The trusted workers of the order-fulfilment saga: they claim external
//! firings from `petrel serve` over HTTP, do the effect against the
//! ledger, and complete the firing. The same workers undo their effects
//! when a case aborts: the compensations are external transitions too.
//!
//! Each effect carries an idempotency key that stays the same however
//! often the work is handed out again (an external firing keeps its firing
//! id across attempts; a compensation names the firing it undoes), so a
//! worker killed between the effect and its completion repeats nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// Which effects a worker performs.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Role {
    /// `charge`, and its compensation `refund_charge`.
    Payment,
    /// `reserve_stock`, and its compensation `release_stock`.
    Stock,
}

impl Role {
    fn transitions(self) -> [&'static str; 2] {
        match self {
            Role::Payment => ["charge", "refund_charge"],
            Role::Stock => ["reserve_stock", "release_stock"],
        }
    }
}

/// How a worker reaches Petrel and the ledger.
#[derive(Clone)]
pub struct Worker {
    pub petrel: String,
    pub token: Option<String>,
    pub ledger: String,
    pub name: String,
    /// Exit (as a crash would) after this many effects, before completing
    /// the last one's firing: the worst moment for a worker to die.
    pub crash_after: Option<u64>,
    pub http: reqwest::Client,
}

/// Runs a worker for `role` until the process is killed.
pub async fn run(worker: Worker, role: Role) -> anyhow::Result<()> {
    let effects = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for transition in role.transitions() {
        let (worker, effects) = (worker.clone(), effects.clone());
        tasks.spawn(async move {
            loop {
                if let Err(e) = worker.one(transition, &effects).await {
                    eprintln!("{}: {transition}: {e:#}", worker.name);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}

impl Worker {
    /// Claims one firing of `transition` (waiting up to a second) and
    /// performs it.
    async fn one(
        &self,
        transition: &str,
        effects: &std::sync::atomic::AtomicU64,
    ) -> anyhow::Result<()> {
        let claim = json!({ "worker": self.name, "transition": transition, "lease_ms": 2_000, "wait_ms": 1_000 });
        let reply = self.petrel("/v1/work/claim").json(&claim).send().await?;
        match reply.status().as_u16() {
            204 => return Ok(()),
            200 => {}
            s => bail!(
                "claim answered {s}: {}",
                reply.text().await.unwrap_or_default()
            ),
        }
        let item: Value = reply.json().await?;
        let (outcome, place, token) = match self.effect(transition, &item).await {
            Ok(done) => done,
            Err(e) => {
                let failure = json!({ "lease": item["lease"], "message": format!("{e:#}"), "retryable": true });
                self.petrel(&format!("/v1/work/{}/fail", item["firing"]))
                    .json(&failure)
                    .send()
                    .await?;
                return Err(e);
            }
        };
        let done = effects.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if self.crash_after.is_some_and(|n| done >= n) {
            eprintln!(
                "{}: crashing after {done} effects, before completing firing {}",
                self.name, item["firing"]
            );
            std::process::exit(137);
        }
        let completion = json!({ "lease": item["lease"], "outcome": outcome, "tokens": [{ "place": place, "payload": token }] });
        self.complete(&item, &completion).await
    }

    /// Does the effect of `item` against the ledger: (outcome, place, token).
    async fn effect(
        &self,
        transition: &str,
        item: &Value,
    ) -> anyhow::Result<(&'static str, &'static str, Value)> {
        let firing = &item["firing"];
        match transition {
            "reserve_stock" => {
                let mut order = item["inputs"][0]["payload"].clone();
                let body = json!({ "key": format!("reserve:{firing}"), "order_id": order["order_id"], "items": order["items"] });
                order["reservation"] =
                    self.ledger("/stock/reserve", body).await?["reservation"].clone();
                println!("{}: reserved stock for {}", self.name, order["order_id"]);
                Ok(("reserved", "stock_reserved", order))
            }
            "charge" => {
                let mut order = item["inputs"][0]["payload"].clone();
                let body = json!({ "key": format!("charge:{firing}"), "order_id": order["order_id"], "amount_cents": order["amount_cents"] });
                order["charge"] = self.ledger("/payments/charge", body).await?["charge"].clone();
                println!("{}: charged {}", self.name, order["order_id"]);
                Ok(("charged", "charged", order))
            }
            "refund_charge" | "release_stock" => {
                let undone = &item["compensates"];
                let order = &undone["outputs"][0]["payload"];
                let fails = order["undo_fails"].as_u64().unwrap_or(0);
                if item["attempt"].as_u64().unwrap_or(1) <= fails {
                    bail!("{} is busy (attempt {})", self.ledger, item["attempt"]);
                }
                let (path, held, outcome, place) = if transition == "refund_charge" {
                    ("/payments/refund", "charge", "refunded", "refunds")
                } else {
                    ("/stock/release", "reservation", "released", "releases")
                };
                let key = format!("{transition}:{}", undone["firing"]);
                let body =
                    json!({ "key": key, "order_id": order["order_id"], "undoes": order[held] });
                let answer = self.ledger(path, body).await?;
                println!(
                    "{}: {outcome} {} for {}",
                    self.name, order[held], order["order_id"]
                );
                Ok((
                    outcome,
                    place,
                    json!({ "order_id": order["order_id"], "undone": order[held], "receipt": answer }),
                ))
            }
            other => bail!("this worker does not perform `{other}`"),
        }
    }

    /// Completes `item`, trying again while Petrel is unreachable and the
    /// lease lasts (its claim is stored: it outlives a restart of the host).
    async fn complete(&self, item: &Value, completion: &Value) -> anyhow::Result<()> {
        let until = item["lease_until_ms"].as_u64().unwrap_or(0);
        let path = format!("/v1/work/{}/complete", item["firing"]);
        loop {
            match self.petrel(&path).json(completion).send().await {
                Ok(reply) if reply.status().is_success() => return Ok(()),
                Ok(reply) => bail!(
                    "completing firing {} answered {}: {}",
                    item["firing"],
                    reply.status(),
                    reply.text().await.unwrap_or_default()
                ),
                Err(e) if now_ms() < until => {
                    eprintln!("{}: petrel unreachable ({e}); trying again", self.name);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e).context("completing past the lease"),
            }
        }
    }

    fn petrel(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.post(format!("{}{path}", self.petrel));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn ledger(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let reply = self
            .http
            .post(format!("{}{path}", self.ledger))
            .json(&body)
            .send()
            .await?;
        let status = reply.status();
        let answer: Value = reply.json().await?;
        if !status.is_success() {
            bail!("ledger {path} answered {status}: {answer}");
        }
        Ok(answer)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
