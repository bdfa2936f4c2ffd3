//! A guest that reads a file through `std::fs`, so its component imports
//! `wasi:filesystem`: the host must refuse it at deploy.
//!
//! Should it ever run, it fires `out` with the file's length (or the error)
//! into `out`.

use petrel_guest::{Decision, Error, Firing, Transition};

struct ReadFile;

impl Transition for ReadFile {
    fn decide(_firing: Firing) -> Result<Decision, Error> {
        let seen = match std::fs::read("/etc/passwd") {
            Ok(bytes) => format!("read {} bytes", bytes.len()),
            Err(err) => format!("error: {err}"),
        };
        Decision::fire("out").token("out", &seen)
    }
}

petrel_guest::transition!(ReadFile);
