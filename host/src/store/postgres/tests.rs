//! The conformance suite on a real PostgreSQL (`PETREL_TEST_POSTGRES`, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`): each test in a schema of its
//! own, dropped after, so tests run in parallel. Skipped, saying so, where
//! the variable is not set.

use super::{PgStore, Scratch};
use crate::store::conformance::{Backend, conformance_tests};
use crate::store::{Store, StoreError};

/// The variable naming the test database.
pub(crate) const ENV: &str = "PETREL_TEST_POSTGRES";

/// A schema of its own in the test database.
pub(crate) struct PgBackend(Scratch);

impl PgBackend {
    /// A fresh schema, or `None` (printing why) without a test database.
    pub(crate) fn from_env() -> Option<PgBackend> {
        let Ok(admin) = std::env::var(ENV) else {
            eprintln!(
                "skipped: {ENV} is not set (e.g. {ENV}=postgres://postgres@127.0.0.1:5432/test)"
            );
            return None;
        };
        let scratch = Scratch::new(&admin, "test")
            .unwrap_or_else(|e| panic!("{ENV}: cannot create a test schema: {e}"));
        Some(PgBackend(scratch))
    }

    /// The store URL of this schema.
    pub(crate) fn url(&self) -> &str {
        self.0.url()
    }

    /// Runs `sql` in this schema.
    pub(crate) fn execute(&self, sql: &str) {
        self.0.execute(sql).unwrap();
    }

    /// Opens the store in this schema.
    pub(crate) fn store(&self) -> PgStore {
        PgStore::open(self.0.url(), 4).unwrap()
    }
}

impl Backend for PgBackend {
    fn open(&self) -> Box<dyn Store> {
        Box::new(self.store())
    }
}

conformance_tests!(optional PgBackend::from_env());

#[test]
fn migrating_again_applies_nothing_and_a_bad_url_names_what_is_wrong() {
    let Some(backend) = PgBackend::from_env() else {
        return;
    };
    let store = backend.store();
    assert_eq!(store.migrate().unwrap(), Vec::<u32>::new());
    assert!(!store.describe().contains("secret"));
    let err = PgStore::open("postgres://u:secret@127.0.0.1:1/none", 1).unwrap_err();
    assert!(matches!(err, StoreError::Postgres(_)), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}
