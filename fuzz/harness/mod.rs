//! The fuzz targets' bodies, shared by the libFuzzer binaries
//! (`fuzz_targets/`) and the smoke test of the main test suite
//! (`tests/fuzz.rs`), which runs each over its seed corpus and mutations.
//! Each body must never panic, hang or allocate without bound, whatever
//! the bytes; it asserts what the host promises of accepted input.

#![allow(dead_code)]

pub mod decision;
pub mod http_body;
pub mod net_file;
pub mod payload;
