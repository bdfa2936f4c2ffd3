//! [`Store`] on sled. Key encodings: see `keys`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use sled::{Transactional, Tree};

use super::directory::{lock, remove_unfinished_snapshots, while_locked};
use super::keys::{self, Owner};
use super::transaction::{
    Abort, Trees, apply_one, case_writes, decode_log, encode_change, encode_log, kept_on_token,
    unwrap_tx, write_log_and_cases,
};
use super::{
    CaseRecord, Change, DeadLetter, EventRecord, NetRecord, Reservation, Store, StoreError,
    StoredToken, TokenId, decode, encode,
};
use super::{case_entry, case_index, compaction, letter_index, token_entry, vacuum};

/// The sled-backed store.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    tokens: Tree,
    pub(super) reservations: Tree,
    events: Tree,
    pub(super) case_events: Tree,
    pub(super) cases: Tree,
    /// Cases by start time (keys only; see `case_index`).
    case_starts: Tree,
    dead_letters: Tree,
    /// Each case's live dead letters (keys only; see `keys::case_dead_letter`).
    case_dead_letters: Tree,
    nets: Tree,
    components: Tree,
    /// Held while a transaction numbers its log entries and commits, so
    /// that seqs increase in commit order.
    commit: std::sync::Arc<std::sync::Mutex<()>>,
    /// Added to sled's ids: the next id of the store this one was
    /// vacuumed from (see `vacuum`).
    id_base: u64,
    /// Whether `HOLDS_KEY` is stored: tokens may be held (`token_entry`).
    may_hold: std::sync::Arc<AtomicBool>,
    /// Held (locked) while the store is open: one opener at a time.
    /// Declared last, so it is released after sled has closed.
    _lock: std::sync::Arc<std::fs::File>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens sled's database in `dir/db`. sled holds its own file lock until
    /// its flusher thread lets go of a dropped database, a moment after our
    /// lock is free: that lock is waited for too, up to 2 s.
    pub(crate) fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
        while_locked(dir, || match Self::sled_config(&dir.join("db")).open() {
            Ok(db) => Ok(Some(db)),
            Err(sled::Error::Io(io)) if io.to_string().contains("lock") => Ok(None),
            Err(e) => Err(StoreError::Sled(e)),
        })
    }

    /// Opens (or creates) the store in `dir`. Waits up to 2 s for another
    /// opener (e.g. a host in this process still shutting down) to let go.
    pub fn open(dir: impl AsRef<Path>) -> Result<SledStore, StoreError> {
        let dir = dir.as_ref();
        // Our own lock, taken before anything in `db` is touched: the
        // clean-up below must never run beside a live store.
        let lock = lock(dir)?;
        vacuum::recover(dir)?;
        remove_unfinished_snapshots(&dir.join("db"))?;
        let db = Self::open_db(dir)?;
        let tokens = db.open_tree("tokens")?;
        let reservations = db.open_tree("reservations")?;
        let mut may_hold = reservations.contains_key(token_entry::HOLDS_KEY)?;
        if may_hold && token_entry::holds(&tokens).next().transpose()?.is_none() {
            reservations.remove(token_entry::HOLDS_KEY)?;
            may_hold = false;
        }
        let dead_letters = db.open_tree("dead_letters")?;
        let case_dead_letters = db.open_tree("case_dead_letters")?;
        letter_index::fill_if_empty(&dead_letters, &case_dead_letters)?;
        let cases = db.open_tree("cases")?;
        let case_starts = db.open_tree("case_starts")?;
        case_index::fill_if_empty(&cases, &case_starts)?;
        Ok(SledStore {
            tokens,
            reservations,
            events: db.open_tree("events")?,
            case_events: db.open_tree("case_events")?,
            cases,
            case_starts,
            dead_letters,
            case_dead_letters,
            nets: db.open_tree("nets")?,
            components: db.open_tree("components")?,
            commit: std::sync::Arc::default(),
            id_base: vacuum::id_base(&db)?,
            may_hold: std::sync::Arc::new(AtomicBool::new(may_hold)),
            db,
            _lock: std::sync::Arc::new(lock),
        })
    }

    /// The sled configuration the store opens its database at `path` with
    /// (`petrel bench` measures raw sled with the same).
    pub fn sled_config(path: &Path) -> sled::Config {
        sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput)
    }

    fn transact(
        &self,
        changes: &mut [Change],
        nets: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let new_cases: Vec<(String, Vec<u8>)> = changes
            .iter()
            .filter(|c| c.starts_case)
            .map(|c| {
                let r = c.case.as_ref()?;
                Some((r.id.clone(), case_index::key(r.started_at_ms, &r.id)))
            })
            .collect::<Option<_>>()
            .ok_or_else(|| StoreError::Bug("a case start without a case record".into()))?;
        let _commit = self
            .commit
            .lock()
            .map_err(|_| StoreError::Bug("a commit panicked".into()))?;
        let compactions = changes
            .iter()
            .filter(|c| c.compacts_case)
            .map(|c| {
                let record = c
                    .case
                    .as_ref()
                    .ok_or_else(|| StoreError::Bug("a compaction without a case record".into()))?;
                Ok((compaction::plan(self, &record.id)?, record.clone()))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let fresh: Vec<&str> = compactions
            .iter()
            .map(|(p, _)| compaction::case(p))
            .collect();
        for event in changes.iter_mut().flat_map(|c| c.events.iter_mut()) {
            event.seq = self.next_id()?;
        }
        let changes = &*changes;
        let encoded = changes
            .iter()
            .map(encode_change)
            .collect::<Result<Vec<_>, _>>()?;
        let log = encode_log(changes)?;
        let case_writes = case_writes(&encoded);
        let first_hold = !self.may_hold.load(Ordering::Acquire)
            && changes
                .iter()
                .any(|c| c.reserve.iter().any(|(_, r)| kept_on_token(r)));
        let trees = (
            &self.tokens,
            &self.reservations,
            &self.events,
            &self.case_events,
            &self.cases,
            &self.dead_letters,
            &self.case_dead_letters,
            &self.nets,
            &self.case_starts,
        );
        unwrap_tx(trees.transaction(
            |(
                tokens,
                reservations,
                events,
                case_events,
                cases,
                dead_letters,
                case_dead_letters,
                net_tree,
                case_starts,
            )| {
                let mut starting = std::collections::HashSet::new();
                for (id, start_key) in &new_cases {
                    // Taken if stored, or started earlier in this transaction.
                    if !starting.insert(id) || cases.get(id.as_bytes())?.is_some() {
                        return Err(Abort::Abort(StoreError::CaseExists(id.clone())));
                    }
                    case_starts.insert(start_key.as_slice(), &[][..])?;
                }
                for (k, v) in nets {
                    net_tree.insert(k.as_slice(), v.as_slice())?;
                }
                if first_hold {
                    reservations.insert(token_entry::HOLDS_KEY, &[][..])?;
                }
                let t = Trees {
                    tokens,
                    reservations,
                    events,
                    case_events,
                    cases,
                    dead_letters,
                    case_dead_letters,
                };
                for e in &encoded {
                    apply_one(&t, e)?;
                }
                for (plan, expected) in &compactions {
                    compaction::apply(&t, plan, expected)?;
                }
                write_log_and_cases(&t, &log, &case_writes, &fresh)
            },
        ))?;
        if first_hold {
            self.may_hold.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Keys of the `events` records holding entries of `case`, from the
    /// first keyed at or after `start`, ascending: those its value holds and
    /// those `case_events` indexes.
    pub(super) fn case_log_keys(&self, case: &str, start: u64) -> Result<Vec<u64>, StoreError> {
        let mut keys = match self.cases.get(case.as_bytes())? {
            Some(value) => case_entry::log_keys(&value)?,
            None => Vec::new(),
        };
        keys.retain(|&k| k >= start);
        let prefix = keys::case_events_prefix(case);
        let mut end = prefix.clone();
        end.extend_from_slice(&[0xff; 9]);
        for kv in self.case_events.range(keys::case_event(case, start)..end) {
            let (k, _) = kv?;
            let key = k[prefix.len()..]
                .try_into()
                .map_err(|_| StoreError::Bug(format!("malformed case_events key {k:?}")))?;
            keys.push(u64::from_be_bytes(key));
        }
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    fn scan_tokens(&self, prefix: &[u8]) -> Result<Vec<StoredToken>, StoreError> {
        self.tokens
            .scan_prefix(prefix)
            .map(|kv| {
                let (k, v) = kv?;
                let (owner, place, seq) = keys::parse_token(&k)
                    .ok_or_else(|| StoreError::Bug(format!("malformed token key {k:?}")))?;
                Ok(StoredToken {
                    owner,
                    place,
                    seq,
                    payload: token_entry::split(&v).payload.to_vec(),
                })
            })
            .collect()
    }
}

impl Store for SledStore {
    fn next_id(&self) -> Result<u64, StoreError> {
        // sled ids start at 0; keep 0 free as "before everything".
        Ok(self.id_base + self.db.generate_id()? + 1)
    }

    fn deploy(
        &self,
        net: &NetRecord,
        components: &[(String, Vec<u8>)],
        shared: &mut Change,
    ) -> Result<bool, StoreError> {
        if self.nets.contains_key(keys::net_version(&net.version))? {
            return Ok(false);
        }
        for (hash, bytes) in components {
            self.components.insert(hash.as_bytes(), bytes.as_slice())?;
        }
        let puts = vec![
            (keys::net_version(&net.version), encode("net", net)?),
            (keys::net_name(&net.name), net.version.as_bytes().to_vec()),
        ];
        self.transact(std::slice::from_mut(shared), &puts)?;
        Ok(true)
    }

    fn net(&self, version: &str) -> Result<Option<NetRecord>, StoreError> {
        self.nets
            .get(keys::net_version(version))?
            .map(|v| decode("net", &v))
            .transpose()
    }

    fn latest_version(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .nets
            .get(keys::net_name(name))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn nets(&self) -> Result<Vec<NetRecord>, StoreError> {
        self.nets
            .scan_prefix(b"v")
            .map(|kv| decode("net", &kv?.1))
            .collect()
    }

    fn nets_after(&self, after: &str, limit: usize) -> Result<Vec<NetRecord>, StoreError> {
        // The first key after `v<after>`: `v<after>` followed by a 0 byte.
        let mut start = keys::net_version(after);
        start.push(0);
        self.nets
            .range(start..)
            .take_while(|kv| kv.as_ref().map_or(true, |(k, _)| k.starts_with(b"v")))
            .take(limit)
            .map(|kv| decode("net", &kv?.1))
            .collect()
    }

    fn component(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.components.get(hash.as_bytes())?.map(|v| v.to_vec()))
    }

    fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError> {
        self.cases
            .get(id.as_bytes())?
            .map(|v| case_entry::record(&v))
            .transpose()
    }

    fn cases(&self) -> Result<Vec<CaseRecord>, StoreError> {
        self.cases
            .iter()
            .map(|kv| case_entry::record(&kv?.1))
            .collect()
    }

    fn cases_newest_first(
        &self,
        before: Option<(u64, &str)>,
        limit: usize,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        case_index::newest_first(&self.case_starts, &self.cases, before, limit)
    }

    fn tokens(&self, owner: &Owner) -> Result<Vec<StoredToken>, StoreError> {
        self.scan_tokens(&keys::owner_prefix(owner))
    }

    fn all_tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        self.scan_tokens(b"")
    }

    fn payload(&self, token: &TokenId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tokens
            .get(token.key())?
            .map(|v| token_entry::split(&v).payload.to_vec()))
    }

    fn reservations(&self) -> Result<Vec<(u64, Reservation)>, StoreError> {
        let mut all = BTreeMap::new();
        for record in token_entry::records(&self.reservations) {
            let (id, v) = record?;
            all.insert(id, decode("reservation", &v)?);
        }
        if self.may_hold.load(Ordering::Acquire) {
            for hold in token_entry::holds(&self.tokens) {
                let (id, r) = hold?;
                all.insert(id, r);
            }
        }
        Ok(all.into_iter().collect())
    }

    fn apply(&self, changes: &mut [Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.transact(changes, &[])
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.dead_letters
            .iter()
            .map(|kv| decode("dead letter", &kv?.1))
            .collect()
    }

    fn case_dead_letters(&self, case: &str) -> Result<Vec<DeadLetter>, StoreError> {
        let mut letters = Vec::new();
        for id in letter_index::ids(&self.case_dead_letters, case)? {
            letters.extend(self.dead_letter(id)?);
        }
        Ok(letters)
    }

    fn dead_letters_after(&self, after: u64, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let Some(start) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        self.dead_letters
            .range(start.to_be_bytes()..)
            .take(limit)
            .map(|kv| decode("dead letter", &kv?.1))
            .collect()
    }

    fn dead_letter_count(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        for key in self.dead_letters.iter().keys() {
            key?;
            n += 1;
        }
        Ok(n)
    }

    fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, StoreError> {
        self.dead_letters
            .get(id.to_be_bytes())?
            .map(|v| decode("dead letter", &v))
            .transpose()
    }

    fn events(
        &self,
        case: Option<&str>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<EventRecord>, StoreError> {
        // A record holds the entries of one transaction and is keyed by
        // their greatest seq: the first record keyed at or after `start`
        // holds the first entry after `after`.
        let start = after.saturating_add(1);
        let mut out = Vec::new();
        let take = |bytes: &[u8], out: &mut Vec<EventRecord>| -> Result<bool, StoreError> {
            for e in decode_log(bytes)? {
                if out.len() >= limit {
                    return Ok(false);
                }
                if e.seq >= start && case.is_none_or(|c| e.case.as_deref() == Some(c)) {
                    out.push(e);
                }
            }
            Ok(out.len() < limit)
        };
        match case {
            None => {
                for kv in self.events.range(start.to_be_bytes()..) {
                    if !take(&kv?.1, &mut out)? {
                        break;
                    }
                }
            }
            Some(case) => {
                for key in self.case_log_keys(case, start)? {
                    let v = self.events.get(key.to_be_bytes())?.ok_or_else(|| {
                        StoreError::Bug(format!("case `{case}` indexes a missing event"))
                    })?;
                    if !take(&v, &mut out)? {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}
