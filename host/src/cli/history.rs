//! `petrel history`: a case's event log, filtered by type and time, with
//! the entries compaction moved to the archive when asked (`--archive`).

use std::path::{Path, PathBuf};

use petrel::config::Config;

use petrel::store::{EventFilter, EventRecord};

use super::view::event_line;
use super::{DataArgs, Format, OK, Outcome, bad_input, engine_config, open};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataArgs,
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
    /// compact`).
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
    let engine = open(&args.data).await?;
    let store = engine.store().as_ref();
    let case = store.case(&args.case)?.ok_or_else(|| {
        bad_input(anyhow::anyhow!(
            "no case `{}` in {}",
            args.case,
            args.data.data.display()
        ))
    })?;
    let mut events: Vec<EventRecord> = Vec::new();
    if let (true, Some(archived)) = (args.archive, &case.archived) {
        let (_, config) = engine_config(&args.data)?;
        let dir = archive_dir(&args.data.data, args.archive_dir.as_ref(), &config);
        let read = petrel::retention::archive::read(&dir, &archived.file, &case.id);
        events = read.map_err(bad_input)?;
    }
    events.extend(petrel::retention::live_events(store, &case.id)?);
    events.retain(|e| filter.matches(e));
    match args.format {
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
            if let (false, Some(a)) = (args.archive, &case.archived) {
                println!(
                    "{} event(s), up to {}, archived in {} (read them with --archive)",
                    a.events, a.last_seq, a.file
                );
            }
            for e in &events {
                println!("{}", event_line(e));
            }
        }
    }
    Ok(OK)
}
