//! Rewriting a sled store into a fresh directory, so that the space its
//! log no longer uses goes back to the filesystem at once (like SQLite's
//! `VACUUM`). sled frees space only as later writes relocate pages out of
//! half-empty segments; after a compaction removed most of the log, its
//! files stay as large as before until then.
//!
//! The copy goes to `db.vacuum` beside `db`, is compared with the original
//! (sled's checksum of every tree), made durable, then swapped in: `db` →
//! `db.old`, `db.vacuum` → `db`, `db.old` removed. [`recover`], run by
//! every opener, finishes or undoes a swap a crash cut off, so the store
//! is always the original or the whole copy. sled's id generator does not
//! carry over: the copy keeps the next id in its `meta` tree (see
//! [`id_base`]) and ids go on increasing from it.

use std::path::Path;

use super::StoreError;
use super::sled_store::SledStore;

/// The tree holding the store's own settings.
pub(super) const META: &str = "meta";
/// Key in [`META`]: ids of this directory's sled start after this.
const ID_BASE: &[u8] = b"id_base";

/// The id base a store's ids are offset by (0 for a store never vacuumed).
pub(super) fn id_base(db: &sled::Db) -> Result<u64, StoreError> {
    let meta = db.open_tree(META)?;
    Ok(match meta.get(ID_BASE)? {
        Some(v) => {
            u64::from_be_bytes(v.as_ref().try_into().map_err(|_| {
                StoreError::Bug(format!("meta id_base is {} bytes, not 8", v.len()))
            })?)
        }
        None => 0,
    })
}

fn io(what: &str, path: &Path) -> impl Fn(std::io::Error) -> StoreError {
    let message = format!("{what} {}", path.display());
    move |e| StoreError::Bug(format!("{message}: {e}"))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot sync", dir))
}

/// Finishes or undoes a vacuum a crash cut off. Call with the store's lock
/// held, before opening `db`.
pub(super) fn recover(dir: &Path) -> Result<(), StoreError> {
    let (db, fresh, old) = (dir.join("db"), dir.join("db.vacuum"), dir.join("db.old"));
    if old.exists() && !db.exists() {
        // Cut off between the renames: the copy was complete and durable.
        let from = if fresh.exists() { &fresh } else { &old };
        tracing::info!(from = %from.display(), "finishing a vacuum a crash cut off");
        std::fs::rename(from, &db).map_err(io("cannot restore", &db))?;
        sync_dir(dir)?;
    }
    for leftover in [&fresh, &old] {
        if leftover.exists() {
            tracing::info!(dir = %leftover.display(), "removing what a cut-off vacuum left");
            std::fs::remove_dir_all(leftover).map_err(io("cannot remove", leftover))?;
        }
    }
    Ok(())
}

/// Rows copied per batch.
const BATCH: usize = 4096;

/// Copies every tree of `from` into the empty `to` and checks the copy.
fn copy(from: &sled::Db, to: &sled::Db) -> Result<(), StoreError> {
    for name in from.tree_names() {
        let (src, dst) = (from.open_tree(&name)?, to.open_tree(&name)?);
        let mut batch = sled::Batch::default();
        let mut rows = 0;
        for kv in src.iter() {
            let (k, v) = kv?;
            batch.insert(k, v);
            rows += 1;
            if rows % BATCH == 0 {
                dst.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        dst.apply_batch(batch)?;
    }
    if from.checksum()? != to.checksum()? {
        return Err(StoreError::Bug(
            "the vacuum's copy differs from the store; the store is left as it was".into(),
        ));
    }
    Ok(())
}

/// Rewrites the store in `dir` (which no one may have open) into fresh
/// files; returns the bytes of its sled files before and after.
pub fn vacuum(dir: &Path) -> Result<(u64, u64), StoreError> {
    let _lock = super::directory::lock(dir)?;
    recover(dir)?;
    let (db, fresh, old) = (dir.join("db"), dir.join("db.vacuum"), dir.join("db.old"));
    let before = bytes_under(&db);
    {
        // A store just dropped in this process may still be letting go.
        let from = SledStore::open_db(dir)?;
        let to = SledStore::sled_config(&fresh).open()?;
        copy(&from, &to)?;
        let next = id_base(&from)? + from.generate_id()? + 1;
        to.open_tree(META)?.insert(ID_BASE, &next.to_be_bytes())?;
        to.flush()?;
        from.flush()?;
    }
    sync_dir(dir)?;
    std::fs::rename(&db, &old).map_err(io("cannot move", &db))?;
    std::fs::rename(&fresh, &db).map_err(io("cannot move", &fresh))?;
    sync_dir(dir)?;
    std::fs::remove_dir_all(&old).map_err(io("cannot remove", &old))?;
    Ok((before, bytes_under(&db)))
}

/// Bytes of the files under `dir`.
pub fn bytes_under(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => bytes_under(&entry.path()),
            _ => entry.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::{declined, started, token};
    use crate::store::{Change, Owner, Store};

    fn filled(dir: &Path) -> (Vec<crate::store::EventRecord>, u64) {
        let store = SledStore::open(dir).unwrap();
        for i in 0..50 {
            let id = format!("c{i}");
            started(&store, &id, vec![token(&id, "p", i + 1)]);
            store
                .apply(&mut [Change {
                    events: vec![declined(&id, i)],
                    ..Change::default()
                }])
                .unwrap();
        }
        let events = store.events(None, 0, 1_000).unwrap();
        (events, store.next_id().unwrap())
    }

    #[test]
    fn a_vacuumed_store_holds_the_same_and_its_ids_go_on_increasing() {
        let dir = tempfile::tempdir().unwrap();
        let (events, last_id) = filled(dir.path());
        let (before, after) = vacuum(dir.path()).unwrap();
        assert!(before > 0 && after > 0, "{before} {after}");
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.events(None, 0, 1_000).unwrap(), events);
        assert_eq!(store.cases().unwrap().len(), 50);
        assert_eq!(store.tokens(&Owner::Case("c7".into())).unwrap().len(), 1);
        assert!(store.next_id().unwrap() > last_id);
        drop(store);
        // Twice: the base carries over again.
        let next = SledStore::open(dir.path()).unwrap().next_id().unwrap();
        vacuum(dir.path()).unwrap();
        assert!(SledStore::open(dir.path()).unwrap().next_id().unwrap() > next);
        assert!(!dir.path().join("db.old").exists() && !dir.path().join("db.vacuum").exists());
    }

    #[test]
    fn a_vacuum_a_crash_cut_off_is_finished_or_undone_on_opening() {
        let copy = |from: &Path, to: &Path| {
            std::fs::create_dir_all(to).unwrap();
            for e in std::fs::read_dir(from).unwrap().flatten() {
                if e.file_type().unwrap().is_file() {
                    std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
                }
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let (events, _) = filled(dir.path());
        let (db, fresh, old) = (
            dir.path().join("db"),
            dir.path().join("db.vacuum"),
            dir.path().join("db.old"),
        );
        // Cut off while copying: a partial copy beside the store.
        std::fs::create_dir_all(&fresh).unwrap();
        std::fs::write(fresh.join("db"), b"half").unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.events(None, 0, 1_000).unwrap(), events);
        drop(store);
        assert!(!fresh.exists());
        // Cut off between the renames: the store moved away, the copy not in.
        copy(&db, &fresh);
        std::fs::rename(&db, &old).unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.events(None, 0, 1_000).unwrap(), events);
        drop(store);
        assert!(!old.exists() && !fresh.exists());
        // Cut off before removing the old files.
        copy(&db, &old);
        SledStore::open(dir.path()).unwrap();
        assert!(!old.exists());
    }
}
