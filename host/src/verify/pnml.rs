//! PNML import: place/transition nets (`ptnet` type) as published by the
//! Model Checking Contest.
//!
//! What is read: the one `<net>` of the file, its places (`id`, `<name>`,
//! `<initialMarking>`), transitions (`id`, `<name>`) and arcs (`source`,
//! `target`, `<inscription>`), on any number of nested `<page>`s, with
//! `<referencePlace>`/`<referenceTransition>` resolved to the node they stand
//! for. `<graphics>` and `<toolspecific>` are skipped. A missing
//! `<initialMarking>` is 0 tokens, a missing `<inscription>` weight 1;
//! parallel arcs add up.
//!
//! Anything else that matters is an error naming the file, the line, the
//! element and what was expected.
//!
//! # Layout
//!
//! `error` holds [`PnmlError`]; `parser` reads the XML events into raw
//! nodes and arcs, resolves references and builds the [`PtNet`].

use std::path::Path;

use super::ptnet::PtNet;

mod error;
mod parser;

pub use error::PnmlError;

/// Reads the place/transition net in the PNML file at `file`.
pub fn load(file: impl AsRef<Path>) -> Result<PtNet, PnmlError> {
    let file = file.as_ref();
    let source = std::fs::read_to_string(file).map_err(|source| PnmlError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    parse(&source, file)
}
/// Reads the place/transition net in `source`, the text of `file` (used in
/// errors only).
pub fn parse(source: &str, file: impl AsRef<Path>) -> Result<PtNet, PnmlError> {
    parser::Parser::new(source, file.as_ref()).run()
}

#[cfg(test)]
mod tests;
