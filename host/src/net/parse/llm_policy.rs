//! The `llm` table of a transition → [`LlmPolicy`].

use serde::Deserialize;
use toml::Spanned;

use super::{Ctx, positive, within};
use crate::net::{LlmPolicy, NetError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLlmPolicy {
    max_calls: Option<Spanned<u32>>,
    max_tokens: Option<Spanned<u64>>,
    case_token_budget: Option<Spanned<u64>>,
    call_timeout_ms: Option<Spanned<u64>>,
    max_request_kb: Option<Spanned<u32>>,
}

/// The policy of transition `field` (`transitions.NAME`), whose deadline is
/// `timeout_ms`; `granted` says whether it has the `llm` capability.
pub(super) fn parse(
    cx: &Ctx<'_>,
    raw: Option<&Spanned<RawLlmPolicy>>,
    granted: bool,
    timeout_ms: u64,
    field: &str,
) -> Result<LlmPolicy, NetError> {
    let mut policy = LlmPolicy::defaults(timeout_ms);
    let ceiling = cx.limits.llm_request_kb;
    policy.max_request_kb = ceiling;
    let Some(raw) = raw else {
        return Ok(policy);
    };
    let f = format!("{field}.llm");
    if !granted {
        return Err(cx.err(
            raw.span(),
            f,
            "an `llm` policy on a transition without the `llm` capability (add `capabilities = [\"llm\"]`, or drop the table)",
        ));
    }
    let r = raw.get_ref();
    if let Some(v) = &r.max_calls {
        policy.max_calls = positive(cx, v, &format!("{f}.max_calls"))?;
    }
    if let Some(v) = &r.max_tokens {
        policy.max_tokens = positive(cx, v, &format!("{f}.max_tokens"))?;
    }
    if let Some(v) = &r.case_token_budget {
        policy.case_token_budget = positive(cx, v, &format!("{f}.case_token_budget"))?;
    }
    if let Some(v) = &r.call_timeout_ms {
        let ms = positive(cx, v, &format!("{f}.call_timeout_ms"))?;
        if ms > timeout_ms {
            return Err(cx.err(
                v.span(),
                format!("{f}.call_timeout_ms"),
                format!("{ms} ms is longer than the transition's timeout_ms ({timeout_ms} ms), which cuts every call off first (expected at most {timeout_ms})"),
            ));
        }
        policy.call_timeout_ms = ms;
    }
    if let Some(v) = &r.max_request_kb {
        let rf = format!("{f}.max_request_kb");
        policy.max_request_kb = within(cx, v, ceiling, &rf, "llm_request_kb")?;
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::net_error as err;
    use crate::net::{Capability, LlmPolicy, Net};

    const NET: &str = r#"
[net]
name = "llm"
[places.inbox]
start = true
[places.done]
final = true
[transitions.ask]
guest = "ask.wasm"
inputs = { inbox = 1 }
outcomes.done = { done = 1 }
capabilities = ["llm"]
timeout_ms = 9000
llm = { max_calls = 3, max_tokens = 2000, case_token_budget = 20000, call_timeout_ms = 8000 }
"#;

    #[test]
    fn the_llm_table_sets_the_policy_and_defaults_fill_the_rest() {
        let net = Net::parse(NET, Path::new("n.toml")).unwrap();
        let t = net.transition("ask").unwrap();
        assert!(t.grants(Capability::Llm));
        assert_eq!(
            t.llm,
            LlmPolicy {
                max_calls: 3,
                max_tokens: 2000,
                case_token_budget: 20000,
                call_timeout_ms: 8000,
                max_request_kb: crate::limits::DEFAULT_LLM_REQUEST_KB,
            }
        );
        let text = NET.replace("llm = { max_calls = 3, max_tokens = 2000, case_token_budget = 20000, call_timeout_ms = 8000 }\n", "");
        let net = Net::parse(&text, Path::new("n.toml")).unwrap();
        assert_eq!(
            net.transition("ask").unwrap().llm,
            LlmPolicy::defaults(9000)
        );
    }

    #[test]
    fn bad_policies_name_line_and_field() {
        assert_eq!(
            err(&NET.replace("capabilities = [\"llm\"]\n", "")),
            "n.toml:13: `transitions.ask.llm`: an `llm` policy on a transition without the `llm` capability (add `capabilities = [\"llm\"]`, or drop the table)"
        );
        assert!(
            err(&NET.replace("max_calls = 3", "max_calls = 0"))
                .starts_with("n.toml:14: `transitions.ask.llm.max_calls`: 0 is not allowed")
        );
        assert!(err(&NET.replace("call_timeout_ms = 8000", "call_timeout_ms = 9001")).contains("`transitions.ask.llm.call_timeout_ms`: 9001 ms is longer than the transition's timeout_ms (9000 ms)"));
        assert!(
            err(&NET.replace("max_calls = 3", "max_cals = 3")).contains("unknown field `max_cals`")
        );
    }
}
