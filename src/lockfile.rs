//! Exclusive advisory locks (`flock` through std's `File::try_lock`) on
//! sidecar files, shared by the journal's writer lock and the nginx
//! include's write lock.
//!
//! A `flock` belongs to the open file description, and a child that any
//! thread of this process is starting holds a copy of every descriptor from
//! `fork` until `exec` closes it (`O_CLOEXEC`). For that moment a lock this
//! process has just released still looks held, by itself. So when the lock
//! file names this very process, the attempt is repeated for a short while
//! instead of refusing a writer over a lock nobody holds.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a lock that names this process is retried: far longer than a
/// fork-to-exec window, short enough not to delay a rollback noticeably.
const OWN_PID_GRACE: Duration = Duration::from_millis(500);

/// The sidecar lock file of `guarded`: `<guarded>.lock`. The lock sits on
/// a file of its own so that replacing or appending to `guarded` never
/// touches the inode the lock is on.
pub fn sidecar(guarded: &Path) -> PathBuf {
    let mut name = guarded.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Opens (creating, never truncating: a holder's name may be in it) a lock
/// file for [`try_exclusive`].
pub fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Writes the holder's name into a lock file just taken, over whatever a
/// previous holder left, so the next writer's refusal can name it.
pub fn name_holder(file: &mut File, holder: &str) -> io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{holder}")
}

/// Takes the exclusive lock on `file` without blocking. `Ok(None)` when
/// taken; `Ok(Some(text))` when held, with what the lock file says (the
/// holder writes its name there). `names_me` tells whether that text names
/// this process.
pub fn try_exclusive(
    file: &mut File,
    names_me: impl Fn(&str) -> bool,
) -> io::Result<Option<String>> {
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                file.seek(SeekFrom::Start(0))?;
                let _ = file.read_to_string(&mut text);
                if names_me(text.trim()) && start.elapsed() < OWN_PID_GRACE {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                return Ok(Some(text.trim().to_string()));
            }
        }
    }
}

/// A fresh folder and the path `name` in it, for tests of files that are
/// guarded or locked; the folder goes when the first half drops.
#[cfg(test)]
pub fn scratch(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_held_by_this_process_is_retried_then_refused() {
        let (_d, p) = scratch("x.lock");
        let mut held = open(&p).unwrap();
        assert_eq!(try_exclusive(&mut held, |_| false).unwrap(), None);
        std::fs::write(&p, "me\n").unwrap();
        let mut other = open(&p).unwrap();
        let t = Instant::now();
        assert_eq!(
            try_exclusive(&mut other, |s| s == "me").unwrap().as_deref(),
            Some("me")
        );
        assert!(t.elapsed() >= OWN_PID_GRACE);
        // A holder that is not this process is refused at once.
        let t = Instant::now();
        assert_eq!(
            try_exclusive(&mut other, |_| false).unwrap().as_deref(),
            Some("me")
        );
        assert!(t.elapsed() < OWN_PID_GRACE);
        // A copy of the descriptor that goes away (a child's exec) frees it.
        drop(held);
        assert_eq!(try_exclusive(&mut other, |s| s == "me").unwrap(), None);
    }
}
