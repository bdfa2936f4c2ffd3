//! `petrel cases`: the cases of a data directory or of a running `petrel
//! serve`, newest started first, by net, status and start time.

use std::time::{Duration, UNIX_EPOCH};

use anyhow::anyhow;
use petrel::host::CaseFilter;
use petrel::store::{CaseRecord, Store};
use serde_json::json;

use super::remote::Remote;
use super::{Failure, Format, OK, Outcome, Source, SourceArgs, bad_input, open_or_ask};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// Only cases of this net (its name).
    #[arg(long, value_name = "NAME")]
    net: Option<String>,
    /// Only cases in these statuses, comma-separated: running, completed,
    /// stuck, aborted, compensating, compensation_failed.
    #[arg(long, value_name = "STATUSES")]
    status: Option<String>,
    /// Only cases started at or after this time: RFC 3339
    /// (`2026-12-05T10:00:00Z`), ms since the epoch, or a duration ago (`2h`).
    #[arg(long, value_name = "TIME")]
    started_after: Option<String>,
    /// Only cases started before this time (same forms as --started-after).
    #[arg(long, value_name = "TIME")]
    started_before: Option<String>,
    /// Most cases to list.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    limit: u64,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Cases asked for per page (the API's most) or read per batch.
const PAGE: usize = 1000;

/// A page of `GET /v1/cases`.
#[derive(serde::Deserialize)]
struct Page {
    cases: Vec<CaseRecord>,
    next_after: Option<String>,
}

/// Up to `limit` cases `filter` asks for, newest started first, read from
/// the store's start-time index (no further than needed); and whether more
/// match.
fn local(store: &dyn Store, filter: &CaseFilter, limit: usize) -> Result<Listed, Failure> {
    // Nothing started at or after `started_before` is read at all.
    let mut before = filter.started_before_ms.map(|ms| (ms, String::new()));
    let mut cases = Vec::new();
    loop {
        let after = before.as_ref().map(|(ms, id)| (*ms, id.as_str()));
        let batch = store.cases_newest_first(after, PAGE)?;
        let Some(last) = batch.last() else {
            return Ok((cases, false));
        };
        before = Some((last.started_at_ms, last.id.clone()));
        let exhausted = batch.len() < PAGE;
        for case in batch {
            if filter
                .started_after_ms
                .is_some_and(|t| case.started_at_ms < t)
            {
                // Older ones all started before the bound too.
                return Ok((cases, false));
            }
            if filter.matches(&case) {
                if cases.len() == limit {
                    return Ok((cases, true));
                }
                cases.push(case);
            }
        }
        if exhausted {
            return Ok((cases, false));
        }
    }
}

/// Up to `limit` cases from the server, page after page, and whether more
/// match.
async fn remote(remote: &Remote, filter: &CaseFilter, limit: usize) -> Result<Listed, Failure> {
    let page = |after: Option<String>, limit: usize| {
        let mut query = query(filter);
        query.push(("limit", limit.to_string()));
        query.extend(after.map(|a| ("after", a)));
        async move { remote.get::<Page>(&["v1", "cases"], &query).await }
    };
    let mut cases = Vec::new();
    let mut after = None;
    while cases.len() < limit {
        let got = page(after, (limit - cases.len()).min(PAGE)).await?;
        cases.extend(got.cases);
        after = got.next_after;
        if after.is_none() {
            return Ok((cases, false));
        }
    }
    cases.truncate(limit);
    // A full list may be all there is: look one case further.
    while let Some(cursor) = after {
        let got = page(Some(cursor), 1).await?;
        if !got.cases.is_empty() {
            return Ok((cases, true));
        }
        after = got.next_after;
    }
    Ok((cases, false))
}

/// Cases, and whether more match than were listed.
type Listed = (Vec<CaseRecord>, bool);

fn filter(args: &Args) -> Result<CaseFilter, Failure> {
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    CaseFilter::parse(
        args.net.as_deref(),
        args.status.as_deref(),
        args.started_after.as_deref(),
        args.started_before.as_deref(),
        now,
    )
    .map_err(|(name, m)| bad_input(anyhow!("--{}: {m}", name.replace('_', "-"))))
}

/// The query that asks a server for what `filter` holds (times as this
/// machine read them).
fn query(filter: &CaseFilter) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    query.extend(filter.net.clone().map(|n| ("net", n)));
    if !filter.status.is_empty() {
        let status: Vec<&str> = filter.status.iter().map(|s| s.as_str()).collect();
        query.push(("status", status.join(",")));
    }
    query.extend(
        filter
            .started_after_ms
            .map(|t| ("started_after", t.to_string())),
    );
    query.extend(
        filter
            .started_before_ms
            .map(|t| ("started_before", t.to_string())),
    );
    query
}

pub(crate) async fn run(args: Args) -> Outcome {
    let filter = filter(&args)?;
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let (cases, more) = match args.source.source()? {
        Source::Data(data) => {
            let engine = open_or_ask(&data).await?;
            local(engine.store().as_ref(), &filter, limit)?
        }
        Source::Url(server) => remote(&server, &filter, limit).await?,
    };
    print(args.format, &cases, more);
    Ok(OK)
}

/// A time as RFC 3339 (UTC, to the second).
fn time(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

fn print(format: Format, cases: &[CaseRecord], more: bool) {
    match format {
        Format::Json => println!("{}", json!({ "cases": cases, "more": more })),
        Format::Text if cases.is_empty() => println!("no cases"),
        Format::Text => {
            let width = |f: fn(&CaseRecord) -> usize, title: &str| {
                cases.iter().map(f).chain([title.len()]).max().unwrap_or(0)
            };
            let id = width(|c| c.id.len(), "CASE");
            let net = width(|c| c.net.len(), "NET");
            let status = width(|c| c.status.as_str().len(), "STATUS");
            println!(
                "{:<id$}  {:<net$}  {:<status$}  STARTED               UPDATED",
                "CASE", "NET", "STATUS"
            );
            for c in cases {
                println!(
                    "{:<id$}  {:<net$}  {:<status$}  {}  {}",
                    c.id,
                    c.net,
                    c.status.as_str(),
                    time(c.started_at_ms),
                    time(c.updated_at_ms)
                );
            }
            if more {
                println!("(more cases match: raise --limit or narrow the filters)");
            }
        }
    }
}
