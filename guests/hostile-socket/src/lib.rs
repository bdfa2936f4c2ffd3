//! A guest that opens a TCP connection through `std::net`, so its component
//! imports `wasi:sockets`: the host must refuse it at deploy.
//!
//! Should it ever run, it fires `out` with what happened into `out`.

use std::net::TcpStream;

use petrel_guest::{Decision, Error, Firing, Transition};

struct Connect;

impl Transition for Connect {
    fn decide(_firing: Firing) -> Result<Decision, Error> {
        let seen = match TcpStream::connect("127.0.0.1:80") {
            Ok(stream) => format!("connected to {:?}", stream.peer_addr()),
            Err(err) => format!("error: {err}"),
        };
        Decision::fire("out").token("out", &seen)
    }
}

petrel_guest::transition!(Connect);
