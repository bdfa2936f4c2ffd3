//! `petrel dlq`: the dead-letter queue — firings that ran out of attempts —
//! of a data directory or of a running `petrel serve`.

use petrel::store::{DeadLetter, DeadLetterKind};
use serde_json::{Value, json};

use super::cancel::Operator;
use super::remote::Remote;
use super::{Failure, Format, OK, Outcome, Source, SourceArgs, bad_input, open_or_ask};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// List the dead letters, oldest first.
    List {
        #[command(flatten)]
        source: SourceArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show one dead letter: its tokens, every failed attempt, the last decision.
    Show {
        /// The dead letter's id (its firing id, from `list`).
        id: u64,
        #[command(flatten)]
        source: SourceArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Put its tokens back, held for its transition, which fires again on
    /// them with a fresh attempt count (for a compensation: run the saga
    /// again from it).
    Retry {
        /// The dead letter's id.
        id: u64,
        #[command(flatten)]
        operator: Operator,
        #[command(flatten)]
        source: SourceArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Drop it for good; the reason is recorded in the case history.
    Discard {
        /// The dead letter's id.
        id: u64,
        /// Why (required).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        operator: Operator,
        #[command(flatten)]
        source: SourceArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// A dead letter as JSON (its tokens' payloads decoded: see `TokenRecord`).
fn letter_json(d: &DeadLetter) -> Value {
    serde_json::to_value(d).unwrap_or(Value::Null)
}

fn summary_line(d: &DeadLetter) -> String {
    let what = match &d.kind {
        DeadLetterKind::Firing => d.transition.clone(),
        DeadLetterKind::Compensation { compensated } => {
            format!("{} (compensating firing {compensated})", d.transition)
        }
        DeadLetterKind::Case { ended } => format!(
            "whole case ({} on its last attempt; retry starts it again)",
            ended.as_str()
        ),
    };
    let last = d
        .failures
        .last()
        .map_or_else(String::new, |f| f.error.to_string());
    format!(
        "{:>8}  case {}  {what}  {} attempt(s)  {last}",
        d.id, d.case, d.attempts
    )
}

fn print_letter(d: &DeadLetter) {
    println!("{}", summary_line(d));
    println!(
        "  net version {}, dead since {} ms",
        d.version, d.dead_at_ms
    );
    for t in &d.tokens {
        println!(
            "  token {}#{}: {}",
            t.place,
            t.seq,
            petrel::engine::decode_payload(&t.payload)
        );
    }
    for f in &d.failures {
        println!("  attempt {} at {} ms: {}", f.attempt, f.at_ms, f.error);
    }
    if let Some(last) = &d.last_decision {
        println!(
            "  last decision: `{}` into {}",
            last.outcome,
            last.places.join(", ")
        );
    }
}

fn print(format: Format, letter: &DeadLetter, done: &str) {
    match format {
        Format::Json => println!("{}", letter_json(letter)),
        Format::Text => println!("dead letter {} {done} (case {})", letter.id, letter.case),
    }
}

/// Dead letters per page asked of a server.
const PAGE: usize = 200;

/// A page of `GET /v1/dead-letters`.
#[derive(serde::Deserialize)]
struct Page {
    dead_letters: Vec<DeadLetter>,
    next_after: Option<u64>,
}

/// `GET /v1/dead-letters` with an id above `after`, `limit` of them.
async fn page(remote: &Remote, after: u64, limit: usize) -> Result<Page, Failure> {
    let query = [("after", after.to_string()), ("limit", limit.to_string())];
    remote.get(&["v1", "dead-letters"], &query).await
}

/// Every dead letter the server at `remote` holds, oldest first.
async fn remote_letters(remote: &Remote) -> Result<Vec<DeadLetter>, Failure> {
    let mut letters = Vec::new();
    let mut after = 0;
    loop {
        let page = page(remote, after, PAGE).await?;
        letters.extend(page.dead_letters);
        match page.next_after {
            Some(next) if next > after => after = next,
            _ => return Ok(letters),
        }
    }
}

/// Dead letter `id` of the server at `remote`.
pub(crate) async fn remote_letter(remote: &Remote, id: u64) -> Result<DeadLetter, Failure> {
    let page = page(remote, id.saturating_sub(1), 1).await?;
    page.dead_letters
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| bad_input(anyhow::anyhow!("{}: no dead letter {id}", remote.base())))
}

pub(crate) async fn run(args: Args) -> Outcome {
    match args.action {
        Action::List { source, format } => {
            let letters = match source.source()? {
                Source::Data(data) => open_or_ask(&data).await?.dead_letters()?,
                Source::Url(remote) => remote_letters(&remote).await?,
            };
            match format {
                Format::Json => {
                    let all: Vec<Value> = letters.iter().map(letter_json).collect();
                    println!("{}", json!(all));
                }
                Format::Text if letters.is_empty() => println!("no dead letters"),
                Format::Text => {
                    for d in &letters {
                        println!("{}", summary_line(d));
                    }
                }
            }
        }
        Action::Show { id, source, format } => {
            let letter = match source.source()? {
                Source::Data(data) => open_or_ask(&data).await?.dead_letter(id)?,
                Source::Url(remote) => remote_letter(&remote, id).await?,
            };
            match format {
                Format::Json => println!("{}", letter_json(&letter)),
                Format::Text => print_letter(&letter),
            }
        }
        Action::Retry {
            id,
            operator,
            source,
            format,
        } => {
            let (letter, next) = match source.source()? {
                Source::Data(data) => {
                    let engine = open_or_ask(&data).await?;
                    let letter = engine.retry_dead_letter(id, &operator.by).await?;
                    (letter, "the next `petrel run` fires it again")
                }
                Source::Url(remote) => {
                    let path = ["v1", "dead-letters", &id.to_string(), "retry"];
                    let body = json!({ "by": operator.by });
                    let letter = remote.post(&path, Some(&body)).await?;
                    (letter, "the server fires it again")
                }
            };
            print(format, &letter, &format!("retried: {next}"));
        }
        Action::Discard {
            id,
            reason,
            operator,
            source,
            format,
        } => {
            let letter = match source.source()? {
                Source::Data(data) => {
                    let engine = open_or_ask(&data).await?;
                    engine
                        .discard_dead_letter(id, &operator.by, &reason)
                        .await?
                }
                Source::Url(remote) => {
                    let path = ["v1", "dead-letters", &id.to_string(), "discard"];
                    let body = json!({ "reason": reason, "by": operator.by });
                    remote.post(&path, Some(&body)).await?
                }
            };
            print(format, &letter, "discarded");
        }
    }
    Ok(OK)
}
