//! The `[limits]` table of `petrel.toml` → [`HostLimits`] (documented in
//! [`crate::limits`]).

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Ctx};
use crate::limits::HostLimits;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    timeout_ms: Option<Spanned<u64>>,
    fuel: Option<Spanned<u64>>,
    memory_mb: Option<Spanned<u32>>,
    max_output_kb: Option<Spanned<u32>>,
    max_attempts: Option<Spanned<u32>>,
    llm_request_kb: Option<Spanned<u32>>,
    log_lines: Option<Spanned<u32>>,
    log_line_bytes: Option<Spanned<u32>>,
    log_bytes: Option<Spanned<u32>>,
    net_file_kb: Option<Spanned<u32>>,
    places: Option<Spanned<u32>>,
    transitions: Option<Spanned<u32>>,
    arcs: Option<Spanned<u32>>,
    initial_tokens: Option<Spanned<u64>>,
    component_kb: Option<Spanned<u32>>,
    deploys_at_once: Option<Spanned<u32>>,
    instances_per_net: Option<Spanned<u32>>,
}

/// Sets `*slot` from `raw` when given: at least `min`, at most `max`.
fn set<T>(
    cx: &Ctx<'_>,
    raw: &Option<Spanned<T>>,
    name: &str,
    min: T,
    max: T,
    slot: &mut T,
) -> Result<(), ConfigError>
where
    T: Copy + PartialOrd + std::fmt::Display,
{
    let Some(v) = raw else { return Ok(()) };
    let value = *v.get_ref();
    if value < min || value > max {
        return Err(cx.err(
            v.span(),
            format!("limits.{name}"),
            format!("{value} is out of range (expected {min} to {max})"),
        ));
    }
    *slot = value;
    Ok(())
}

pub(crate) fn parse(cx: &Ctx<'_>, raw: &RawLimits) -> Result<HostLimits, ConfigError> {
    let mut l = HostLimits::default();
    let big = u32::MAX;
    set(
        cx,
        &raw.timeout_ms,
        "timeout_ms",
        1,
        u64::MAX,
        &mut l.timeout_ms,
    )?;
    set(cx, &raw.fuel, "fuel", 1, u64::MAX, &mut l.fuel)?;
    // A 32-bit guest addresses at most 4 GiB.
    set(cx, &raw.memory_mb, "memory_mb", 1, 4096, &mut l.memory_mb)?;
    // Decisions, requests and files are held in memory whole: 1 GiB at most.
    let gib_in_kb = 1 << 20;
    set(
        cx,
        &raw.max_output_kb,
        "max_output_kb",
        1,
        gib_in_kb,
        &mut l.max_output_kb,
    )?;
    set(
        cx,
        &raw.max_attempts,
        "max_attempts",
        1,
        big,
        &mut l.max_attempts,
    )?;
    set(
        cx,
        &raw.llm_request_kb,
        "llm_request_kb",
        1,
        gib_in_kb,
        &mut l.llm_request_kb,
    )?;
    set(cx, &raw.log_lines, "log_lines", 0, big, &mut l.log_lines)?;
    set(
        cx,
        &raw.log_line_bytes,
        "log_line_bytes",
        1,
        1 << 30,
        &mut l.log_line_bytes,
    )?;
    set(
        cx,
        &raw.log_bytes,
        "log_bytes",
        0,
        1 << 30,
        &mut l.log_bytes,
    )?;
    set(
        cx,
        &raw.net_file_kb,
        "net_file_kb",
        1,
        gib_in_kb,
        &mut l.net_file_kb,
    )?;
    set(cx, &raw.places, "places", 1, big, &mut l.places)?;
    set(
        cx,
        &raw.transitions,
        "transitions",
        1,
        big,
        &mut l.transitions,
    )?;
    set(cx, &raw.arcs, "arcs", 2, big, &mut l.arcs)?;
    set(
        cx,
        &raw.initial_tokens,
        "initial_tokens",
        0,
        u64::MAX,
        &mut l.initial_tokens,
    )?;
    set(
        cx,
        &raw.component_kb,
        "component_kb",
        1,
        gib_in_kb,
        &mut l.component_kb,
    )?;
    set(
        cx,
        &raw.deploys_at_once,
        "deploys_at_once",
        1,
        1024,
        &mut l.deploys_at_once,
    )?;
    if raw.instances_per_net.is_some() {
        let mut n = 0;
        set(
            cx,
            &raw.instances_per_net,
            "instances_per_net",
            1,
            big,
            &mut n,
        )?;
        l.instances_per_net = Some(n);
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::limits::HostLimits;

    #[test]
    fn the_limits_table_sets_ceilings_and_defaults_fill_the_rest() {
        let config = Config::parse(
            "[limits]\ntimeout_ms = 1000\nlog_lines = 3\ninstances_per_net = 4\n",
            "petrel.toml",
        )
        .unwrap();
        assert_eq!(
            config.limits,
            HostLimits {
                timeout_ms: 1000,
                log_lines: 3,
                instances_per_net: Some(4),
                ..HostLimits::default()
            }
        );
        assert_eq!(
            Config::parse("", "petrel.toml").unwrap().limits,
            HostLimits::default()
        );
    }

    #[test]
    fn bad_limits_name_line_and_field() {
        let err = Config::parse("[limits]\nmemory_mb = 5000\n", "petrel.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "petrel.toml:2: `limits.memory_mb`: 5000 is out of range (expected 1 to 4096)"
        );
        let err = Config::parse("[limits]\ntimeout = 5\n", "petrel.toml").unwrap_err();
        assert!(err.to_string().contains("unknown field `timeout`"), "{err}");
    }
}
