//! `petrel dlq`: the dead-letter queue — firings that ran out of attempts.

use petrel::store::{DeadLetter, DeadLetterKind};
use serde_json::{Value, json};

use super::{DataArgs, Format, OK, Outcome, open};

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
        data: DataArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show one dead letter: its tokens, every failed attempt, the last decision.
    Show {
        /// The dead letter's id (its firing id, from `list`).
        id: u64,
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Put its tokens back so the next `petrel run` fires them again with a
    /// fresh attempt count (for a compensation: run the saga again from it).
    Retry {
        /// The dead letter's id.
        id: u64,
        #[command(flatten)]
        data: DataArgs,
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
        data: DataArgs,
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

pub(crate) async fn run(args: Args) -> Outcome {
    match args.action {
        Action::List { data, format } => {
            let letters = open(&data).await?.dead_letters()?;
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
        Action::Show { id, data, format } => {
            let letter = open(&data).await?.dead_letter(id)?;
            match format {
                Format::Json => println!("{}", letter_json(&letter)),
                Format::Text => print_letter(&letter),
            }
        }
        Action::Retry { id, data, format } => {
            let letter = open(&data).await?.retry_dead_letter(id).await?;
            print(
                format,
                &letter,
                "retried: the next `petrel run` fires it again",
            );
        }
        Action::Discard {
            id,
            reason,
            data,
            format,
        } => {
            let letter = open(&data).await?.discard_dead_letter(id, &reason).await?;
            print(format, &letter, "discarded");
        }
    }
    Ok(OK)
}
