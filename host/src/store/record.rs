//! Records the store keeps besides tokens and events.

use serde::{Deserialize, Serialize};

/// A deployed net version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetRecord {
    /// The net's declared name.
    pub name: String,
    /// Content hash of the net file and its components.
    pub version: String,
    /// Path of the net file it was deployed from (for messages, and to
    /// resolve nothing: components are stored).
    pub file: String,
    /// Exact text of the net file.
    pub source: String,
    /// Component hash per guest transition, in net order.
    pub components: Vec<(String, String)>,
    /// When it was first deployed (ms since the Unix epoch).
    pub deployed_at_ms: u64,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Something may still fire.
    Running,
    /// Nothing is enabled and every token lies in a final place.
    Completed,
    /// Nothing is enabled and some token lies outside the final places.
    Stuck,
    /// A guest aborted the case.
    Aborted,
}

impl CaseStatus {
    /// The status's name as shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Running => "running",
            CaseStatus::Completed => "completed",
            CaseStatus::Stuck => "stuck",
            CaseStatus::Aborted => "aborted",
        }
    }

    /// Whether the case can still change without outside help.
    pub fn is_terminal(self) -> bool {
        matches!(self, CaseStatus::Completed | CaseStatus::Aborted)
    }
}

/// One case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case id.
    pub id: String,
    /// Net name.
    pub net: String,
    /// Net version the case runs on for its whole life.
    pub version: String,
    /// Where it stands.
    pub status: CaseStatus,
    /// When it started (ms since the Unix epoch).
    pub started_at_ms: u64,
    /// When its status last changed.
    pub updated_at_ms: u64,
}

/// Inputs held by a firing in progress. Written before the guest runs;
/// removed by the firing's commit. One left at start-up belongs to a firing
/// a crash cut off: its tokens never left their places, so it is dropped and
/// the firing runs again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The case.
    pub case: String,
    /// The transition.
    pub transition: String,
    /// Attempt number.
    pub attempt: u32,
    /// Keys of the reserved tokens (`tokens` tree), in input order.
    pub tokens: Vec<Vec<u8>>,
    /// When the firing started (ms since the Unix epoch); the guest's clock.
    pub started_at_ms: u64,
}
