//! The `retry` table of a transition → [`RetryPolicy`].

use serde::Deserialize;
use toml::Spanned;

use super::{Ctx, within};
use crate::net::{FailureClass, NetError, OnExhausted, RetryPolicy};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetryPolicy {
    max_attempts: Option<Spanned<u32>>,
    initial_delay_ms: Option<Spanned<u64>>,
    multiplier: Option<Spanned<f64>>,
    max_delay_ms: Option<Spanned<u64>>,
    jitter: Option<Spanned<f64>>,
    retry_on: Option<Vec<Spanned<String>>>,
    on_exhausted: Option<Spanned<String>>,
}

/// The net's `[net] retry` (whole cases started again): the same table
/// without `retry_on` (an attempt is retried when the case ends aborted or
/// stuck) and `on_exhausted` (the case is dead-lettered).
pub(super) fn parse_workflow(
    cx: &Ctx<'_>,
    raw: &Spanned<RawRetryPolicy>,
) -> Result<RetryPolicy, NetError> {
    let r = raw.get_ref();
    if let Some(first) = r.retry_on.as_ref().and_then(|v| v.first()) {
        return Err(cx.err(
            first.span(),
            "net.retry.retry_on",
            "a whole case is retried when it ends aborted or stuck, whatever failed (drop `retry_on`; transitions keep their own `retry`)",
        ));
    }
    if let Some(v) = &r.on_exhausted {
        return Err(cx.err(
            v.span(),
            "net.retry.on_exhausted",
            "a case that used up its attempts always goes to the dead-letter queue (drop `on_exhausted`)",
        ));
    }
    parse(cx, Some(raw), "net")
}

/// The policy of transition `field` (`transitions.NAME`).
pub(super) fn parse(
    cx: &Ctx<'_>,
    raw: Option<&Spanned<RawRetryPolicy>>,
    field: &str,
) -> Result<RetryPolicy, NetError> {
    let mut policy = RetryPolicy::default();
    let ceiling = cx.limits.max_attempts;
    policy.max_attempts = policy.max_attempts.min(ceiling);
    let Some(raw) = raw else {
        return Ok(policy);
    };
    let f = format!("{field}.retry");
    let r = raw.get_ref();
    if let Some(v) = &r.max_attempts {
        let af = format!("{f}.max_attempts");
        policy.max_attempts = within(cx, v, ceiling, &af, "max_attempts")?;
    }
    if let Some(v) = &r.initial_delay_ms {
        policy.initial_delay_ms = *v.get_ref();
    }
    if let Some(v) = &r.max_delay_ms {
        policy.max_delay_ms = *v.get_ref();
    }
    if policy.max_delay_ms < policy.initial_delay_ms {
        let span = r.max_delay_ms.as_ref().map_or(raw.span(), |v| v.span());
        return Err(cx.err(
            span,
            format!("{f}.max_delay_ms"),
            format!(
                "{} ms is shorter than initial_delay_ms ({} ms) (expected at least the initial delay)",
                policy.max_delay_ms, policy.initial_delay_ms
            ),
        ));
    }
    if let Some(v) = &r.multiplier {
        let m = *v.get_ref();
        if !(1.0..=100.0).contains(&m) {
            return Err(cx.err(
                v.span(),
                format!("{f}.multiplier"),
                format!("{m} is out of range (expected 1.0 to 100.0)"),
            ));
        }
        policy.multiplier = m;
    }
    if let Some(v) = &r.jitter {
        let j = *v.get_ref();
        if !(0.0..=1.0).contains(&j) {
            return Err(cx.err(
                v.span(),
                format!("{f}.jitter"),
                format!("{j} is out of range (expected a fraction from 0.0 to 1.0)"),
            ));
        }
        policy.jitter = j;
    }
    if let Some(names) = &r.retry_on {
        let mut classes = Vec::with_capacity(names.len());
        for n in names {
            let Some(class) = FailureClass::from_name(n.get_ref()) else {
                let known: Vec<&str> = FailureClass::NAMED.iter().map(|c| c.name()).collect();
                return Err(cx.err(
                    n.span(),
                    format!("{f}.retry_on"),
                    format!(
                        "unknown failure class `{}` (expected some of: {})",
                        n.get_ref(),
                        known.join(", ")
                    ),
                ));
            };
            if !classes.contains(&class) {
                classes.push(class);
            }
        }
        policy.retry_on = classes;
    }
    if let Some(v) = &r.on_exhausted {
        policy.on_exhausted = match v.get_ref().as_str() {
            "dead_letter" => OnExhausted::DeadLetter,
            "abort" => OnExhausted::Abort,
            other => {
                return Err(cx.err(
                    v.span(),
                    format!("{f}.on_exhausted"),
                    format!("unknown action `{other}` (expected `dead_letter` or `abort`)"),
                ));
            }
        };
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::net_error as err;
    use crate::net::{FailureClass, Net, OnExhausted, RetryPolicy};

    const NET: &str = r#"
[net]
name = "retry"
[places.inbox]
start = true
[places.done]
final = true
[transitions.ship]
guest = "ship.wasm"
inputs = { inbox = 1 }
outcomes.done = { done = 1 }
retry = { max_attempts = 5, initial_delay_ms = 100, multiplier = 3.0, max_delay_ms = 2000, jitter = 0.0, retry_on = ["trap", "invalid_decision"], on_exhausted = "abort" }
"#;

    #[test]
    fn the_retry_table_sets_the_policy_and_defaults_fill_the_rest() {
        let net = Net::parse(NET, Path::new("n.toml")).unwrap();
        assert_eq!(
            net.transition("ship").unwrap().retry,
            RetryPolicy {
                max_attempts: 5,
                initial_delay_ms: 100,
                multiplier: 3.0,
                max_delay_ms: 2000,
                jitter: 0.0,
                retry_on: vec![FailureClass::Trap, FailureClass::InvalidDecision],
                on_exhausted: OnExhausted::Abort,
            }
        );
        let text = NET.replace("retry = {", "# retry = {");
        let net = Net::parse(&text, Path::new("n.toml")).unwrap();
        assert_eq!(
            net.transition("ship").unwrap().retry,
            RetryPolicy::default()
        );
    }

    #[test]
    fn bad_policies_name_line_and_field() {
        assert!(
            err(&NET.replace("max_attempts = 5", "max_attempts = 0"))
                .starts_with("n.toml:12: `transitions.ship.retry.max_attempts`: 0 is not allowed")
        );
        assert!(err(&NET.replace("\"invalid_decision\"", "\"oops\"")).contains(
            "`transitions.ship.retry.retry_on`: unknown failure class `oops` (expected some of: trap, deadline, resources, guest_error, invalid_decision, capacity)"
        ));
        assert!(
            err(&NET.replace("\"abort\"", "\"explode\""))
                .contains("`transitions.ship.retry.on_exhausted`: unknown action `explode`")
        );
        assert!(
            err(&NET.replace("jitter = 0.0", "jitter = 1.5"))
                .contains("`transitions.ship.retry.jitter`: 1.5 is out of range")
        );
        assert!(
            err(&NET.replace("max_delay_ms = 2000", "max_delay_ms = 50"))
                .contains("`transitions.ship.retry.max_delay_ms`: 50 ms is shorter than initial_delay_ms (100 ms)")
        );
    }
}
