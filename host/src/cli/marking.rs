//! `petrel marking`: the tokens of one case or of all.

use petrel::engine::decode_payload;
use petrel::store::{DeadLetter, Owner};
use serde_json::{Value, json};

use super::view::token_json;
use super::{DataArgs, Format, OK, Outcome, bad_input, open};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Only this case.
    #[arg(long)]
    case: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let engine = open(&args.data).await?;
    let store = engine.store().as_ref();
    let cases = match &args.case {
        Some(id) => vec![store.case(id)?.ok_or_else(|| {
            bad_input(anyhow::anyhow!(
                "no case `{id}` in {}",
                args.data.data.display()
            ))
        })?],
        None => store.cases()?,
    };
    let letters = store.dead_letters()?;
    let mut out = Vec::new();
    for case in &cases {
        let tokens = store.tokens(&Owner::Case(case.id.clone()))?;
        let dead: Vec<&DeadLetter> = letters.iter().filter(|d| d.case == case.id).collect();
        out.push((case, tokens, dead));
    }
    let mut shared = Vec::new();
    if args.case.is_none() {
        for t in store.all_tokens()? {
            if let Owner::Shared(version) = &t.owner {
                shared.push((version.clone(), t));
            }
        }
    }
    match args.format {
        Format::Json => {
            let cases: Vec<Value> = out
                .iter()
                .map(|(c, tokens, dead)| json!({ "id": c.id, "net": c.net, "version": c.version, "status": c.status, "tokens": tokens.iter().map(token_json).collect::<Vec<_>>(), "dead_letters": dead.iter().map(|d| json!({ "id": d.id, "transition": d.transition, "tokens": d.tokens })).collect::<Vec<_>>() }))
                .collect();
            let shared: Vec<Value> = shared.iter().map(|(v, t)| json!({ "version": v, "place": t.place, "seq": t.seq, "payload": decode_payload(&t.payload) })).collect();
            println!("{}", json!({ "cases": cases, "shared": shared }));
        }
        Format::Text => {
            for (c, tokens, dead) in &out {
                println!(
                    "case {} ({}@{}, {})",
                    c.id,
                    c.net,
                    c.version,
                    c.status.as_str()
                );
                for t in tokens {
                    println!(
                        "  {:<20} #{:<8} {}",
                        t.place,
                        t.seq,
                        decode_payload(&t.payload)
                    );
                }
                for d in dead {
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
            for (v, t) in &shared {
                println!(
                    "shared {:<20} #{:<8} {} (version {v})",
                    t.place,
                    t.seq,
                    decode_payload(&t.payload)
                );
            }
        }
    }
    Ok(OK)
}
