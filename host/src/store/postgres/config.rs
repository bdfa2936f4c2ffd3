//! A store URL's connection settings: what the URL leaves out, from the
//! standard `PG*` variables, and how the database is named in messages
//! (never with its password).

/// `config` with what it leaves out taken from the standard `PGPASSWORD`,
/// `PGUSER`, `PGDATABASE`, `PGHOST` and `PGPORT`.
pub(super) fn with_env(mut config: tokio_postgres::Config) -> tokio_postgres::Config {
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    if config.get_password().is_none()
        && let Some(p) = var("PGPASSWORD")
    {
        config.password(p);
    }
    if config.get_user().is_none()
        && let Some(u) = var("PGUSER")
    {
        config.user(u);
    }
    if config.get_dbname().is_none()
        && let Some(d) = var("PGDATABASE")
    {
        config.dbname(d);
    }
    if config.get_hosts().is_empty()
        && let Some(h) = var("PGHOST")
    {
        config.host(h);
    }
    if config.get_ports().is_empty()
        && let Some(p) = var("PGPORT").and_then(|p| p.parse().ok())
    {
        config.port(p);
    }
    config
}

/// `user@host:port/dbname` of `config`.
pub(super) fn describe(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("(PGUSER)"),
        config.get_dbname().unwrap_or("(PGDATABASE)")
    )
}
