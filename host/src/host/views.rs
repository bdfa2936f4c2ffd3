//! What the host answers: cases, pages of lists, net versions.

use serde::Serialize;

use crate::store::{CaseRecord, DeadLetter, EventRecord};

/// A deployed net version, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetVersion {
    /// Net name.
    pub name: String,
    /// Version (content hash).
    pub version: String,
    /// When it was first deployed (ms since the Unix epoch).
    pub deployed_at_ms: u64,
}

impl From<crate::store::NetRecord> for NetVersion {
    fn from(n: crate::store::NetRecord) -> NetVersion {
        NetVersion {
            name: n.name,
            version: n.version,
            deployed_at_ms: n.deployed_at_ms,
        }
    }
}

/// A token of a case's marking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenView {
    /// Place name.
    pub place: String,
    /// Token id.
    pub seq: u64,
    /// Payload as JSON.
    pub payload: serde_json::Value,
}

/// A case: its record, tokens and dead letters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseView {
    /// The case record (id, net, version, status, times).
    #[serde(flatten)]
    pub record: CaseRecord,
    /// Its tokens, by place then age.
    pub tokens: Vec<TokenView>,
    /// Ids of its dead letters.
    pub dead_letters: Vec<u64>,
}

/// One page of a case's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryPage {
    /// Events, oldest first.
    pub events: Vec<EventRecord>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<u64>,
}

/// One page of the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterPage {
    /// Dead letters, oldest first.
    pub dead_letters: Vec<DeadLetter>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<u64>,
}

/// One page of the deployed net versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetPage {
    /// Versions, in version order.
    pub nets: Vec<NetVersion>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<String>,
}

/// Most items one page of a list holds.
pub const MAX_PAGE: usize = 1000;

/// Most log entries one filtered history page reads.
pub const MAX_SCAN: usize = 10_000;
