//! The encodings of every record the store keeps, pinned by snapshots
//! (`snapshots/`): a change here is a storage-format change, and the
//! snapshot diff shows exactly which bytes moved. Each record is pinned as
//! the MessagePack the store writes and as the JSON users see
//! (`--format json`, the HTTP API).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::super::*;

fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(32)
        .map(|line| line.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The record's two forms, after checking it reads back from MessagePack.
fn forms<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> String {
    let bytes = encode("record", value).unwrap();
    let back: T = decode("record", &bytes).unwrap();
    assert_eq!(&back, value, "MessagePack round trip");
    let json = serde_json::to_string_pretty(value).unwrap();
    format!("json:\n{json}\nmsgpack:\n{}", hex(&bytes))
}

fn payload(value: serde_json::Value) -> Vec<u8> {
    rmp_serde::to_vec_named(&value).unwrap()
}

fn token(place: &str, seq: u64, shared: bool) -> TokenRecord {
    TokenRecord {
        place: place.into(),
        seq,
        shared,
        payload: payload(serde_json::json!({ "order": "o-1", "cents": 2500 })),
    }
}

fn refs() -> Vec<TokenRef> {
    vec![
        TokenRef {
            place: "submitted".into(),
            seq: 3,
            shared: false,
        },
        TokenRef {
            place: "reviewer".into(),
            seq: 1,
            shared: true,
        },
    ]
}

fn log() -> Vec<LogLine> {
    vec![LogLine {
        level: "info".into(),
        message: "checking o-1".into(),
    }]
}

fn failure() -> AttemptFailure {
    AttemptFailure {
        attempt: 1,
        at_ms: 1_700_000_000_500,
        error: FiringError::Guest(GuestFailure::Deadline { timeout_ms: 1000 }),
    }
}

fn step() -> SagaStep {
    SagaStep {
        firing: 11,
        transition: "charge".into(),
        outcome: "charged".into(),
        compensation: "refund".into(),
        inputs: vec![token("to_charge", 9, false)],
        outputs: vec![token("charged", 12, false)],
    }
}

fn exchange() -> ExchangeRecord {
    let mut request = ChatRequest::user("is this a refund?");
    request.system = Some("classify".into());
    request.max_output_tokens = 20;
    request.json_schema = Some(r#"{"type":"object"}"#.into());
    ExchangeRecord {
        firing: 7,
        transition: "classify".into(),
        key: "ab01".into(),
        call: 0,
        provider: "openai".into(),
        model: "m".into(),
        request_hash: request.hash(),
        request,
        response: Some(ChatResponse {
            text: "refund".into(),
            model: "m-2024".into(),
            usage: Usage {
                input_tokens: 12,
                output_tokens: 1,
            },
        }),
        error: None,
        latency_ms: 250,
        attempts: 1,
        usage: Usage {
            input_tokens: 12,
            output_tokens: 1,
        },
        replayed_from: None,
    }
}

/// One of every event, in the order the enum declares them.
fn events() -> Vec<Event> {
    vec![
        Event::NetDeployed {
            net: "order-approval".into(),
            version: "3f2a".into(),
        },
        Event::SharedTokensAdded {
            version: "3f2a".into(),
            tokens: vec![token("reviewer", 1, true)],
        },
        Event::CaseStarted {
            net: "order-approval".into(),
            version: "3f2a".into(),
            tokens: vec![token("submitted", 3, false)],
        },
        Event::FiringCompleted {
            firing: 5,
            transition: "approve".into(),
            attempt: 1,
            outcome: "approved".into(),
            timed_out: false,
            consumed: refs(),
            produced: vec![token("approved", 6, false), token("reviewer", 7, true)],
            log: log(),
            elapsed_us: 42,
        },
        Event::FiringDeclined {
            firing: 5,
            transition: "approve".into(),
            attempt: 1,
            log: log(),
        },
        Event::FiringFailed {
            firing: 5,
            transition: "approve".into(),
            attempt: 1,
            error: FiringError::UndeclaredOutcome {
                outcome: "maybe".into(),
                declared: "approved, refused".into(),
            },
            log: log(),
            retry_at_ms: Some(1_700_000_001_000),
            compensating: None,
        },
        Event::FiringDeadLettered {
            firing: 5,
            transition: "approve".into(),
            attempts: 3,
            error: FiringError::Guest(GuestFailure::Trap {
                message: "unreachable".into(),
            }),
            consumed: refs()[..1].to_vec(),
            compensating: Some(4),
        },
        Event::DeadLetterRetried {
            dead_letter: 5,
            transition: "approve".into(),
            restored: vec![token("submitted", 3, false)],
            by: "ana".into(),
        },
        Event::DeadLetterDiscarded {
            dead_letter: 5,
            transition: "approve".into(),
            reason: "handled by hand".into(),
            dropped: refs()[..1].to_vec(),
            // Left out when empty: a log written before `by` was recorded.
            by: String::new(),
        },
        Event::CompensationCompleted {
            firing: 13,
            transition: "refund".into(),
            compensated: 11,
            attempt: 1,
            outcome: Some("refunded".into()),
            produced: vec![token("refunds", 14, false)],
            log: log(),
            remaining: 0,
        },
        Event::FiringClaimed {
            firing: 5,
            transition: "pay".into(),
            attempt: 2,
            worker: "payments".into(),
            lease_until_ms: 1_700_000_030_000,
        },
        Event::FiringAbandoned {
            firing: 5,
            transition: "approve".into(),
        },
        Event::FiringDiscarded {
            firing: 5,
            transition: "approve".into(),
            consumed: refs()[..1].to_vec(),
            log: log(),
        },
        Event::CaseAborted {
            firing: 5,
            transition: "approve".into(),
            reason: "fraud".into(),
            consumed: refs()[..1].to_vec(),
            log: log(),
            compensations: vec![11],
        },
        Event::RegionAborted {
            firing: 6,
            transition: "ship".into(),
            region: "shipping".into(),
            reason: "carrier down".into(),
            consumed: refs()[..1].to_vec(),
            discarded: vec![4],
            compensations: vec![3],
            produced: vec![token("shipping_failed", 13, false)],
            log: log(),
        },
        Event::CaseCancelled {
            by: "ops".into(),
            reason: "customer withdrew".into(),
            consumed: refs()[..1].to_vec(),
            compensations: vec![11],
        },
        Event::LlmExchange(Box::new(exchange())),
        Event::CaseCompleted,
        Event::CaseStuck {
            places: vec!["human_handoff".into()],
        },
        Event::CaseRestarted {
            attempt: 2,
            consumed: refs()[..1].to_vec(),
            discarded: vec![12],
            tokens: vec![token("received", 20, false)],
        },
        Event::CaseDeadLettered {
            dead_letter: 21,
            attempts: 3,
            ended: CaseStatus::Aborted,
        },
        Event::LogCompacted {
            cases: 2,
            produced: vec![("3f2a".into(), token("reviewer", 9, true))],
            consumed: vec![("3f2a".into(), refs()[1].clone())],
        },
    ]
}

#[test]
fn every_event_encodes_as_pinned() {
    let all: Vec<String> = events()
        .into_iter()
        .map(|event| {
            forms(&EventRecord {
                seq: 99,
                at_ms: 1_700_000_000_000,
                case: Some("o-1".into()),
                event,
            })
        })
        .collect();
    insta::assert_snapshot!("events", all.join("\n\n"));
}

#[test]
fn every_failure_encodes_as_pinned() {
    let guest = [
        GuestFailure::Deadline { timeout_ms: 1000 },
        GuestFailure::OutOfFuel { fuel: 10 },
        GuestFailure::MemoryCap { memory_mb: 64 },
        GuestFailure::Trap {
            message: "unreachable".into(),
        },
        GuestFailure::OutputTooLarge { bytes: 9, cap: 8 },
        GuestFailure::Guest {
            message: "no".into(),
            retryable: true,
        },
        GuestFailure::Instantiate {
            message: "slots".into(),
        },
    ];
    let mut errors: Vec<FiringError> = guest.into_iter().map(FiringError::Guest).collect();
    errors.extend([
        FiringError::UndeclaredOutcome {
            outcome: "x".into(),
            declared: "a, b".into(),
        },
        FiringError::WrongPlace {
            outcome: "a".into(),
            place: "p".into(),
            declared: "q".into(),
        },
        FiringError::WrongCount {
            outcome: "a".into(),
            place: "q".into(),
            expected: 2,
            got: 1,
        },
        FiringError::NotMessagePack {
            place: "q".into(),
            message: "empty".into(),
        },
        FiringError::CapacityExceeded {
            place: "q".into(),
            capacity: 1,
            would_hold: 2,
        },
    ]);
    let providers = [
        ProviderError::Timeout { after_ms: 5 },
        ProviderError::RateLimited {
            retry_after_ms: Some(10),
        },
        ProviderError::Status {
            status: 500,
            message: "oops".into(),
        },
        ProviderError::Connect {
            message: "refused".into(),
        },
        ProviderError::Malformed {
            message: "no choices".into(),
        },
        ProviderError::NotRecorded {
            cassette: "c.json".into(),
            request_hash: "ab".into(),
        },
        ProviderError::BudgetExceeded {
            message: "case".into(),
        },
        ProviderError::RefusedByPolicy {
            message: "role".into(),
        },
        ProviderError::NotConfigured,
    ];
    let mut all: Vec<String> = errors.iter().map(forms).collect();
    all.extend(providers.iter().map(forms));
    insta::assert_snapshot!("failures", all.join("\n\n"));
}

#[test]
fn records_encode_as_pinned() {
    let case = CaseRecord {
        id: "o-1".into(),
        net: "order-approval".into(),
        version: "3f2a".into(),
        status: CaseStatus::Compensating,
        started_at_ms: 1_700_000_000_000,
        updated_at_ms: 1_700_000_000_900,
        archived: None,
        compensable: vec![step()],
        saga: Some(Saga {
            reason: "fraud".into(),
            steps: vec![step()],
            attempt: 2,
            not_before_ms: 1_700_000_001_000,
            failures: vec![failure()],
            then_restart: false,
            regions: Vec::new(),
            waiting_letter: None,
        }),
        attempt: 2,
        start: vec![token("received", 1, false)],
        restart_at_ms: 0,
        region_aborts: Default::default(),
    };
    let letter = DeadLetter {
        id: 5,
        case: "o-1".into(),
        version: "3f2a".into(),
        transition: "approve".into(),
        kind: DeadLetterKind::Compensation { compensated: 11 },
        tokens: vec![token("submitted", 3, false)],
        attempts: 3,
        failures: vec![failure()],
        last_decision: Some(LastDecision {
            outcome: "maybe".into(),
            places: vec!["approved".into()],
        }),
        dead_at_ms: 1_700_000_002_000,
    };
    let net = NetRecord {
        name: "order-approval".into(),
        version: "3f2a".into(),
        file: "examples/order-approval/net.toml".into(),
        source: "[net]\nname = \"order-approval\"\n".into(),
        components: vec![("approve".into(), "b3ab".into())],
        deployed_at_ms: 1_700_000_000_000,
    };
    let reservation = Reservation {
        case: "o-1".into(),
        transition: "pay".into(),
        attempt: 2,
        tokens: vec![
            TokenId::new(Owner::Case("o-1".into()), "approved", 3),
            TokenId::new(Owner::Shared("3f2a".into()), "reviewer", 1),
        ],
        started_at_ms: 1_700_000_000_000,
        not_before_ms: 1_700_000_001_000,
        failures: vec![failure()],
        external: true,
        lease: Some(Lease {
            id: "00ab".into(),
            worker: "payments".into(),
            until_ms: 1_700_000_030_000,
            lease_ms: 30_000,
        }),
        compensates: None,
    };
    let compacted = CaseRecord {
        status: CaseStatus::Completed,
        archived: Some(Archived {
            at_ms: 1_700_000_009_000,
            file: "2023-11-14/batch-77.jsonl.gz".into(),
            events: 7,
            last_seq: 98,
            tokens: "8d1f0c6e2a9b4d3f5e7a1c0b2d4f6e8a".into(),
        }),
        compensable: vec![],
        saga: None,
        attempt: 1,
        start: Vec::new(),
        restart_at_ms: 0,
        region_aborts: Default::default(),
        ..case.clone()
    };
    let all = [
        forms(&case),
        forms(&compacted),
        forms(&letter),
        forms(&net),
        forms(&reservation),
    ];
    insta::assert_snapshot!("records", all.join("\n\n"));
}
