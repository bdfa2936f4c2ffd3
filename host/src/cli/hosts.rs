//! `petrel hosts`: the hosts sharing a PostgreSQL store, their leases and
//! the live cases each runs, and the live cases waiting for a host.

use serde_json::json;

use super::{Format, OK, Outcome};
use petrel::store::postgres::PgStore;
use petrel::store::{Cluster, HostInfo};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The PostgreSQL database (`postgres://USER@HOST:PORT/DB`; the
    /// password from the URL or PGPASSWORD).
    #[arg(long, value_name = "URL", env = "PETREL_STORE", value_parser = super::store_url)]
    store: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) async fn run(args: Args) -> Outcome {
    let url = args.store.clone();
    let (hosts, waiting) = tokio::task::spawn_blocking(move || {
        let store = PgStore::open(&url, 1)?;
        store.hosts()
    })
    .await
    .map_err(anyhow::Error::from)??;
    print(args.format, &hosts, waiting);
    Ok(OK)
}

fn print(format: Format, hosts: &[HostInfo], waiting: u64) {
    match format {
        Format::Json => println!("{}", json!({ "hosts": hosts, "waiting": waiting })),
        Format::Text => {
            if hosts.is_empty() {
                println!("no hosts");
            }
            for h in hosts {
                let lease = if h.lease_left_ms >= 0 {
                    format!("lease {} ms left", h.lease_left_ms)
                } else {
                    format!("lease lapsed {} ms ago", -h.lease_left_ms)
                };
                let url = h.url.as_deref().unwrap_or("(no API)");
                println!(
                    "host {} {}  {url}  {lease}  {} live case(s)",
                    h.id, h.name, h.cases
                );
            }
            println!("{waiting} live case(s) waiting for a host");
        }
    }
}
