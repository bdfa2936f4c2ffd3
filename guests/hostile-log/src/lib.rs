//! A guest that floods the log, for the host's per-firing line cap: 10 000
//! short lines at every level, then one 1 MiB line, then it fires `out`,
//! forwarding every input payload unchanged to `out`. Fired for a
//! transition named `big_lines`, it logs 256 lines of 1.5 MiB each instead
//! (one buffer, logged again and again: a host copying each line whole
//! holds 384 MiB for one firing).
//!
//! Imports `petrel:transition/log`: grant `log` to its transitions.

use petrel_guest::log::{self, Level};
use petrel_guest::{Decision, Error, Firing, Transition};

/// Short lines logged before the long one.
const LINES: usize = 10_000;
/// Lines, and bytes per line, of `big_lines`.
const BIG_LINES: usize = 256;
const BIG_LINE: usize = 1536 << 10;

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
        if firing.transition() == "big_lines" {
            let line = "y".repeat(BIG_LINE);
            for _ in 0..BIG_LINES {
                log::info(&line);
            }
        } else {
            for i in 0..LINES {
                log::log(levels[i % levels.len()], format!("line {i}"));
            }
            log::info("x".repeat(1 << 20));
        }
        firing
            .inputs()
            .iter()
            .try_fold(Decision::fire("out"), |decision, token| {
                decision.token_bytes("out", token.payload().to_vec())
            })
    }
}

petrel_guest::transition!(Flood);
