//! Retention: keeping the store bounded under steady work.
//!
//! [`compact`] moves the log entries of finished cases (completed or
//! aborted, no dead letter waiting) out of the store into an archive file
//! (see [`archive`]). Each compacted case keeps its record and its final
//! tokens; its record says where its entries went and keeps a digest of the
//! tokens they left it ([`Archived`]). What the entries did to shared
//! tokens (a reviewer one case took and gave back for the next) is kept,
//! net of each other, in one `log_compacted` entry per transaction. So
//! replaying the live log still rebuilds the marking, and `petrel replay
//! --verify` still checks it all. Running, stuck and compensating cases,
//! and cases with dead letters, are never compacted.
//!
//! A run first writes every chosen case's entries to its archive file and
//! makes it durable, then removes them from the store, up to
//! [`CASES_PER_TRANSACTION`] cases per transaction (one case that changed
//! meanwhile sends its transaction's cases one by one; that case is left
//! for the next run), then flushes. A crash in between leaves entries both
//! in the store and in an archive file that no case names; the next run
//! archives them again, to a file of its own.

pub mod archive;

use std::path::{Path, PathBuf};

use crate::store::{
    Archived, CaseRecord, CaseStatus, Change, Event, EventRecord, Owner, Store, StoreError,
    TokenRecord, TokenRef, tokens_digest,
};

/// Which finished cases a run compacts: those matching every setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Keep this many most recently finished cases whole.
    pub keep_last: usize,
    /// Only cases finished at least this long ago (ms).
    pub finished_before_ms: u64,
    /// Most cases one run compacts (the rest wait for the next run).
    pub max_cases: usize,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            keep_last: 0,
            finished_before_ms: 0,
            max_cases: 10_000,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Cases compacted.
    pub cases: usize,
    /// Log entries moved to the archive.
    pub events: u64,
    /// The archive file written (none when nothing was compacted).
    pub archive: Option<PathBuf>,
    /// Cases chosen but left as they were, with why.
    pub skipped: Vec<(String, String)>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An archive file could not be written or read.
    #[error("archive {}: {source}", path.display())]
    Archive {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// An archive file holds something else than log entries.
    #[error("archive {} line {line}: {message}", path.display())]
    BadArchive {
        /// The file.
        path: PathBuf,
        /// Line number (1-based; 0: the file as a whole).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Finished cases, the most recently finished first.
fn finished(store: &dyn Store) -> Result<Vec<CaseRecord>, StoreError> {
    let mut cases: Vec<CaseRecord> = store
        .cases()?
        .into_iter()
        .filter(|c| matches!(c.status, CaseStatus::Completed | CaseStatus::Aborted))
        .collect();
    cases.sort_by(|a, b| (b.updated_at_ms, &b.id).cmp(&(a.updated_at_ms, &a.id)));
    Ok(cases)
}

/// The cases `policy` compacts at `now_ms`, oldest finished first: not among
/// the `keep_last` newest finished, finished long enough ago, not compacted
/// yet.
pub fn chosen(
    store: &dyn Store,
    policy: &Policy,
    now_ms: u64,
) -> Result<Vec<CaseRecord>, StoreError> {
    let mut cases: Vec<CaseRecord> = finished(store)?
        .into_iter()
        .skip(policy.keep_last)
        .filter(|c| c.updated_at_ms.saturating_add(policy.finished_before_ms) <= now_ms)
        .filter(|c| c.archived.is_none())
        .collect();
    cases.reverse();
    cases.truncate(policy.max_cases);
    Ok(cases)
}

/// Every live log entry of a case, in log order.
pub fn live_events(store: &dyn Store, case: &str) -> Result<Vec<EventRecord>, StoreError> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events(Some(case), after, 1024)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        events.extend(page);
    }
    Ok(events)
}

/// One case ready to leave the log: its entries to archive, and what they
/// left (its tokens' digest, their net effect on shared tokens).
struct Candidate {
    record: CaseRecord,
    archived: Vec<EventRecord>,
    tokens: String,
    produced: Vec<(String, TokenRecord)>,
    consumed: Vec<(String, TokenRef)>,
}

/// The net version of a shared token's owner.
fn version(owner: &Owner) -> Option<&str> {
    match owner {
        Owner::Shared(v) => Some(v),
        Owner::Case(_) => None,
    }
}

/// Reads a case's live entries and works out what they left; `Err` with
/// the reason when the case must stay as it is.
fn candidate(
    store: &dyn Store,
    record: CaseRecord,
) -> Result<Result<Candidate, String>, StoreError> {
    if !store.case_dead_letters(&record.id)?.is_empty() {
        return Ok(Err("a dead letter of the case waits".into()));
    }
    let archived = live_events(store, &record.id)?;
    let mut rebuild = crate::store::Rebuild::default();
    rebuild
        .versions
        .insert(record.id.clone(), record.version.clone());
    for e in &archived {
        rebuild.apply(e);
    }
    if archived.is_empty() {
        return Ok(Err("its log has no entries".into()));
    }
    if let Some(problem) = rebuild.problems.first() {
        return Ok(Err(format!("its log does not add up: {problem}")));
    }
    if !rebuild.dead.is_empty() {
        return Ok(Err("its log leaves a dead letter holding tokens".into()));
    }
    let mut consumed = Vec::new();
    for key in rebuild.owed.keys() {
        let Some(v) = version(&key.owner) else {
            return Ok(Err(format!(
                "its log consumes {key}, which it never produced"
            )));
        };
        let r = TokenRef {
            place: key.place.clone(),
            seq: key.seq,
            shared: true,
        };
        consumed.push((v.to_string(), r));
    }
    let mut produced = Vec::new();
    let mut own = Vec::new();
    for (key, payload) in rebuild.marking {
        match version(&key.owner) {
            Some(v) => produced.push((
                v.to_string(),
                TokenRecord {
                    place: key.place,
                    seq: key.seq,
                    shared: true,
                    payload,
                },
            )),
            None => own.push((key, payload)),
        }
    }
    let stored: Vec<_> = store
        .tokens(&Owner::Case(record.id.clone()))?
        .into_iter()
        .map(|t| (t.id(), t.payload))
        .collect();
    if stored != own {
        return Ok(Err(
            "its stored tokens differ from what its log leaves (see `petrel replay --verify`)"
                .into(),
        ));
    }
    let tokens = tokens_digest(
        own.iter()
            .map(|(k, p)| (k.place.as_str(), k.seq, p.as_slice())),
    );
    Ok(Ok(Candidate {
        record,
        archived,
        tokens,
        produced,
        consumed,
    }))
}

/// Compacts the cases `policy` chooses at `now_ms` (see the module docs),
/// archiving their entries under `archive_dir`.
pub fn compact(
    store: &dyn Store,
    archive_dir: &Path,
    policy: &Policy,
    now_ms: u64,
) -> Result<Report, RetentionError> {
    let mut report = Report::default();
    let mut ready = Vec::new();
    // A firing an abort cut short may still settle for a finished case.
    let busy: std::collections::HashSet<String> = store
        .reservations()?
        .into_iter()
        .map(|(_, r)| r.case)
        .collect();
    for record in chosen(store, policy, now_ms)? {
        let id = record.id.clone();
        if busy.contains(&id) {
            report
                .skipped
                .push((id, "a firing of the case is in flight or waiting".into()));
            continue;
        }
        match candidate(store, record)? {
            Ok(c) => ready.push(c),
            Err(why) => report.skipped.push((id, why)),
        }
    }
    if ready.is_empty() {
        return Ok(report);
    }
    let mut writer = archive::Writer::create(archive_dir, now_ms, store.next_id()?)?;
    for c in &ready {
        for e in &c.archived {
            writer.write(e)?;
        }
    }
    let file = writer.name.clone();
    report.archive = Some(writer.finish()?);
    for chunk in ready.chunks(CASES_PER_TRANSACTION) {
        let mut batch = changes(chunk, &file, now_ms);
        match store.apply(&mut batch) {
            Ok(()) => report.count(chunk),
            // A case changed meanwhile: the others one by one.
            Err(StoreError::Conflict(_)) => {
                for c in chunk {
                    let mut one = changes(std::slice::from_ref(c), &file, now_ms);
                    match store.apply(&mut one) {
                        Ok(()) => report.count(std::slice::from_ref(c)),
                        Err(StoreError::Conflict(why)) => {
                            report.skipped.push((c.record.id.clone(), why))
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    store.flush()?;
    Ok(report)
}

/// Most cases one compaction transaction takes. Many per transaction:
/// sled appends every page a transaction touches to its log, and reclaims
/// the old versions only as later writes relocate what else their segment
/// holds, so one case per transaction grew the files (measured: the store
/// 2.4x larger after five rounds of 1,000 cases than after one, against
/// 1.75x at 1,024 per transaction and 2.3x at 32).
pub const CASES_PER_TRANSACTION: usize = 1024;

impl Report {
    fn count(&mut self, done: &[Candidate]) {
        self.cases += done.len();
        self.events += done.iter().map(|c| c.archived.len() as u64).sum::<u64>();
    }
}

/// The changes that compact `cases` (archived to `file`) in one
/// transaction: each case's record, and one `log_compacted` entry with
/// their shared tokens' net effect (a token one case gave back and another
/// took cancels out).
fn changes(cases: &[Candidate], file: &str, now_ms: u64) -> Vec<Change> {
    let mut produced: Vec<(String, TokenRecord)> = Vec::new();
    let mut consumed: Vec<(String, TokenRef)> = Vec::new();
    for c in cases {
        produced.extend(c.produced.iter().cloned());
        consumed.extend(c.consumed.iter().cloned());
    }
    let key = |v: &str, place: &str, seq: u64| (v.to_string(), place.to_string(), seq);
    let made: std::collections::BTreeSet<_> = produced
        .iter()
        .map(|(v, t)| key(v, &t.place, t.seq))
        .collect();
    let taken: std::collections::BTreeSet<_> = consumed
        .iter()
        .map(|(v, r)| key(v, &r.place, r.seq))
        .collect();
    produced.retain(|(v, t)| !taken.contains(&key(v, &t.place, t.seq)));
    consumed.retain(|(v, r)| !made.contains(&key(v, &r.place, r.seq)));
    let mut out: Vec<Change> = cases
        .iter()
        .map(|c| {
            let mut record = c.record.clone();
            record.archived = Some(Archived {
                at_ms: now_ms,
                file: file.to_string(),
                events: c.archived.len() as u64,
                last_seq: c.archived.last().map_or(0, |e| e.seq),
                tokens: c.tokens.clone(),
            });
            Change {
                case: Some(record),
                compacts_case: true,
                ..Change::default()
            }
        })
        .collect();
    out.push(Change {
        events: vec![EventRecord {
            seq: 0,
            at_ms: now_ms,
            case: None,
            event: Event::LogCompacted {
                cases: cases.len() as u64,
                produced,
                consumed,
            },
        }],
        ..Change::default()
    });
    out
}

#[cfg(test)]
mod tests;
