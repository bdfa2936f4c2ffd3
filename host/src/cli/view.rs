//! Turning stored records into what users read: one-line text.

use petrel::store::{Event, EventRecord, TokenRecord};

fn places(tokens: &[TokenRecord]) -> String {
    tokens
        .iter()
        .map(|t| format!("{}{}", t.place, if t.shared { "*" } else { "" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A language-model exchange: who asked whom, and what came back.
fn llm_line(x: &petrel::llm::ExchangeRecord) -> String {
    let who = format!(
        "{} llm call {} ({}{}{})",
        x.transition,
        x.call,
        x.provider,
        if x.provider.is_empty() { "" } else { " " },
        x.model
    );
    let result = match (&x.response, &x.error) {
        (Some(r), _) => {
            let mut text: String = r.text.chars().take(80).collect();
            if text.len() < r.text.len() {
                text.push('…');
            }
            format!(
                "answered {:?} ({}+{} tokens, {} ms{})",
                text,
                r.usage.input_tokens,
                r.usage.output_tokens,
                x.latency_ms,
                match x.attempts {
                    0 | 1 => String::new(),
                    n => format!(", {n} attempts"),
                }
            )
        }
        (None, Some(e)) => format!("failed after {} ms: {e}", x.latency_ms),
        (None, None) => "no answer".to_string(),
    };
    match x.replayed_from {
        Some(f) => format!("{who} {result} [journaled answer of firing {f}, not asked again]"),
        None => format!("{who} {result}"),
    }
}

/// An event as one line of text.
pub(crate) fn event_line(e: &EventRecord) -> String {
    let what = match &e.event {
        Event::NetDeployed { net, version } => format!("net {net} deployed as {version}"),
        Event::SharedTokensAdded { tokens, .. } => {
            format!("shared tokens added: {}", places(tokens))
        }
        Event::CaseStarted {
            net,
            version,
            tokens,
        } => format!("case started on {net}@{version} with {}", places(tokens)),
        Event::FiringCompleted {
            transition,
            outcome,
            timed_out,
            produced,
            elapsed_us,
            ..
        } => format!(
            "{transition} fired `{outcome}`{} -> {} ({elapsed_us} µs)",
            if *timed_out { " (deadline passed)" } else { "" },
            places(produced)
        ),
        Event::FiringDeclined { transition, .. } => format!("{transition} declined"),
        Event::FiringFailed {
            transition,
            attempt,
            error,
            retry_at_ms,
            compensating,
            ..
        } => format!(
            "{transition}{} failed (attempt {attempt}): {error}{}",
            compensating.map_or(String::new(), |f| format!(" (compensating firing {f})")),
            match retry_at_ms {
                Some(at) => format!("; retry in {} ms", at.saturating_sub(e.at_ms)),
                None => "; no attempts left".to_string(),
            }
        ),
        Event::FiringDeadLettered {
            firing,
            transition,
            attempts,
            consumed,
            ..
        } => format!(
            "{transition} dead-lettered after {attempts} attempt(s) as dead letter {firing}{}",
            if consumed.is_empty() {
                String::new()
            } else {
                format!(
                    " holding {}",
                    consumed
                        .iter()
                        .map(|r| format!("{}#{}", r.place, r.seq))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        Event::DeadLetterRetried {
            dead_letter,
            restored,
            by,
            ..
        } => format!(
            "dead letter {dead_letter} retried{}{}",
            by_whom(by),
            if restored.is_empty() {
                String::new()
            } else {
                format!(": {} back", places(restored))
            }
        ),
        Event::DeadLetterDiscarded {
            dead_letter,
            reason,
            by,
            ..
        } => format!(
            "dead letter {dead_letter} discarded{}: {reason}",
            by_whom(by)
        ),
        Event::CompensationCompleted {
            transition,
            compensated,
            outcome,
            produced,
            remaining,
            ..
        } => format!(
            "{transition} compensated firing {compensated}{} ({remaining} compensation(s) left)",
            match outcome {
                Some(o) => format!(" with `{o}` -> {}", places(produced)),
                None => " (declined: nothing to undo)".to_string(),
            }
        ),
        Event::FiringClaimed {
            transition,
            firing,
            attempt,
            worker,
            ..
        } => format!("{transition} firing {firing} claimed by `{worker}` (attempt {attempt})"),
        Event::FiringAbandoned { transition, firing } => {
            format!("{transition} firing {firing} cut off by a crash; runs again")
        }
        Event::CaseAborted {
            transition,
            reason,
            compensations,
            ..
        } => format!(
            "case aborted by {transition}: {reason}{}",
            match compensations.len() {
                0 => String::new(),
                n => format!("; {n} compensation(s) to run"),
            }
        ),
        Event::RegionAborted {
            transition,
            region,
            reason,
            compensations,
            discarded,
            ..
        } => format!(
            "region {region} aborted by {transition}: {reason}{}{}",
            match compensations.len() {
                0 => String::new(),
                n => format!("; {n} compensation(s) to run"),
            },
            match discarded.len() {
                0 => String::new(),
                n => format!("; {n} dead letter(s) of it discarded"),
            }
        ),
        Event::CaseCancelled {
            by,
            reason,
            compensations,
            ..
        } => format!(
            "case cancelled by {by}: {reason}{}",
            match compensations.len() {
                0 => String::new(),
                n => format!("; {n} compensation(s) to run"),
            }
        ),
        Event::FiringDiscarded { transition, .. } => {
            format!("{transition} discarded: the case was aborted while it ran")
        }
        Event::LlmExchange(x) => llm_line(x),
        Event::CaseCompleted => "case completed".to_string(),
        Event::CaseStuck { places } => format!("case stuck with tokens in {}", places.join(", ")),
        Event::CaseRestarted {
            attempt,
            consumed,
            discarded,
            ..
        } => format!(
            "case started again: attempt {attempt} ({} token(s) and {} dead letter(s) of the last attempt dropped)",
            consumed.len(),
            discarded.len()
        ),
        Event::CaseDeadLettered {
            dead_letter,
            attempts,
            ended,
        } => format!(
            "case {} after {attempts} attempt(s): dead letter {dead_letter}",
            ended.as_str()
        ),
        Event::LogCompacted {
            cases,
            produced,
            consumed,
        } => format!(
            "{cases} finished case(s) compacted; their entries took {} and left {} shared token(s)",
            consumed.len(),
            produced.len()
        ),
    };
    let mut line = format!("{:>6}  {what}", e.seq);
    if let Event::FiringCompleted { log, .. }
    | Event::FiringFailed { log, .. }
    | Event::FiringDeclined { log, .. }
    | Event::CaseAborted { log, .. }
    | Event::CompensationCompleted { log, .. }
    | Event::FiringDiscarded { log, .. } = &e.event
    {
        for l in log {
            line.push_str(&format!(
                "\n          [{}] {}",
                l.level,
                l.message.trim_end()
            ));
        }
    }
    line
}

/// ` by NAME`, or nothing when a log entry predates recording who.
fn by_whom(by: &str) -> String {
    if by.is_empty() {
        String::new()
    } else {
        format!(" by {by}")
    }
}
