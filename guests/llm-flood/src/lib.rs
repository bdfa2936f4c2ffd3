//! A guest that floods the `llm` import: 30 calls with a 2 MiB prompt,
//! whatever each answers (refused, not configured, over budget), then it
//! fires `out`, forwarding every input payload unchanged. A host that
//! journals every call whole writes 60 MiB of requests per firing.
//!
//! Imports `petrel:transition/llm`: grant `llm` to its transitions.

use petrel_guest::llm::{self, Request};
use petrel_guest::{Decision, Error, Firing, Transition};

/// Calls per firing, and bytes of each prompt.
const CALLS: usize = 30;
const PROMPT: usize = 2 << 20;

struct Flood;

impl Transition for Flood {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let prompt = "z".repeat(PROMPT);
        for _ in 0..CALLS {
            let _ = llm::complete(Request::new().user(prompt.as_str()).max_output_tokens(1));
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
