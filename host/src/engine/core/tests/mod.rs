//! Unit tests of the core: plain values, no wasm, no store. A [`Harness`]
//! plays the shell: it starts cases, plans, hands launches back with a
//! made-up guest result, and reads the changes the core would commit.

mod branch;
mod compensation_work;
mod lending;
mod offers;
mod operate;
mod plan;
mod restart;
mod retry;
mod saga;
mod settle;
mod workflow_retry;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Core, Ids, Launch, Settings};
use crate::engine::Deployment;
use crate::net::Net;
use crate::sandbox::{CallResult, Decision, Fire, Token};
use crate::store::{
    CaseRecord, CaseStatus, Change, Event, GuestFailure, Owner, StoreError, StoredToken,
};

/// Ids from 100 up.
struct Counter(AtomicU64);

impl Ids for Counter {
    fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.0.fetch_add(1, Ordering::SeqCst))
    }
}

/// A MessagePack payload of a JSON value.
fn mp(value: serde_json::Value) -> Vec<u8> {
    rmp_serde::to_vec_named(&value).unwrap()
}

const T0: u64 = 1_000_000;

pub(super) struct Harness {
    core: Core,
    dep: Arc<Deployment>,
    ids: Arc<Counter>,
    now: u64,
    /// Every change taken from the core, in order.
    log: Vec<Change>,
}

impl Harness {
    fn new(toml: &str) -> Harness {
        Harness::with(toml, 64, None, false)
    }

    fn with(toml: &str, max_in_flight: usize, max_firings: Option<u64>, evict: bool) -> Harness {
        let net = Net::parse(toml, Path::new("net.toml")).unwrap();
        let dep = Arc::new(Deployment::without_guests(net));
        let ids = Arc::new(Counter(AtomicU64::new(100)));
        let settings = Settings {
            max_in_flight,
            max_firings,
            evict_finished: evict,
        };
        let mut core = Core::new(settings, ids.clone());
        // Shared places' initial tokens, as a deploy stores them.
        let mut shared = Vec::new();
        for p in dep.net.places().iter().filter(|p| p.shared) {
            for value in &p.initial {
                shared.push(StoredToken {
                    owner: Owner::Shared("v1".into()),
                    place: p.name.clone(),
                    seq: ids.0.fetch_add(1, Ordering::SeqCst),
                    payload: mp(value.clone()),
                });
            }
        }
        core.add_version(&dep, shared);
        Harness {
            core,
            dep,
            ids,
            now: T0,
            log: Vec::new(),
        }
    }

    /// Starts case `id` with a token per (place, payload); they are kept
    /// with the case when its net retries whole cases, as the engine does.
    fn start(&mut self, id: &str, tokens: &[(&str, serde_json::Value)]) {
        let tokens: Vec<StoredToken> = tokens
            .iter()
            .map(|(place, value)| StoredToken {
                owner: Owner::Case(id.into()),
                place: place.to_string(),
                seq: self.ids.0.fetch_add(1, Ordering::SeqCst),
                payload: mp(value.clone()),
            })
            .collect();
        let mut record = record(id);
        if self.dep.net.workflow_retry().is_some() {
            record.start = tokens.iter().map(StoredToken::record).collect();
        }
        self.core
            .add_case(record, self.dep.clone(), tokens, Vec::new());
    }

    fn plan(&mut self) -> Vec<Launch> {
        self.core.timers_due(self.now).unwrap();
        let launches = self.core.plan(self.now).unwrap();
        self.commit();
        launches
    }

    /// Takes the core's changes, as the shell commits them.
    fn commit(&mut self) -> Vec<Change> {
        let changes = self.core.take_changes();
        self.core.committed(&changes);
        self.log.extend(changes.clone());
        changes
    }

    /// Settles `launch` with `decision` and commits.
    fn settle(&mut self, launch: Launch, decision: Result<Decision, GuestFailure>) -> Vec<Change> {
        let call = CallResult {
            decision,
            log: Vec::new(),
            dropped_log_lines: 0,
            fuel_used: 0,
            elapsed: Duration::from_micros(7),
        };
        self.core.settle(launch, call, self.now).unwrap();
        self.commit()
    }

    /// Plans exactly one launch (of transition `name`).
    fn one(&mut self, name: &str) -> Launch {
        let mut launches = self.plan();
        assert_eq!(launches.len(), 1, "launches: {}", names(&launches));
        let launch = launches.remove(0);
        assert_eq!(launch.transition().name, name);
        launch
    }

    fn status(&self, id: &str) -> CaseStatus {
        self.core.cases[id].record.status
    }

    fn record(&self, id: &str) -> &CaseRecord {
        &self.core.cases[id].record
    }

    /// (place, free, all) token counts of case `id` in place `place`.
    fn count(&self, id: &str, place: &str) -> (usize, usize) {
        let p = self.dep.net.place_index(place).unwrap();
        let tokens = self.core.marking.place(id, p);
        (tokens.free(), tokens.len())
    }

    /// Every event logged so far, of every change.
    fn events(&self) -> Vec<&Event> {
        self.log
            .iter()
            .flat_map(|c| &c.events)
            .map(|e| &e.event)
            .collect()
    }
}

fn record(id: &str) -> CaseRecord {
    CaseRecord {
        id: id.into(),
        net: "n".into(),
        version: "v1".into(),
        status: CaseStatus::Running,
        started_at_ms: T0,
        updated_at_ms: T0,
        archived: None,
        compensable: vec![],
        saga: None,
        attempt: 1,
        start: Vec::new(),
        restart_at_ms: 0,
        region_aborts: Default::default(),
    }
}

fn names(launches: &[Launch]) -> String {
    launches
        .iter()
        .map(|l| format!("{}@{}", l.transition().name, l.case))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A guest's `fire(outcome)` with one token per (place, payload).
fn fire(outcome: &str, tokens: &[(&str, serde_json::Value)]) -> Result<Decision, GuestFailure> {
    Ok(Decision::Fire(Fire {
        outcome: outcome.into(),
        outputs: tokens
            .iter()
            .map(|(place, value)| Token {
                place: place.to_string(),
                payload: mp(value.clone()),
            })
            .collect(),
    }))
}

fn trap() -> Result<Decision, GuestFailure> {
    Err(GuestFailure::Trap {
        message: "unreachable".into(),
    })
}

/// Two steps, `a → b → done`.
const STEPS: &str = r#"
[net]
name = "n"
[places.a]
start = true
[places.b]
[places.done]
final = true
[transitions.first]
guest = "first.wasm"
inputs = { a = 1 }
outcomes.ok = { b = 1 }
[transitions.second]
guest = "second.wasm"
inputs = { b = 1 }
outcomes.ok = { done = 1 }
"#;
