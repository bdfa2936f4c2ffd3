//! Cases, as an operator sees them: listed newest started first (filtered
//! by net, status and start time, a bounded page at a time), and
//! cancelled.

use serde::Serialize;

use super::{Host, MAX_PAGE, MAX_SCAN};
use crate::engine::EngineError;
use crate::engine::driver::Command;
use crate::store::{CaseRecord, CaseStatus, EventFilter};

/// Which cases a listing asks for; the default asks for every case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Only cases of this net (by name).
    pub net: Option<String>,
    /// Only cases in one of these statuses; empty: any status.
    pub status: Vec<CaseStatus>,
    /// Only cases started at or after this time (ms since the Unix epoch).
    pub started_after_ms: Option<u64>,
    /// Only cases started before this time (ms since the Unix epoch).
    pub started_before_ms: Option<u64>,
}

/// One page of cases, newest started first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CasePage {
    /// The cases.
    pub cases: Vec<CaseRecord>,
    /// Pass as `after` for the next page; `None` when there is none. A page
    /// may hold fewer cases than asked for and still have one (a page reads
    /// at most [`MAX_SCAN`] cases).
    pub next_after: Option<String>,
}

impl CaseFilter {
    /// Whether `case` is asked for.
    pub fn matches(&self, case: &CaseRecord) -> bool {
        self.net.as_deref().is_none_or(|n| n == case.net)
            && (self.status.is_empty() || self.status.contains(&case.status))
            && self
                .started_after_ms
                .is_none_or(|t| case.started_at_ms >= t)
            && self
                .started_before_ms
                .is_none_or(|t| case.started_at_ms < t)
    }

    /// The filter four optional query values ask for: a net name, statuses
    /// separated by commas, and two times as [`EventFilter::parse_time`]
    /// reads them. A bad one is named (`net`, `status`, `started_after`,
    /// `started_before`) with what is wrong.
    pub fn parse(
        net: Option<&str>,
        status: Option<&str>,
        started_after: Option<&str>,
        started_before: Option<&str>,
        now_ms: u64,
    ) -> Result<CaseFilter, (&'static str, String)> {
        let time = |name, v| EventFilter::parse_named_time(name, v, now_ms);
        if let Some(n) = net
            && (n.is_empty() || n.len() > 128)
        {
            return Err(("net", "expected a net name (1 to 128 bytes)".into()));
        }
        Ok(CaseFilter {
            net: net.map(str::to_string),
            status: match status {
                Some(s) => parse_statuses(s).map_err(|m| ("status", m))?,
                None => Vec::new(),
            },
            started_after_ms: time("started_after", started_after)?,
            started_before_ms: time("started_before", started_before)?,
        })
    }
}

/// Reads `running,stuck`, naming an unknown status and the known ones.
fn parse_statuses(text: &str) -> Result<Vec<CaseStatus>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            CaseStatus::ALL
                .iter()
                .copied()
                .find(|known| known.as_str() == s)
                .ok_or_else(|| {
                    let known: Vec<&str> = CaseStatus::ALL.iter().map(|k| k.as_str()).collect();
                    format!("unknown status `{s}`; expected one of {}", known.join(", "))
                })
        })
        .collect()
}

/// Longest reason a cancel may give.
pub const MAX_REASON_BYTES: usize = 1024;

/// A page cursor: the last case's start time and id, as `<ms>:<id>`.
fn cursor(case: &CaseRecord) -> String {
    format!("{}:{}", case.started_at_ms, case.id)
}

/// Reads a cursor [`cursor`] made.
fn parse_cursor(text: &str) -> Result<(u64, &str), EngineError> {
    text.split_once(':')
        .and_then(|(ms, id)| Some((ms.parse().ok()?, id)))
        .ok_or_else(|| {
            EngineError::Invalid(format!(
                "`after`: expected a previous page's `next_after` (`<ms>:<case id>`), got `{text}`"
            ))
        })
}

impl Host {
    /// Cancels case `id` for `by` (an operator): it aborts as when a guest
    /// aborts it, its compensations run newest first. Durable when it
    /// returns; a conflict when the case ended or is aborted already.
    pub async fn cancel_case(
        &self,
        id: &str,
        by: &str,
        reason: &str,
    ) -> Result<CaseRecord, EngineError> {
        if reason.len() > MAX_REASON_BYTES {
            return Err(EngineError::Invalid(format!(
                "`reason`: at most {MAX_REASON_BYTES} bytes, got {}",
                reason.len()
            )));
        }
        let (case, by, reason) = (id.to_string(), by.to_string(), reason.to_string());
        let cancelled = self
            .ask(|reply| Command::Cancel {
                id: case,
                by,
                reason,
                reply,
            })
            .await?;
        if let Some(record) = cancelled {
            self.engine().flush().await?;
            return Ok(record);
        }
        match self.engine().store().case(id)? {
            Some(record) => Err(EngineError::Conflict(format!(
                "case `{id}` is {} already",
                record.status.as_str()
            ))),
            None => Err(EngineError::NotFound(format!("no case `{id}`"))),
        }
    }

    /// Up to `limit` (1 to [`MAX_PAGE`]) cases `filter` asks for, newest
    /// started first, after the page that `after` (a previous page's
    /// `next_after`) ended.
    pub fn cases_page(
        &self,
        filter: &CaseFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<CasePage, EngineError> {
        let store = self.engine().store();
        let limit = limit.clamp(1, MAX_PAGE);
        // Nothing started at or after `started_before` is read at all.
        let mut before: Option<(u64, String)> = match after {
            Some(text) => parse_cursor(text).map(|(ms, id)| Some((ms, id.to_string())))?,
            None => filter.started_before_ms.map(|ms| (ms, String::new())),
        };
        let (mut cases, mut scanned) = (Vec::new(), 0);
        loop {
            let batch = limit.max(64).min(MAX_SCAN - scanned);
            let page = store
                .cases_newest_first(before.as_ref().map(|(ms, id)| (*ms, id.as_str())), batch)?;
            let Some(last) = page.last() else {
                return Ok(CasePage {
                    cases,
                    next_after: None,
                });
            };
            before = Some((last.started_at_ms, last.id.clone()));
            scanned += page.len();
            let exhausted = page.len() < batch;
            for case in page {
                if filter
                    .started_after_ms
                    .is_some_and(|t| case.started_at_ms < t)
                {
                    // Older ones all started before the bound too.
                    return Ok(CasePage {
                        cases,
                        next_after: None,
                    });
                }
                if filter.matches(&case) {
                    cases.push(case);
                    if cases.len() == limit {
                        let next_after = cases.last().map(cursor);
                        return Ok(CasePage { cases, next_after });
                    }
                }
            }
            if exhausted {
                return Ok(CasePage {
                    cases,
                    next_after: None,
                });
            }
            if scanned >= MAX_SCAN {
                let next_after = before.map(|(ms, id)| format!("{ms}:{id}"));
                return Ok(CasePage { cases, next_after });
            }
        }
    }
}
