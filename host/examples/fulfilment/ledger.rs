//! A stand-in for the world outside Petrel: a stock system and a payment
//! service on loopback that keep one ledger. Every request carries an
//! idempotency key; a repeated key answers what the first answered and
//! changes nothing (counted as a replay), as real payment APIs do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One applied effect.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// `reserve`, `charge`, `refund` or `release`.
    pub op: &'static str,
    pub order_id: String,
    pub key: String,
    /// Cents moved (charge +, refund −), or items held (reserve +, release −).
    pub amount: i64,
}

#[derive(Default)]
struct Books {
    entries: Vec<Entry>,
    /// Idempotency key → the answer given.
    answered: HashMap<String, Value>,
    replays: u64,
    /// Charge id → (order, cents) not refunded yet.
    charges: HashMap<String, (String, i64)>,
    /// Reservation id → (order, items) not released yet.
    reservations: HashMap<String, (String, i64)>,
}

type Shared = Arc<Mutex<Books>>;

#[derive(Deserialize)]
struct Request {
    key: String,
    order_id: String,
    #[serde(default)]
    amount_cents: i64,
    #[serde(default)]
    items: i64,
    /// The charge a refund undoes, or the reservation a release undoes.
    #[serde(default)]
    undoes: Option<String>,
}

/// Serves the ledger on `listen` until the process ends; prints
/// `listening on http://ADDR` first.
pub async fn serve(listen: &str) -> anyhow::Result<()> {
    let books = Shared::default();
    let app = Router::new()
        .route("/stock/reserve", post(reserve))
        .route("/stock/release", post(release))
        .route("/payments/charge", post(charge))
        .route("/payments/refund", post(refund))
        .route("/ledger", get(ledger))
        .with_state(books);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Applies `effect` once per idempotency key.
fn once(
    books: &Shared,
    key: &str,
    effect: impl FnOnce(&mut Books) -> Result<Value, String>,
) -> (StatusCode, Json<Value>) {
    let mut books = books.lock().unwrap();
    if let Some(answer) = books.answered.get(key).cloned() {
        books.replays += 1;
        return (StatusCode::OK, Json(answer));
    }
    match effect(&mut books) {
        Ok(answer) => {
            books.answered.insert(key.to_string(), answer.clone());
            (StatusCode::OK, Json(answer))
        }
        Err(message) => (StatusCode::CONFLICT, Json(json!({ "error": message }))),
    }
}

/// What a ledger entry holds: a charge (cents) or a reservation (items).
#[derive(Clone, Copy)]
enum Kind {
    Charge,
    Stock,
}

impl Kind {
    /// (op when held, op when undone, id prefix, answer field)
    fn names(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Kind::Charge => ("charge", "refund", "ch", "charge"),
            Kind::Stock => ("reserve", "release", "res", "reservation"),
        }
    }

    fn held(self, b: &mut Books) -> &mut HashMap<String, (String, i64)> {
        match self {
            Kind::Charge => &mut b.charges,
            Kind::Stock => &mut b.reservations,
        }
    }
}

/// Charges or reserves, once per key: answers the new id.
fn hold(books: &Shared, kind: Kind, r: Request) -> (StatusCode, Json<Value>) {
    let amount = match kind {
        Kind::Charge => r.amount_cents,
        Kind::Stock => r.items,
    };
    once(books, &r.key.clone(), |b| {
        let (op, _, prefix, field) = kind.names();
        let id = format!("{prefix}-{}", b.entries.len() + 1);
        kind.held(b)
            .insert(id.clone(), (r.order_id.clone(), amount));
        b.entries.push(Entry {
            op,
            order_id: r.order_id,
            key: r.key,
            amount,
        });
        Ok(json!({ field: id }))
    })
}

/// Refunds or releases what `r.undoes` names, once per key.
fn undo(books: &Shared, kind: Kind, r: Request) -> (StatusCode, Json<Value>) {
    once(books, &r.key.clone(), |b| {
        let (_, op, _, field) = kind.names();
        let id = r.undoes.clone().unwrap_or_default();
        let (order, amount) = kind
            .held(b)
            .remove(&id)
            .ok_or_else(|| format!("no {field} `{id}` is held"))?;
        b.entries.push(Entry {
            op,
            order_id: order,
            key: r.key,
            amount: -amount,
        });
        Ok(json!({ "undone": id }))
    })
}

async fn reserve(State(books): State<Shared>, Json(r): Json<Request>) -> (StatusCode, Json<Value>) {
    hold(&books, Kind::Stock, r)
}

async fn release(State(books): State<Shared>, Json(r): Json<Request>) -> (StatusCode, Json<Value>) {
    undo(&books, Kind::Stock, r)
}

async fn charge(State(books): State<Shared>, Json(r): Json<Request>) -> (StatusCode, Json<Value>) {
    hold(&books, Kind::Charge, r)
}

async fn refund(State(books): State<Shared>, Json(r): Json<Request>) -> (StatusCode, Json<Value>) {
    undo(&books, Kind::Charge, r)
}

/// Every applied entry in order, the replays, and what is still held.
async fn ledger(State(books): State<Shared>) -> Json<Value> {
    let b = books.lock().unwrap();
    let charged: i64 = b.charges.values().map(|(_, c)| c).sum();
    let held: i64 = b.reservations.values().map(|(_, i)| i).sum();
    Json(json!({
        "entries": b.entries,
        "replays": b.replays,
        "charged_cents": charged,
        "items_held": held,
    }))
}
