//! The `[retention]` table: which finished cases `petrel serve` compacts,
//! how often, and where their log entries go (see `petrel::retention`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Ctx};
use crate::retention::Policy;

/// The `[retention]` table, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Which cases a run compacts.
    pub policy: Policy,
    /// How often `petrel serve` runs it.
    pub interval: Duration,
    /// Where archives go (resolved against the config file's directory);
    /// `None`: `archive/` in the data directory.
    pub archive_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    keep_last: Option<Spanned<u64>>,
    finished_before: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    max_cases: Option<Spanned<u64>>,
    archive_dir: Option<PathBuf>,
}

/// Most cases one run may be asked to compact.
const MAX_CASES: u64 = 1_000_000;

/// A duration such as `"7d"`, `"12h"`, `"90s"` (humantime's syntax).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("expected a duration such as \"7d\", \"12h\" or \"90s\" ({e})"))
}

fn duration(cx: &Ctx<'_>, raw: &Spanned<String>, field: &str) -> Result<Duration, ConfigError> {
    parse_duration(raw.get_ref()).map_err(|m| cx.err(raw.span(), field, m))
}

pub(super) fn parse(cx: &Ctx<'_>, raw: &RawRetention) -> Result<RetentionSettings, ConfigError> {
    let mut policy = Policy::default();
    if let Some(n) = &raw.keep_last {
        policy.keep_last = usize::try_from(*n.get_ref()).unwrap_or(usize::MAX);
    }
    if let Some(d) = &raw.finished_before {
        let d = duration(cx, d, "retention.finished_before")?;
        policy.finished_before_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    }
    if let Some(n) = &raw.max_cases {
        if !(1..=MAX_CASES).contains(n.get_ref()) {
            return Err(cx.err(
                n.span(),
                "retention.max_cases",
                format!("expected 1 to {MAX_CASES}"),
            ));
        }
        policy.max_cases = *n.get_ref() as usize;
    }
    let interval = match &raw.interval {
        Some(d) => {
            let interval = duration(cx, d, "retention.interval")?;
            if interval < Duration::from_secs(1) {
                return Err(cx.err(d.span(), "retention.interval", "expected at least 1s"));
            }
            interval
        }
        None => Duration::from_secs(3600),
    };
    let base = cx.file.parent().unwrap_or(Path::new("."));
    Ok(RetentionSettings {
        policy,
        interval,
        archive_dir: raw.archive_dir.as_ref().map(|d| base.join(d)),
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::time::Duration;

    #[test]
    fn the_retention_table_is_read_and_checked() {
        let text = "[retention]\nkeep_last = 50\nfinished_before = \"7d\"\ninterval = \"10m\"\narchive_dir = \"old\"\n";
        let config = Config::parse(text, "conf/petrel.toml").unwrap();
        let r = config.retention.unwrap();
        assert_eq!(r.policy.keep_last, 50);
        assert_eq!(r.policy.finished_before_ms, 7 * 86_400_000);
        assert_eq!(r.interval, Duration::from_secs(600));
        assert_eq!(r.archive_dir.unwrap(), std::path::Path::new("conf/old"));
        assert!(
            Config::parse("", "petrel.toml")
                .unwrap()
                .retention
                .is_none()
        );

        let err =
            Config::parse("[retention]\n\nfinished_before = \"soon\"\n", "p.toml").unwrap_err();
        let err = err.to_string();
        assert!(
            err.starts_with("p.toml:3: `retention.finished_before`: expected a duration"),
            "{err}"
        );
        let err = Config::parse("[retention]\ninterval = \"10ms\"\n", "p.toml").unwrap_err();
        assert!(err.to_string().contains("at least 1s"), "{err}");
        let err = Config::parse("[retention]\nkeep = 3\n", "p.toml").unwrap_err();
        assert!(err.to_string().contains("keep"), "{err}");
    }
}
