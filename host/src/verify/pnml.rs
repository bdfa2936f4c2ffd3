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
//! A file is read as gzip when it starts with gzip's magic bytes (the
//! contest ships `.pnml.gz`), and never past [`MAX_PNML_BYTES`] bytes of
//! XML (or the bound given to [`load_bounded`]), compressed or not: a gzip
//! bomb stops at the bound with an error, before it is held.
//!
//! # Layout
//!
//! `error` holds [`PnmlError`]; `parser` reads the XML events into raw
//! nodes and arcs, resolves references and builds the [`PtNet`].

use std::io::Read;
use std::path::Path;

use super::ptnet::PtNet;

mod error;
mod parser;

pub use error::PnmlError;

/// Most bytes of XML read from one PNML file by default: 1 GiB.
pub const MAX_PNML_BYTES: u64 = 1 << 30;

/// Reads the place/transition net in the PNML file at `file` (plain or
/// gzip), of at most [`MAX_PNML_BYTES`] bytes of XML.
pub fn load(file: impl AsRef<Path>) -> Result<PtNet, PnmlError> {
    load_bounded(file, MAX_PNML_BYTES)
}

/// Reads the place/transition net in the PNML file at `file` (plain or
/// gzip), refusing more than `max_bytes` bytes of XML.
pub fn load_bounded(file: impl AsRef<Path>, max_bytes: u64) -> Result<PtNet, PnmlError> {
    let file = file.as_ref();
    let raw = std::fs::File::open(file).map_err(|source| PnmlError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    read(raw, file, max_bytes)
}

/// Reads the place/transition net in PNML (plain or gzip) from `raw`, the
/// contents of `file` (used in errors only), refusing more than `max_bytes`
/// bytes of XML.
pub fn read(
    mut raw: impl Read,
    file: impl AsRef<Path>,
    max_bytes: u64,
) -> Result<PtNet, PnmlError> {
    let file = file.as_ref();
    let failed = |source| PnmlError::Read {
        file: file.to_path_buf(),
        source,
    };
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut raw, &mut magic).map_err(failed)?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let whole = head.chain(raw);
    let gzip = magic[..n] == [0x1f, 0x8b];
    let bytes = if gzip {
        bounded(flate2::read::MultiGzDecoder::new(whole), max_bytes)
    } else {
        bounded(whole, max_bytes)
    };
    let bytes = bytes.map_err(failed)?.ok_or_else(|| PnmlError::TooLarge {
        file: file.to_path_buf(),
        limit: max_bytes,
    })?;
    let source = String::from_utf8(bytes).map_err(|e| PnmlError::Xml {
        file: file.to_path_buf(),
        line: 1,
        message: format!(
            "not UTF-8 text (invalid byte at offset {}{})",
            e.utf8_error().valid_up_to(),
            if gzip {
                " after gzip decompression"
            } else {
                ""
            }
        ),
    })?;
    parse(&source, file)
}

/// Fills as much of `buf` as `from` has; the bytes read.
fn read_up_to(from: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match from.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// At most `max` bytes of `from`; `None` when it has more.
fn bounded(from: impl Read, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    from.take(max.saturating_add(1)).read_to_end(&mut out)?;
    Ok((out.len() as u64 <= max).then_some(out))
}
/// Reads the place/transition net in `source`, the text of `file` (used in
/// errors only).
pub fn parse(source: &str, file: impl AsRef<Path>) -> Result<PtNet, PnmlError> {
    parser::Parser::new(source, file.as_ref()).run()
}

#[cfg(test)]
mod tests;
