//! What every exploration shares, whichever engine runs it: its bounds
//! ([`Options`]), why it ended ([`Stop`]), what it saw ([`Summary`]) and who
//! watches it ([`Observer`]).
//!
//! Two bounds keep any net from taking the process down: a number of
//! markings and a number of bytes (`--max-memory`, by default half of the
//! machine's memory as `/proc/meminfo` gives it). An engine checks what it
//! holds before it grows and stops, inconclusively, instead of asking for
//! memory past the bound. A deadline bounds the time (the deploy gate's
//! budget).

use std::time::{Duration, Instant};

use super::ptnet::PtNet;

/// Number of a reachable marking, in breadth-first discovery order (0 is the
/// initial marking).
pub type StateId = u32;

/// Parent of the initial marking.
pub(super) const ROOT: u32 = u32::MAX;

/// Most markings [`Options::max_states`] may ask for (state numbers are `u32`).
pub const MAX_STATES: u64 = 3_000_000_000;

/// Memory bound when the machine's memory cannot be read: 4 GiB.
const FALLBACK_MEMORY: u64 = 4 << 30;

/// Least memory bound: 16 MiB.
pub const MIN_MEMORY: u64 = 16 << 20;

/// Nets with more places than this go to the sparse engine by default.
pub const SPARSE_PLACES: usize = 8192;

/// Which state-space engine explores a net.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Packed for nets of at most [`SPARSE_PLACES`] places without resets,
    /// sparse for the others.
    #[default]
    Auto,
    /// Every place a bit field of every stored marking (no resets).
    Packed,
    /// Every stored marking its marked places alone.
    Sparse,
}

impl Engine {
    /// Whether `net` goes to the sparse engine.
    pub fn sparse(self, net: &PtNet) -> bool {
        net.has_resets()
            || match self {
                Engine::Auto => net.places().len() > SPARSE_PLACES,
                Engine::Packed => false,
                Engine::Sparse => true,
            }
    }
}

/// Bounds and presentation of an exploration.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop (inconclusively) after storing this many markings.
    pub max_states: u64,
    /// Stop (inconclusively) rather than hold more than this many bytes of
    /// markings, numbers and search stacks. Default: [`default_max_memory`].
    pub max_memory: u64,
    /// Stop (inconclusively) at this time.
    pub deadline: Option<Instant>,
    /// Which engine explores.
    pub engine: Engine,
    /// Draw a progress bar on stderr for long runs, when stderr is a terminal.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_states: 20_000_000,
            max_memory: default_max_memory(),
            deadline: None,
            engine: Engine::Auto,
            progress: false,
        }
    }
}

impl Options {
    /// Whether the deadline has passed.
    pub(crate) fn late(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Whether `bytes` stay within [`Options::max_memory`].
    pub(crate) fn fits(&self, bytes: usize) -> bool {
        bytes as u64 <= self.max_memory
    }
}

/// Half of the machine's memory (`MemTotal` in `/proc/meminfo`), or 4 GiB
/// where that cannot be read.
pub fn default_max_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total(&text))
        .map_or(FALLBACK_MEMORY, |total| (total / 2).max(MIN_MEMORY))
}

/// `MemTotal` in bytes, from the text of `/proc/meminfo`.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => n.checked_mul(1024),
        None => Some(n),
        _ => None,
    }
}

/// Reads a byte count such as `2G`, `512MiB`, `1.5g` or `1000000`
/// (suffixes are powers of 1024: K, M, G, T, with or without `i`/`iB`/`B`).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "ki" | "kib" => 10,
        "m" | "mb" | "mi" | "mib" => 20,
        "g" | "gb" | "gi" | "gib" => 30,
        "t" | "tb" | "ti" | "tib" => 40,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit (expected a number of bytes with an optional K, M, G or T suffix, e.g. 2G)"
            ));
        }
    };
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}`: not a number of bytes (expected e.g. 2G, 512M or 1000000)")
    })?;
    let bytes = value * (1u64 << shift) as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!(
            "`{text}`: out of range (expected at least one byte)"
        ));
    }
    Ok(bytes as u64)
}

/// Why an exploration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Every reachable marking was expanded.
    Complete,
    /// [`Options::max_states`] markings were stored before the end.
    Limit,
    /// Going on would have held more than [`Options::max_memory`] bytes.
    Memory,
    /// [`Options::deadline`] passed.
    Time,
    /// Marking `top` covers its ancestor `base` and is larger in some place:
    /// the firing sequence from `base` to `top` can repeat forever.
    Unbounded {
        /// The smaller marking.
        base: StateId,
        /// The larger marking, reached from `base`.
        top: StateId,
    },
    /// A place would hold more than `u32::MAX` tokens.
    TooManyTokens {
        /// The place.
        place: usize,
    },
}

/// What an exploration saw, whichever engine ran it.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Why exploration ended.
    pub stop: Stop,
    /// Markings stored.
    pub states: u64,
    /// States expanded (all of them when [`Stop::Complete`]).
    pub expanded: u64,
    /// Enabled (state, transition) pairs over the expanded states.
    pub edges: u64,
    /// Most tokens seen in each place.
    pub max_in_place: Vec<u32>,
    /// Most tokens seen in one expanded marking.
    pub max_per_marking: u64,
    /// Whether each transition was enabled in some expanded marking.
    pub fired: Vec<bool>,
    /// The first (so least deep) expanded marking that enables nothing.
    pub first_deadlock: Option<StateId>,
    /// Peak bytes held by the visited set, numbers and queue.
    pub peak_bytes: usize,
    /// Bytes a stored marking takes (its packed size, or the mean of the
    /// encoded ones).
    pub marking_bytes: usize,
    /// Wall-clock time of the exploration.
    pub elapsed: Duration,
}

impl Summary {
    /// A summary of nothing explored yet, for a net of `places` places
    /// holding `initial` and `transitions` transitions.
    pub(crate) fn start(initial: Vec<u32>, transitions: usize) -> Summary {
        Summary {
            stop: Stop::Complete,
            states: 0,
            expanded: 0,
            edges: 0,
            max_in_place: initial,
            max_per_marking: 0,
            fired: vec![false; transitions],
            first_deadlock: None,
            peak_bytes: 0,
            marking_bytes: 0,
            elapsed: Duration::ZERO,
        }
    }
}

impl Summary {
    /// Records what an exploration that started at `start` ends with.
    pub(crate) fn close(
        &mut self,
        states: u64,
        heap_bytes: usize,
        marking_bytes: usize,
        start: Instant,
    ) {
        self.states = states;
        self.peak_bytes = self.peak_bytes.max(heap_bytes);
        self.marking_bytes = marking_bytes;
        self.elapsed = start.elapsed();
    }
}

/// What an explored state space tells of its markings, whichever engine
/// explored it.
pub(crate) trait Markings {
    /// The marking of `state`, one count per place.
    fn marking_of(&self, state: StateId) -> Vec<u32>;
    /// The firing sequence from `ancestor` (the initial marking when
    /// `None`) to its descendant `state` along the breadth-first tree.
    fn path_to(&self, ancestor: Option<StateId>, state: StateId)
    -> Vec<super::ptnet::TransitionId>;
}

/// Sees every reachable marking once it is expanded.
pub trait Observer {
    /// Whether [`Observer::marking`] is called.
    const MARKINGS: bool;

    /// Called for each marking, in breadth-first order, with its marked
    /// places as `(place, tokens)` sorted by place, and the transitions it
    /// enables (none: a deadlock).
    fn marking(&mut self, _state: StateId, _marked: &[(u32, u32)], _enabled: &[u32]) {}
}

impl Observer for () {
    const MARKINGS: bool = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_byte_counts_and_the_machine_memory() {
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("1.5k"), Ok(1536));
        assert_eq!(parse_bytes("1000000"), Ok(1_000_000));
        assert!(
            parse_bytes("2 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_bytes("G").is_err());
        assert!(parse_bytes("0").is_err());
        assert_eq!(
            mem_total("MemTotal:       24000000 kB\nMemFree: 1 kB\n"),
            Some(24_000_000 * 1024)
        );
        assert!(default_max_memory() >= MIN_MEMORY);
    }
}
