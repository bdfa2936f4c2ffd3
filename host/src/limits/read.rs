//! Reading a file from outside within a bound: regular files only (never a
//! FIFO that hangs the reader, nor `/dev/zero` that never ends), at most a
//! cap of bytes, checked before the bytes are read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The path names something other than a regular file.
    #[error("not a regular file (it is a {kind}; expected a plain file)")]
    NotRegular {
        /// What it is: `directory`, `FIFO`, `character device`, ...
        kind: &'static str,
    },
    /// The file is larger than the cap.
    #[error("{bytes} bytes is larger than the limit of {cap} bytes")]
    TooLarge {
        /// Its size (or how much was read before giving up).
        bytes: u64,
        /// The cap.
        cap: u64,
    },
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO for reading blocks until a writer comes; non-blocking,
    // it opens at once and the type check below refuses it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

fn kind(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "FIFO";
        }
        if file_type.is_char_device() {
            return "character device";
        }
        if file_type.is_block_device() {
            return "block device";
        }
        if file_type.is_socket() {
            return "socket";
        }
    }
    if file_type.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// The bytes of the regular file at `path`, refused when it is not a
/// regular file or holds more than `cap` bytes. The type and size are
/// checked on the opened file (no race with a rename), and no more than
/// `cap + 1` bytes are ever read (a file growing meanwhile is refused).
pub fn read_bounded(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind(meta.file_type()),
        });
    }
    if meta.len() > cap {
        return Err(ReadError::TooLarge {
            bytes: meta.len(),
            cap,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge {
            bytes: bytes.len() as u64,
            cap,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_within_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"hello");
        let err = read_bounded(&path, 4).unwrap_err();
        assert!(
            matches!(err, ReadError::TooLarge { bytes: 5, cap: 4 }),
            "{err}"
        );
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_bounded(dir.path(), 1 << 20).unwrap_err();
        assert!(
            matches!(err, ReadError::NotRegular { kind: "directory" }),
            "{err}"
        );
        #[cfg(unix)]
        {
            let err = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert!(
                matches!(
                    err,
                    ReadError::NotRegular {
                        kind: "character device"
                    }
                ),
                "{err}"
            );
            // A FIFO without a writer: opening it must not block.
            let fifo = dir.path().join("fifo");
            let status = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(status.success());
            let err = read_bounded(&fifo, 1 << 20).unwrap_err();
            assert!(
                matches!(err, ReadError::NotRegular { kind: "FIFO" }),
                "{err}"
            );
        }
    }
}
