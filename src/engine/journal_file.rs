//! The journal's file: opening it as the one writer (an advisory lock
//! naming the holder), read-only or past the lock, and appending a line
//! that is on disk when the call returns, with a failed append taken back.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::journal::{Record, RecordKind};
use super::journal_lines::{check_parents, not_regular};

/// Why a journal could not be opened for writing.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process holds the journal: it is the one writer of this
    /// service.
    #[error("{}", locked_message(.path, *.pid))]
    Locked { path: PathBuf, pid: Option<u32> },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn locked_message(path: &Path, pid: Option<u32>) -> String {
    let who = pid.map_or_else(|| "another process".to_string(), |p| format!("process {p}"));
    format!(
        "journal {} is held by {who}: another cockpit or autopilot moves traffic on this service",
        path.display()
    )
}

/// The sidecar file whose advisory lock makes a process the one writer of
/// a journal; it holds the writer's process id so others can name it.
pub fn lock_path(journal: &Path) -> PathBuf {
    crate::lockfile::sidecar(journal)
}

/// Takes the writer's lock of `journal`, or says who holds it. The lock is
/// an advisory `flock` (std's `File::try_lock`): the kernel drops it when the process
/// ends, however it ends, so a crash never leaves a stale lock.
fn acquire(journal: &Path) -> Result<File, OpenError> {
    let path = lock_path(journal);
    let mut file = crate::lockfile::open(&path)?;
    let me = std::process::id().to_string();
    match crate::lockfile::try_exclusive(&mut file, |holder| holder == me)? {
        None => {
            crate::lockfile::name_holder(&mut file, &me)?;
            file.sync_data()?;
            Ok(file)
        }
        Some(holder) => Err(OpenError::Locked {
            path: journal.to_path_buf(),
            pid: holder.parse().ok(),
        }),
    }
}

pub struct Journal {
    path: PathBuf,
    file: File,
    /// The writer's lock, held as long as the journal is open; `None` when
    /// opened without it (`rollback --force`) or read-only.
    _lock: Option<File>,
    /// Read-only: why appends are refused (naming the holder, if known).
    refuse: Option<String>,
    /// A failed append may have left a partial line that could not be cut
    /// off: the next append begins with a newline.
    torn: bool,
}

impl Journal {
    /// Opens (creating it and its directory if needed) for appending, as
    /// the one writer of the service: fails with [`OpenError::Locked`]
    /// while another process holds it.
    pub fn open(path: &Path) -> Result<Journal, OpenError> {
        Journal::create_dir(path)?;
        let lock = acquire(path)?;
        let mut j = Journal::open_file(path)?;
        j._lock = Some(lock);
        Ok(j)
    }

    /// Opens for appending without taking the writer's lock: only for a
    /// forced rollback, which must go through even while another process
    /// holds the service (journaled as forced).
    pub fn open_unlocked(path: &Path) -> std::io::Result<Journal> {
        Journal::create_dir(path)?;
        Journal::open_file(path)
    }

    /// Opens to read the past only, for a process that is not the writer
    /// (`why` says so): every append is refused with `why`.
    pub fn open_readonly(path: &Path, why: impl Into<String>) -> std::io::Result<Journal> {
        Journal::create_dir(path)?;
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            _lock: None,
            refuse: Some(why.into()),
            torn: false,
        })
    }

    /// Makes the directory and checks the path can be a journal.
    fn create_dir(path: &Path) -> std::io::Result<()> {
        check_parents(path)?;
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        // Appending to a device or a FIFO "works" until it fills the disk
        // or blocks; only a regular file is a journal.
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => return Err(not_regular(path, &m)),
            _ => {}
        }
        Ok(())
    }

    fn open_file(path: &Path) -> std::io::Result<Journal> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        // A torn last line (a crash mid-write) must not swallow the next
        // record: start it on a line of its own.
        let len = file.metadata()?.len();
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            _lock: None,
            refuse: None,
            torn: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and waits until it is on disk (a sample: written,
    /// not fsynced). A failed append
    /// (a full disk, an I/O error) takes its partial line back, so the next
    /// record is never glued onto a torn one.
    pub fn append(&mut self, record: &Record) -> std::io::Result<()> {
        if let Some(why) = &self.refuse {
            return Err(std::io::Error::other(why.clone()));
        }
        let mut line = Vec::with_capacity(512);
        // The last append failed and its partial line could not be taken
        // back: this record starts on a line of its own.
        if self.torn {
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let before = self.file.metadata()?.len();
        // One write per line: with O_APPEND, lines from two processes never
        // interleave. Samples (a chart's points, one a second in a demo) are
        // not fsynced: a write survives a crash of this process, the next
        // fsynced record takes them to disk, and a power cut costs a point
        // of a chart, never a traffic change (those are always fsynced).
        let durable = record.kind != RecordKind::Sample;
        let written = self.file.write_all(&line).and_then(|_| {
            if durable {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => {
                self.torn = false;
                Ok(())
            }
            Err(e) => {
                self.take_back(before);
                Err(e)
            }
        }
    }

    /// After a failed append: cuts the file back to `before` (its length
    /// when the append began, which ended on a full line), or, when that
    /// fails, makes the next append start on a fresh line.
    fn take_back(&mut self, before: u64) {
        // Only the lock holder may cut: without the lock another process
        // (a `rollback --force`) may have appended a whole record after
        // `before`, and cutting would erase it. Then the next append starts
        // on a fresh line instead.
        if self._lock.is_none() {
            self.torn = true;
            return;
        }
        let cut = self.file.metadata().and_then(|m| {
            if m.len() > before {
                self.file.set_len(before)?;
                self.file.sync_data()?;
            }
            Ok(())
        });
        // Cut back to a file that already ended torn, it still does.
        self.torn = cut.is_err() || self.torn;
        if let Err(e) = cut {
            tracing::warn!(
                "journal {}: a failed append could not be taken back ({e}); the next record starts on a fresh line",
                self.path.display()
            );
        }
    }
}
