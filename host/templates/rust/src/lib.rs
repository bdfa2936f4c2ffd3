//! Transition `{{name}}`: reads the request in `start`, answers it in `done`.

use petrel_guest::{Decision, Error, Firing, Transition, log};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Request {
    message: String,
}

#[derive(Serialize)]
struct Reply {
    message: String,
    reply: String,
}

struct Guest;

impl Transition for Guest {
    fn decide(firing: Firing) -> Result<Decision, Error> {
        let request: Request = firing.input("start")?;
        log::info(format!("{}: got {:?}", firing.case_id(), request.message));
        let reply = Reply {
            reply: format!("hello from Rust: {}", request.message),
            message: request.message,
        };
        Decision::fire("done").token("done", &reply)
    }
}

petrel_guest::transition!(Guest);
