//! The host's ceilings: how much any net file, guest, upload or request may
//! make the host hold, compute or write.
//!
//! Every value has a safe default and is set in `petrel.toml`'s `[limits]`
//! table ([`crate::config`]). The per-call bounds a net file declares
//! (`timeout_ms`, `fuel`, `memory_mb`, `max_output_kb`,
//! `retry.max_attempts`, `llm.max_request_kb`) may lower these ceilings but
//! never raise them: a net asking for more is refused at deploy, naming the
//! field and the ceiling.
//!
//! ```toml
//! # petrel.toml
//! [limits]
//! timeout_ms = 60000          # longest deadline of one guest call
//! fuel = 1000000000000        # largest instruction budget of one call
//! memory_mb = 512             # largest linear memory of one guest
//! max_output_kb = 16384       # largest decision (payload bytes) of one call
//! max_attempts = 100          # most attempts of one firing
//! llm_request_kb = 512        # largest `llm.complete` request (journaled)
//! log_lines = 256             # log lines kept per firing (more are counted)
//! log_line_bytes = 4096       # one log line is cut to this
//! log_bytes = 262144          # log bytes kept per firing
//! net_file_kb = 1024          # largest net file
//! places = 10000              # most places of one net
//! transitions = 10000         # most transitions of one net
//! arcs = 100000               # most arcs (inputs and outcome outputs) of one net
//! initial_tokens = 100000     # most initial tokens over all shared places of a net
//! component_kb = 32768        # largest guest component
//! deploys_at_once = 2         # net deploys read and compiled at once
//! instances_per_net = 32      # guest instances one net may hold at once
//!                             # (default: half the instance slots)
//! ```

mod read;

pub use read::{ReadError, read_bounded};

/// Longest deadline of one guest call a net may ask for.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Largest instruction budget of one guest call.
pub const DEFAULT_FUEL: u64 = 1_000_000_000_000;
/// Largest linear memory of one guest (MiB).
pub const DEFAULT_MEMORY_MB: u32 = 512;
/// Largest decision of one guest call (KiB of payload).
pub const DEFAULT_MAX_OUTPUT_KB: u32 = 16 * 1024;
/// Most attempts of one firing.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 100;
/// Largest language-model request (KiB), as the journal keeps it.
pub const DEFAULT_LLM_REQUEST_KB: u32 = 512;
/// Log lines kept per firing.
pub const DEFAULT_LOG_LINES: u32 = 256;
/// A log line is cut to this many bytes.
pub const DEFAULT_LOG_LINE_BYTES: u32 = 4096;
/// Log bytes kept per firing, all lines together.
pub const DEFAULT_LOG_BYTES: u32 = 256 * 1024;
/// Largest net file (KiB).
pub const DEFAULT_NET_FILE_KB: u32 = 1024;
/// Most places of one net.
pub const DEFAULT_PLACES: u32 = 10_000;
/// Most transitions of one net.
pub const DEFAULT_TRANSITIONS: u32 = 10_000;
/// Most arcs of one net (input arcs and every outcome's output arcs).
pub const DEFAULT_ARCS: u32 = 100_000;
/// Most initial tokens over all shared places of one net.
pub const DEFAULT_INITIAL_TOKENS: u64 = 100_000;
/// Largest guest component (KiB).
pub const DEFAULT_COMPONENT_KB: u32 = 32 * 1024;
/// Net deploys read and compiled at once.
pub const DEFAULT_DEPLOYS_AT_ONCE: u32 = 2;

/// The host's ceilings (see the module docs for each one's meaning and
/// default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// Longest deadline of one guest call (`timeout_ms`).
    pub timeout_ms: u64,
    /// Largest instruction budget of one guest call (`fuel`).
    pub fuel: u64,
    /// Largest linear memory of one guest, MiB (`memory_mb`).
    pub memory_mb: u32,
    /// Largest decision of one guest call, KiB of payload (`max_output_kb`).
    pub max_output_kb: u32,
    /// Most attempts of one firing (`retry.max_attempts`).
    pub max_attempts: u32,
    /// Largest language-model request, KiB (`llm.max_request_kb`).
    pub llm_request_kb: u32,
    /// Log lines kept per firing; later ones are counted, not kept.
    pub log_lines: u32,
    /// A log line is cut to this many bytes.
    pub log_line_bytes: u32,
    /// Log bytes kept per firing (lines past it are counted, not kept).
    pub log_bytes: u32,
    /// Largest net file, KiB.
    pub net_file_kb: u32,
    /// Most places of one net.
    pub places: u32,
    /// Most transitions of one net.
    pub transitions: u32,
    /// Most arcs of one net.
    pub arcs: u32,
    /// Most initial tokens over all shared places of one net.
    pub initial_tokens: u64,
    /// Largest guest component, KiB.
    pub component_kb: u32,
    /// Net deploys read and compiled at once (others wait).
    pub deploys_at_once: u32,
    /// Guest instances one net may hold at once; `None`: half the
    /// instance slots (at least one).
    pub instances_per_net: Option<u32>,
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            fuel: DEFAULT_FUEL,
            memory_mb: DEFAULT_MEMORY_MB,
            max_output_kb: DEFAULT_MAX_OUTPUT_KB,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            llm_request_kb: DEFAULT_LLM_REQUEST_KB,
            log_lines: DEFAULT_LOG_LINES,
            log_line_bytes: DEFAULT_LOG_LINE_BYTES,
            log_bytes: DEFAULT_LOG_BYTES,
            net_file_kb: DEFAULT_NET_FILE_KB,
            places: DEFAULT_PLACES,
            transitions: DEFAULT_TRANSITIONS,
            arcs: DEFAULT_ARCS,
            initial_tokens: DEFAULT_INITIAL_TOKENS,
            component_kb: DEFAULT_COMPONENT_KB,
            deploys_at_once: DEFAULT_DEPLOYS_AT_ONCE,
            instances_per_net: None,
        }
    }
}

impl HostLimits {
    /// Largest net file in bytes.
    pub fn net_file_bytes(&self) -> u64 {
        u64::from(self.net_file_kb) * 1024
    }

    /// Largest guest component in bytes.
    pub fn component_bytes(&self) -> u64 {
        u64::from(self.component_kb) * 1024
    }

    /// Guest instances one net may hold at once, of `slots` in all.
    pub fn instances_per_net(&self, slots: u32) -> u32 {
        self.instances_per_net
            .unwrap_or(slots / 2)
            .clamp(1, slots.max(1))
    }
}

/// `bytes` cut to at most `max` bytes on a character boundary, copied into
/// a fresh allocation of that size (cutting in place would keep the whole
/// allocation alive).
pub fn cut_str(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut at = max;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text[..at].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_net_gets_half_the_slots_unless_told() {
        let limits = HostLimits::default();
        assert_eq!(limits.instances_per_net(64), 32);
        assert_eq!(limits.instances_per_net(1), 1);
        let limits = HostLimits {
            instances_per_net: Some(100),
            ..HostLimits::default()
        };
        assert_eq!(limits.instances_per_net(8), 8);
    }

    #[test]
    fn cutting_copies_only_what_is_kept() {
        let long = "é".repeat(1000);
        let cut = cut_str(&long, 5);
        assert_eq!(cut, "éé");
        assert!(cut.capacity() < 16);
        assert_eq!(cut_str("abc", 5), "abc");
    }
}
