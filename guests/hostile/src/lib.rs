//! A guest that misbehaves on purpose, for the sandbox tests.
//!
//! What it does depends on the name of the transition it fires for:
//!
//! | transition | behaviour |
//! | --- | --- |
//! | `spin` | loops forever |
//! | `grow` | allocates and touches 1 MiB chunks without end |
//! | `recurse` | recurses without end (not a tail call) |
//! | `huge` | fires `out` with one 100 MB payload into `out` |
//! | `alias` | fires `out` with 120 tokens whose payloads all point at one 1 MiB buffer (copied 120 times by a host that lifts them whole) |
//! | `undeclared` | fires outcome `no_such_outcome` (inputs forwarded to `out`) |
//! | `wrong_place` | fires `out` but produces into `elsewhere` |
//! | `panic` | panics |
//! | `env` | fires `out` with `{vars, args}`: the environment and arguments it sees |
//! | `clock` | fires `out` with `{now_unix_ms, random}`: wall clock and a std-seeded hash |
//! | `remember` | fires `out` with `{calls}`: how many calls this instance's memory has seen |
//! | `decline` | declines |
//! | `abort` | aborts the case |
//! | `fail_retryable` | fails with a retryable error |
//! | `fail_fatal` | fails with a fatal error |
//! | `flaky` | fails (retryable) on attempt 1, then behaves like the default |
//! | anything else | fires `out`, forwarding every input payload unchanged to `out` |
//!
//! It never calls `log` or `llm`, so it imports only what `std` pulls in
//! (environment, clocks, random, stdio).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use petrel_guest::{Decision, Error, Firing, Transition};
use serde::Serialize;

/// Size of the `huge` payload.
const HUGE_BYTES: usize = 100_000_000;
/// Tokens of the `alias` decision, and the size of the one buffer they share.
const ALIASES: usize = 120;
const ALIASED_BYTES: usize = 1 << 20;

/// What `env` reports.
#[derive(Serialize)]
struct Environment {
    /// `KEY=value` for every environment variable.
    vars: Vec<String>,
    args: Vec<String>,
}

/// What `clock` reports.
#[derive(Serialize)]
struct Clock {
    now_unix_ms: u64,
    /// A hash keyed by std's per-thread random seed.
    random: u64,
}

/// What `remember` reports.
#[derive(Serialize)]
struct Remembered {
    calls: u32,
}

struct Hostile;

impl Transition for Hostile {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        match firing.transition() {
            "spin" => spin(),
            "grow" => grow(),
            "recurse" => Ok(Decision::abort(format!("recursed {}", recurse(0)))),
            "huge" => Decision::fire("out").token_bytes("out", huge_payload()),
            "alias" => alias(),
            "undeclared" => forward(&firing, Decision::fire("no_such_outcome"), "out"),
            "wrong_place" => forward(&firing, Decision::fire("out"), "elsewhere"),
            // 0xC1 is the one byte MessagePack never uses.
            "not_msgpack" => Decision::fire("out").token_bytes("out", vec![0xc1, 0xde, 0xad]),
            "panic" => panic!("hostile guest panics on purpose"),
            "env" => Decision::fire("out").token(
                "out",
                &Environment {
                    vars: std::env::vars().map(|(k, v)| format!("{k}={v}")).collect(),
                    args: std::env::args().collect(),
                },
            ),
            "clock" => Decision::fire("out").token("out", &clock()),
            "remember" => {
                // Lives in linear memory: 1 on every call of a fresh instance.
                static CALLS: AtomicU32 = AtomicU32::new(0);
                let calls = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
                Decision::fire("out").token("out", &Remembered { calls })
            }
            "decline" => Ok(Decision::decline()),
            "abort" => Ok(Decision::abort("hostile guest aborts on purpose")),
            "fail_retryable" => Err(Error::retryable("hostile guest fails, retryable")),
            "fail_fatal" => Err(Error::fatal("hostile guest fails, fatal")),
            "flaky" if firing.attempt() <= 1 => {
                Err(Error::retryable("hostile guest fails its first attempt"))
            }
            _ => forward(&firing, Decision::fire("out"), "out"),
        }
    }
}

/// Adds every input payload, unchanged, to `decision` as tokens into `place`.
fn forward(firing: &Firing, decision: Decision, place: &str) -> Result<Decision, Error> {
    firing
        .inputs()
        .iter()
        .try_fold(decision, |decision, token| {
            decision.token_bytes(place, token.payload().to_vec())
        })
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn grow() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        // Write every page so the memory is really committed.
        for byte in chunk.iter_mut().step_by(4096) {
            *byte = 1;
        }
        hoard.push(black_box(chunk));
    }
}

/// Each frame holds 1 KiB and adds to the callee's result, so the optimizer
/// can turn this into neither a loop nor a tail call.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 1024];
    frame[(depth % 1024) as usize] = depth as u8;
    let frame = black_box(frame);
    recurse(black_box(depth + 1)).wrapping_add(u64::from(frame[(depth % 7) as usize]))
}

/// A valid MessagePack `bin 32` of [`HUGE_BYTES`] bytes.
fn huge_payload() -> Vec<u8> {
    bin32(HUGE_BYTES)
}

/// A valid MessagePack `bin 32` of `bytes` bytes.
fn bin32(bytes: usize) -> Vec<u8> {
    let len = u32::try_from(bytes).expect("fits a bin 32");
    let mut payload = Vec::with_capacity(bytes + 5);
    payload.push(0xc6);
    payload.extend_from_slice(&len.to_be_bytes());
    payload.resize(bytes + 5, 0x2a);
    payload
}

/// [`ALIASES`] tokens whose payloads are one [`ALIASED_BYTES`] buffer: the
/// guest's memory holds 1 MiB, a host lifting each payload whole copies
/// 120 MiB. (The buffer is freed more than once after the call; the
/// instance is thrown away anyway.)
fn alias() -> Result<Decision, Error> {
    let mut shared = std::mem::ManuallyDrop::new(bin32(ALIASED_BYTES));
    let (ptr, len, cap) = (shared.as_mut_ptr(), shared.len(), shared.capacity());
    let mut decision = Decision::fire("out");
    for _ in 0..ALIASES {
        // SAFETY: deliberately not: every Vec claims the same allocation.
        #[allow(unsafe_code)]
        let alias = unsafe { Vec::from_raw_parts(ptr, len, cap) };
        decision = decision.token_bytes("out", alias)?;
    }
    Ok(decision)
}

fn clock() -> Clock {
    let now_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Clock {
        now_unix_ms,
        random: RandomState::new().hash_one(0u64),
    }
}

petrel_guest::transition!(Hostile);
