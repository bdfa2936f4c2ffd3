//! Why a PNML file cannot be imported.

use std::path::PathBuf;

/// A PNML file that cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum PnmlError {
    /// The file could not be read.
    #[error("cannot read PNML file `{}`: {source}", file.display())]
    Read {
        /// The PNML file.
        file: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file holds more XML than allowed.
    #[error(
        "PNML file `{}` holds more than {limit} bytes of XML (the bound; raise it with --max-input)",
        file.display()
    )]
    TooLarge {
        /// The PNML file.
        file: PathBuf,
        /// The bound, in bytes.
        limit: u64,
    },
    /// The file is not well-formed XML.
    #[error("{}:{line}: malformed XML: {message}", file.display())]
    Xml {
        /// The PNML file.
        file: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What the XML parser said.
        message: String,
    },
    /// The file is XML but not a place/transition net Petrel can check.
    #[error("{}:{line}: {element}: {message}", file.display())]
    Invalid {
        /// The PNML file.
        file: PathBuf,
        /// 1-based line of the offending element.
        line: usize,
        /// The offending element, e.g. ``<arc id="a7">``.
        element: String,
        /// What is wrong and what was expected.
        message: String,
    },
}
