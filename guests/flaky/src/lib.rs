//! A fault-injecting transition for tests: its input token says how many
//! attempts fail and how; later attempts fire `ok` into the place it names.
//!
//! Payload: `{ "fail": 2, "how": "trap" | "error" | "fatal" | "hang" |
//! "undeclared" | "abort", "to": "done" }`.

use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    #[serde(default)]
    fail: u32,
    #[serde(default)]
    how: String,
    #[serde(default = "done")]
    to: String,
}

fn done() -> String {
    "done".to_owned()
}

struct Flaky;

impl Transition for Flaky {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let token = firing
            .inputs()
            .first()
            .ok_or_else(|| Error::fatal("flaky needs one input token"))?;
        let plan: Plan = token.decode()?;
        let attempt = firing.attempt();
        if attempt > plan.fail {
            log::info(format!("attempt {attempt}: ok"));
            return Decision::fire("ok").token(&plan.to, &plan);
        }
        log::warn(format!("attempt {attempt}: failing with {}", plan.how));
        match plan.how.as_str() {
            "trap" => panic!("injected trap on attempt {attempt}"),
            "fatal" => Err(Error::fatal(format!(
                "injected fatal error on attempt {attempt}"
            ))),
            "hang" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "undeclared" => Decision::fire("no_such_outcome").token(&plan.to, &plan),
            "abort" => Ok(Decision::abort(format!(
                "injected abort on attempt {attempt}"
            ))),
            _ => Err(Error::retryable(format!(
                "injected error on attempt {attempt}"
            ))),
        }
    }
}

petrel_guest::transition!(Flaky);
