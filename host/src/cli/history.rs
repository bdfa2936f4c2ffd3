//! `petrel history`: a case's event log, filtered by type and time, with
//! the entries compaction moved to the archive when asked (`--archive`);
//! from a data directory or a running `petrel serve`.

use std::path::{Path, PathBuf};

use petrel::config::Config;

use petrel::store::{CaseRecord, EventFilter, EventRecord};

use super::remote::Remote;
use super::view::event_line;
use super::{
    DataArgs, Failure, Format, OK, Outcome, Source, SourceArgs, bad_input, engine_config,
    open_or_ask,
};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// The case.
    #[arg(long)]
    case: String,
    /// Only these event types, comma-separated (e.g.
    /// `firing_completed,llm_exchange`).
    #[arg(long = "type", value_name = "TYPES")]
    kinds: Option<String>,
    /// Only events written at or after this time: RFC 3339
    /// (`2026-12-05T10:00:00Z`), ms since the epoch, or a duration ago (`2h`).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only events written before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Also read the events compaction moved to the archive (see `petrel
    /// compact`; with `--data` only).
    #[arg(long)]
    archive: bool,
    /// The archive directory (default: the config file's `[retention]
    /// archive_dir`, else DATA/archive).
    #[arg(long, value_name = "DIR")]
    archive_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn filter(args: &Args) -> Result<EventFilter, super::Failure> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let (kinds, since, until) = (&args.kinds, &args.since, &args.until);
    EventFilter::parse(kinds.as_deref(), since.as_deref(), until.as_deref(), now)
        .map_err(|(name, m)| bad_input(anyhow::anyhow!("--{name}: {m}")))
}

/// The archive directory: `flag` (`--archive-dir`), else the config's
/// `[retention] archive_dir`, else DATA/archive.
pub(crate) fn archive_dir(data: &Path, flag: Option<&PathBuf>, config: &Config) -> PathBuf {
    flag.cloned()
        .or_else(|| {
            config
                .retention
                .as_ref()
                .and_then(|r| r.archive_dir.clone())
        })
        .unwrap_or_else(|| data.join("archive"))
}

pub(crate) async fn run(args: Args) -> Outcome {
    let filter = filter(&args)?;
    let (case, events) = match args.source.source()? {
        Source::Data(data) => local(&args, &data, &filter).await?,
        Source::Url(_) if args.archive || args.archive_dir.is_some() => {
            return Err(bad_input(anyhow::anyhow!(
                "--archive reads the archive files beside the data directory: run it where they are, with --data"
            )));
        }
        Source::Url(remote) => remote_history(&remote, &args.case, &filter).await?,
    };
    print(args.format, &case, &events, args.archive);
    Ok(OK)
}

/// The case and its events, from the data directory.
async fn local(
    args: &Args,
    data: &DataArgs,
    filter: &EventFilter,
) -> Result<(CaseRecord, Vec<EventRecord>), Failure> {
    let engine = open_or_ask(data).await?;
    let store = engine.store().as_ref();
    let case = store.case(&args.case)?.ok_or_else(|| {
        bad_input(anyhow::anyhow!(
            "no case `{}` in {}",
            args.case,
            data.dir().display()
        ))
    })?;
    let mut events: Vec<EventRecord> = Vec::new();
    if let (true, Some(archived)) = (args.archive, &case.archived) {
        let (_, config) = engine_config(data)?;
        let dir = archive_dir(&data.dir(), args.archive_dir.as_ref(), &config);
        let read = petrel::retention::archive::read(&dir, &archived.file, &case.id);
        events = read.map_err(bad_input)?;
    }
    events.extend(petrel::retention::live_events(store, &case.id)?);
    events.retain(|e| filter.matches(e));
    Ok((case, events))
}

/// A page of `GET /v1/cases/{id}/history`.
#[derive(serde::Deserialize)]
struct Page {
    events: Vec<EventRecord>,
    next_after: Option<u64>,
}

/// The case and its events, from the server at `remote`: every page, the
/// filter's times as this machine reads them.
async fn remote_history(
    remote: &Remote,
    id: &str,
    filter: &EventFilter,
) -> Result<(CaseRecord, Vec<EventRecord>), Failure> {
    let case = remote.case(id).await?.record;
    let mut query = vec![("limit", "1000".to_string())];
    if !filter.kinds.is_empty() {
        query.push(("type", filter.kinds.join(",")));
    }
    query.extend(filter.since_ms.map(|t| ("since", t.to_string())));
    query.extend(filter.until_ms.map(|t| ("until", t.to_string())));
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let mut asked = query.clone();
        asked.push(("after", after.to_string()));
        let page: Page = remote.get(&["v1", "cases", id, "history"], &asked).await?;
        events.extend(page.events);
        match page.next_after {
            Some(next) if next > after => after = next,
            _ => return Ok((case, events)),
        }
    }
}

fn print(format: Format, case: &CaseRecord, events: &[EventRecord], archive: bool) {
    match format {
        Format::Json => {
            // Token payloads come out decoded (see `TokenRecord`).
            println!("{}", serde_json::json!({ "case": case, "events": events }));
        }
        Format::Text => {
            println!(
                "case {} on {}@{}: {}",
                case.id,
                case.net,
                case.version,
                case.status.as_str()
            );
            if let (false, Some(a)) = (archive, &case.archived) {
                println!(
                    "{} event(s), up to {}, archived in {} (read them with --archive)",
                    a.events, a.last_seq, a.file
                );
            }
            for e in events {
                println!("{}", event_line(e));
            }
        }
    }
}
