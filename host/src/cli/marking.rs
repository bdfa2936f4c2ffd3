//! `petrel marking`: the tokens of one case or of all.

use petrel::engine::decode_payload;
use petrel::store::Owner;
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
    let mut out = Vec::new();
    for case in &cases {
        let tokens = store.tokens(&Owner::Case(case.id.clone()))?;
        out.push((case, tokens));
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
                .map(|(c, tokens)| json!({ "id": c.id, "net": c.net, "version": c.version, "status": c.status, "tokens": tokens.iter().map(token_json).collect::<Vec<_>>() }))
                .collect();
            let shared: Vec<Value> = shared.iter().map(|(v, t)| json!({ "version": v, "place": t.place, "seq": t.seq, "payload": decode_payload(&t.payload) })).collect();
            println!("{}", json!({ "cases": cases, "shared": shared }));
        }
        Format::Text => {
            for (c, tokens) in &out {
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
