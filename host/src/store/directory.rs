//! The store's directory: the lock that keeps one opener at a time, and
//! the clean-up of what a crash can leave in sled's files.

use std::path::Path;

use super::StoreError;

/// Deletes `snap.*.generating` files: snapshots a crash cut off while sled
/// wrote them. sled 0.34 renames a snapshot once it is complete, but on
/// start-up it reads the newest `snap.*` file, an unfinished one included,
/// and then refuses to open with a checksum error (sled issue #1527, found
/// here by the SIGKILL test). The complete snapshot before it and the log
/// hold everything, so dropping the unfinished one loses nothing.
pub(super) fn remove_unfinished_snapshots(db: &Path) -> Result<(), StoreError> {
    let Ok(entries) = std::fs::read_dir(db) else {
        return Ok(()); // a new store
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            tracing::info!(file = %name, "removing a snapshot a crash left unfinished");
            std::fs::remove_file(entry.path()).map_err(|e| {
                StoreError::Bug(format!(
                    "cannot remove unfinished snapshot {}: {e}",
                    entry.path().display()
                ))
            })?;
        }
    }
    Ok(())
}

/// Takes the exclusive lock on `dir/lock`, waiting up to 2 s.
pub(crate) fn lock(dir: &Path) -> Result<std::fs::File, StoreError> {
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Bug(format!("cannot open {}: {e}", path.display())))?;
    while_locked(dir, || match file.try_lock() {
        Ok(()) => Ok(Some(())),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Bug(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    })?;
    Ok(file)
}

/// Runs `attempt` until it gets what `dir`'s lock holder kept (`Some`),
/// trying again every 20 ms while it is held (`None`), for up to 2 s: then
/// [`StoreError::Locked`].
pub(crate) fn while_locked<T>(
    dir: &Path,
    mut attempt: impl FnMut() -> Result<Option<T>, StoreError>,
) -> Result<T, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        if let Some(got) = attempt()? {
            return Ok(got);
        }
        if std::time::Instant::now() >= deadline {
            return Err(StoreError::Locked(dir.display().to_string()));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
