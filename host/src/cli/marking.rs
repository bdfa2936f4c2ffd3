//! `petrel marking`: the tokens of one case or of all, from a data
//! directory or a running `petrel serve`.

use anyhow::anyhow;
use petrel::engine::decode_payload;
use petrel::host::TokenView;
use petrel::store::{CaseRecord, DeadLetter, Owner, StoredToken};
use serde_json::{Value, json};

use super::remote::Remote;
use super::{Failure, Format, OK, Outcome, Source, SourceArgs, bad_input, dlq, open_or_ask};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// Only this case (required with `--url`).
    #[arg(long)]
    case: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// One case's marking: its record, tokens and dead letters.
struct CaseMarking {
    record: CaseRecord,
    tokens: Vec<TokenView>,
    dead: Vec<DeadLetter>,
}

/// What the command prints: cases, then shared tokens with their version.
type Marking = (Vec<CaseMarking>, Vec<(String, TokenView)>);

fn view(t: StoredToken) -> TokenView {
    TokenView {
        payload: decode_payload(&t.payload),
        place: t.place,
        seq: t.seq,
    }
}

pub(crate) async fn run(args: Args) -> Outcome {
    let (cases, shared) = match args.source.source()? {
        Source::Data(data) => {
            let engine = open_or_ask(&data).await?;
            let dir = data.dir().display().to_string();
            let missing = |id: &str| bad_input(anyhow!("no case `{id}` in {dir}"));
            local(engine.store().as_ref(), args.case.as_deref(), missing)?
        }
        Source::Url(remote) => {
            let Some(id) = &args.case else {
                return Err(bad_input(anyhow!(
                    "--url needs --case ID: the API serves one case's tokens at a time (list the cases with `petrel cases --url {}`)",
                    remote.base()
                )));
            };
            (vec![remote_case(&remote, id).await?], Vec::new())
        }
    };
    print(args.format, &cases, &shared);
    Ok(OK)
}

/// The marking of case `only` (or of every case, with the shared tokens).
fn local(
    store: &dyn petrel::store::Store,
    only: Option<&str>,
    missing: impl Fn(&str) -> Failure,
) -> Result<Marking, Failure> {
    let records = match only {
        Some(id) => vec![store.case(id)?.ok_or_else(|| missing(id))?],
        None => store.cases()?,
    };
    let mut cases = Vec::new();
    for record in records {
        let tokens = store.tokens(&Owner::Case(record.id.clone()))?;
        cases.push(CaseMarking {
            tokens: tokens.into_iter().map(view).collect(),
            dead: store.case_dead_letters(&record.id)?,
            record,
        });
    }
    let mut shared = Vec::new();
    if only.is_none() {
        for t in store.all_tokens()? {
            if let Owner::Shared(version) = &t.owner {
                shared.push((version.clone(), view(t)));
            }
        }
    }
    Ok((cases, shared))
}

/// Case `id` as the server at `remote` has it.
async fn remote_case(remote: &Remote, id: &str) -> Result<CaseMarking, Failure> {
    let case = remote.case(id).await?;
    let mut dead = Vec::new();
    for letter in &case.dead_letters {
        dead.push(dlq::remote_letter(remote, *letter).await?);
    }
    Ok(CaseMarking {
        record: case.record,
        tokens: case.tokens.into_iter().map(TokenView::from).collect(),
        dead,
    })
}

fn print(format: Format, cases: &[CaseMarking], shared: &[(String, TokenView)]) {
    match format {
        Format::Json => {
            let cases: Vec<Value> = cases
                .iter()
                .map(|c| {
                    let r = &c.record;
                    let dead: Vec<Value> = c.dead.iter().map(|d| json!({ "id": d.id, "transition": d.transition, "tokens": d.tokens })).collect();
                    json!({ "id": r.id, "net": r.net, "version": r.version, "status": r.status, "tokens": c.tokens, "dead_letters": dead })
                })
                .collect();
            let shared: Vec<Value> = shared.iter().map(|(v, t)| json!({ "version": v, "place": t.place, "seq": t.seq, "payload": t.payload })).collect();
            println!("{}", json!({ "cases": cases, "shared": shared }));
        }
        Format::Text => {
            for c in cases {
                let r = &c.record;
                println!(
                    "case {} ({}@{}, {})",
                    r.id,
                    r.net,
                    r.version,
                    r.status.as_str()
                );
                for t in &c.tokens {
                    println!("  {:<20} #{:<8} {}", t.place, t.seq, t.payload);
                }
                for d in &c.dead {
                    let held: Vec<String> = d
                        .tokens
                        .iter()
                        .map(|t| format!("{}#{}", t.place, t.seq))
                        .collect();
                    println!(
                        "  dead letter {} of `{}` holding {} (see `petrel dlq show {}`)",
                        d.id,
                        d.transition,
                        if held.is_empty() {
                            "no tokens".to_string()
                        } else {
                            held.join(", ")
                        },
                        d.id
                    );
                }
            }
            for (v, t) in shared {
                println!(
                    "shared {:<20} #{:<8} {} (version {v})",
                    t.place, t.seq, t.payload
                );
            }
        }
    }
}
