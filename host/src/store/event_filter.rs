//! Which log entries a history query asks for: by type, by time.

use super::{Event, EventRecord};

/// A query over log entries; the default matches every entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Entry types ([`Event::kind`]) to keep; empty: every type.
    pub kinds: Vec<&'static str>,
    /// Only entries written at or after this time (ms since the Unix epoch).
    pub since_ms: Option<u64>,
    /// Only entries written before this time (ms since the Unix epoch).
    pub until_ms: Option<u64>,
}

impl EventFilter {
    /// Whether `e` is asked for.
    pub fn matches(&self, e: &EventRecord) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&e.event.kind()))
            && self.since_ms.is_none_or(|t| e.at_ms >= t)
            && self.until_ms.is_none_or(|t| e.at_ms < t)
    }

    /// The filter three optional query values ask for (types as
    /// [`EventFilter::parse_kinds`] reads them, times as
    /// [`EventFilter::parse_time`]); a bad one is named (`type`, `since`,
    /// `until`) with what is wrong.
    pub fn parse(
        kinds: Option<&str>,
        since: Option<&str>,
        until: Option<&str>,
        now_ms: u64,
    ) -> Result<EventFilter, (&'static str, String)> {
        let time = |name, v| EventFilter::parse_named_time(name, v, now_ms);
        Ok(EventFilter {
            kinds: match kinds {
                Some(k) => EventFilter::parse_kinds(k).map_err(|m| ("type", m))?,
                None => Vec::new(),
            },
            since_ms: time("since", since)?,
            until_ms: time("until", until)?,
        })
    }

    /// An optional query value read as [`EventFilter::parse_time`] does;
    /// when bad, named `name` with what is wrong.
    pub fn parse_named_time(
        name: &'static str,
        value: Option<&str>,
        now_ms: u64,
    ) -> Result<Option<u64>, (&'static str, String)> {
        value
            .map(|t| EventFilter::parse_time(t, now_ms).map_err(|m| (name, m)))
            .transpose()
    }

    /// Reads a comma-separated list of entry types (`firing_completed,
    /// llm_exchange`), naming an unknown one and the known ones.
    pub fn parse_kinds(text: &str) -> Result<Vec<&'static str>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                Event::KINDS
                    .iter()
                    .copied()
                    .find(|&known| known == k)
                    .ok_or_else(|| {
                        format!(
                            "unknown event type `{k}` (expected one of: {})",
                            Event::KINDS.join(", ")
                        )
                    })
            })
            .collect()
    }

    /// Reads a time: RFC 3339 (`2026-12-05T10:00:00Z`), milliseconds since
    /// the Unix epoch, or a duration before `now_ms` (`90m`, `2d`).
    pub fn parse_time(text: &str, now_ms: u64) -> Result<u64, String> {
        let text = text.trim();
        if let Ok(ms) = text.parse::<u64>() {
            return Ok(ms);
        }
        if let Ok(time) = humantime::parse_rfc3339_weak(text) {
            return Ok(time
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64));
        }
        if let Ok(ago) = humantime::parse_duration(text) {
            return Ok(now_ms.saturating_sub(ago.as_millis() as u64));
        }
        Err(format!(
            "`{text}` is not a time (expected RFC 3339 such as 2026-12-05T10:00:00Z, milliseconds since the Unix epoch, or a duration ago such as 90m)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(at_ms: u64, event: Event) -> EventRecord {
        EventRecord {
            seq: 1,
            at_ms,
            case: Some("c".into()),
            event,
        }
    }

    #[test]
    fn a_filter_keeps_the_types_and_times_asked_for() {
        let done = at(1_000, Event::CaseCompleted);
        let stuck = at(2_000, Event::CaseStuck { places: vec![] });
        let kinds = EventFilter::parse_kinds("case_completed, firing_completed").unwrap();
        let by_kind = EventFilter {
            kinds,
            ..EventFilter::default()
        };
        assert!(by_kind.matches(&done) && !by_kind.matches(&stuck));
        let by_time = EventFilter {
            since_ms: Some(1_500),
            until_ms: Some(2_001),
            ..EventFilter::default()
        };
        assert!(!by_time.matches(&done) && by_time.matches(&stuck));
        assert!(EventFilter::default().matches(&done));
        let err = EventFilter::parse_kinds("case_done").unwrap_err();
        assert!(
            err.contains("`case_done`") && err.contains("firing_completed"),
            "{err}"
        );
    }

    #[test]
    fn times_are_rfc3339_milliseconds_or_a_duration_ago() {
        let now = 1_764_900_000_000;
        assert_eq!(
            EventFilter::parse_time("2025-12-05T02:00:00Z", now),
            Ok(now)
        );
        assert_eq!(EventFilter::parse_time("17", now), Ok(17));
        assert_eq!(EventFilter::parse_time("2m", now), Ok(now - 120_000));
        assert!(
            EventFilter::parse_time("yesterday", now)
                .unwrap_err()
                .contains("RFC 3339")
        );
    }

    #[test]
    fn every_kind_is_listed() {
        // KINDS and kind() must agree: each listed name parses to itself.
        for k in Event::KINDS {
            assert_eq!(EventFilter::parse_kinds(k).unwrap(), [k]);
        }
        let json = serde_json::to_value(Event::CaseCompleted).unwrap();
        assert_eq!(json["type"], Event::CaseCompleted.kind());
    }
}
