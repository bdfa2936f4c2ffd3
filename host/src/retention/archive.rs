//! Archive files: where compacted log entries go.
//!
//! One file per compaction run, `<archive dir>/<YYYY-MM-DD>/batch-<id>.jsonl.gz`
//! (the day it ran, in UTC; `id` a store id, unique for the store's life):
//! gzip of JSON lines, one [`EventRecord`] per line in the shape `petrel
//! history --format json` prints (token payloads decoded), grouped by case,
//! each case's in log order. `zcat FILE | jq` reads it; so does
//! [`read`], which gives back the entries of one case.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use super::RetentionError;
use crate::store::EventRecord;

/// Longest line [`read`] accepts (an entry with the largest payloads the
/// host allows is far below it).
const MAX_LINE: usize = 64 << 20;

/// An archive file being written.
pub(crate) struct Writer {
    /// Its name relative to the archive directory.
    pub(crate) name: String,
    path: PathBuf,
    out: GzEncoder<BufWriter<File>>,
}

/// The name, relative to the archive directory, of batch `id` run at `now_ms`.
fn name(now_ms: u64, id: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(now_ms);
    let stamp = humantime::format_rfc3339_seconds(time).to_string();
    format!("{}/batch-{id}.jsonl.gz", &stamp[..10])
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> RetentionError + '_ {
    move |source| RetentionError::Archive {
        path: path.to_path_buf(),
        source,
    }
}

impl Writer {
    /// Creates batch `id`'s file under `dir` (which is created if missing).
    pub(crate) fn create(dir: &Path, now_ms: u64, id: u64) -> Result<Writer, RetentionError> {
        let name = name(now_ms, id);
        let path = dir.join(&name);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let file = File::create_new(&path).map_err(io(&path))?;
        Ok(Writer {
            name,
            out: GzEncoder::new(BufWriter::new(file), Compression::default()),
            path,
        })
    }

    /// Appends one entry.
    pub(crate) fn write(&mut self, event: &EventRecord) -> Result<(), RetentionError> {
        serde_json::to_writer(&mut self.out, event)
            .map_err(|e| io(&self.path)(std::io::Error::other(e)))?;
        self.out.write_all(b"\n").map_err(io(&self.path))
    }

    /// Finishes the file and makes it durable (its directory entry too):
    /// only then may the entries leave the store.
    pub(crate) fn finish(self) -> Result<PathBuf, RetentionError> {
        let path = self.path;
        let file = self
            .out
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
        if let Some(parent) = path.parent() {
            File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(io(parent))?;
        }
        Ok(path)
    }
}

/// The entries of `case` in archive file `name` under `dir`, in log order.
pub fn read(dir: &Path, name: &str, case: &str) -> Result<Vec<EventRecord>, RetentionError> {
    if name.split('/').any(|part| part == ".." || part.is_empty()) {
        return Err(RetentionError::BadArchive {
            path: dir.join(name),
            line: 0,
            message: "not a name under the archive directory".into(),
        });
    }
    let path = dir.join(name);
    let file = File::open(&path).map_err(io(&path))?;
    let mut lines = BufReader::new(MultiGzDecoder::new(file));
    let mut out = Vec::new();
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let read = Read::take(&mut lines, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(io(&path))?;
        if read == 0 {
            break;
        }
        let bad = |message: String| RetentionError::BadArchive {
            path: path.clone(),
            line: number,
            message,
        };
        if line.len() > MAX_LINE {
            return Err(bad(format!("a line longer than {MAX_LINE} bytes")));
        }
        let event: EventRecord =
            serde_json::from_slice(&line).map_err(|e| bad(format!("not a log entry: {e}")))?;
        if event.case.as_deref() == Some(case) {
            out.push(event);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Event, TokenRecord};

    fn entry(seq: u64, case: &str) -> EventRecord {
        EventRecord {
            seq,
            at_ms: 1_700_000_000_000 + seq,
            case: Some(case.into()),
            event: Event::CaseStarted {
                net: "n".into(),
                version: "v1".into(),
                tokens: vec![TokenRecord {
                    place: "start".into(),
                    seq,
                    shared: false,
                    payload: rmp_serde::to_vec_named(&serde_json::json!({"amount": 12.5})).unwrap(),
                }],
            },
        }
    }

    #[test]
    fn an_archive_gives_back_one_cases_entries_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::create(dir.path(), 1_764_900_000_000, 7).unwrap();
        assert_eq!(w.name, "2025-12-05/batch-7.jsonl.gz");
        let (a1, b, a2) = (entry(1, "a"), entry(2, "b"), entry(3, "a"));
        for e in [&a1, &b, &a2] {
            w.write(e).unwrap();
        }
        let name = w.name.clone();
        let path = w.finish().unwrap();
        assert!(path.ends_with("2025-12-05/batch-7.jsonl.gz"));
        assert_eq!(read(dir.path(), &name, "a").unwrap(), vec![a1, a2]);
        assert_eq!(read(dir.path(), &name, "c").unwrap(), vec![]);
        // A second run of the same id never overwrites the first.
        assert!(Writer::create(dir.path(), 1_764_900_000_000, 7).is_err());
    }

    #[test]
    fn a_damaged_archive_names_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::create(dir.path(), 0, 1).unwrap();
        w.write(&entry(1, "a")).unwrap();
        w.out.write_all(b"{not json\n").unwrap();
        let name = w.name.clone();
        w.finish().unwrap();
        let err = read(dir.path(), &name, "a").unwrap_err().to_string();
        assert!(
            err.contains("batch-1.jsonl.gz") && err.contains("line 2"),
            "{err}"
        );
        let err = read(dir.path(), "../escape", "a").unwrap_err().to_string();
        assert!(
            err.contains("not a name under the archive directory"),
            "{err}"
        );
    }
}
