//! A guest that floods the log, for the host's per-firing line cap: 10 000
//! short lines at every level, then one 1 MiB line, then it fires `out`,
//! forwarding every input payload unchanged to `out`.
//!
//! Imports `petrel:transition/log`: grant `log` to its transitions.

use petrel_guest::log::{self, Level};
use petrel_guest::{Decision, Error, Firing, Transition};

/// Short lines logged before the long one.
const LINES: usize = 10_000;

struct Flood;

impl Transition for Flood {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let levels = [
            Level::Trace,
            Level::Debug,
            Level::Info,
            Level::Warn,
            Level::Error,
        ];
        for i in 0..LINES {
            log::log(levels[i % levels.len()], format!("line {i}"));
        }
        log::info("x".repeat(1 << 20));
        firing
            .inputs()
            .iter()
            .try_fold(Decision::fire("out"), |decision, token| {
                decision.token_bytes("out", token.payload().to_vec())
            })
    }
}

petrel_guest::transition!(Flood);
