//! One writer at a time: an advisory `flock` on `<include>.lock` (taken
//! through [`crate::lockfile`]). The lock
//! sits on a file of its own because the include itself is replaced by a
//! rename on every write, and a lock on a replaced inode guards nothing. The
//! holder writes its pid and command line into the lock file, so a second
//! writer is told who holds it.
//!
//! An advance refuses at once when the lock is held; a rollback waits for
//! the holder (bounded, see [`ROLLBACK_LOCK_WAIT`]) and then writes over
//! whatever it left, because a rollback must not be lost to a writer that
//! is about to finish.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::command::COMMAND_TIMEOUT;

/// How long a rollback waits for another writer: that writer holds the
/// lock through one command at a time (its test or its reload), each cut
/// off at [`COMMAND_TIMEOUT`]; a few seconds more cover its file work.
pub const ROLLBACK_LOCK_WAIT: Duration = COMMAND_TIMEOUT.saturating_add(Duration::from_secs(5));

/// How often a waiting rollback tries the lock again.
const RETRY_EVERY: Duration = Duration::from_millis(10);

/// Held while it lives; closing the file releases the `flock`.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

/// Whom a rollback waited for, and how long.
#[derive(Debug, Clone, PartialEq)]
pub struct Waited {
    pub holder: String,
    pub took: Duration,
}

pub fn lock_path(include: &Path) -> PathBuf {
    crate::lockfile::sidecar(include)
}

/// This process, as the lock file names it: `pid 1234 (cutover set 25)`.
fn me() -> String {
    let cmd: Vec<String> = std::env::args().collect();
    format!("pid {} ({})", std::process::id(), cmd.join(" "))
}

/// One attempt: the lock, or the name of whoever holds it.
fn attempt(include: &Path) -> Result<Result<WriteLock, String>, String> {
    let path = lock_path(include);
    let mut file = crate::lockfile::open(&path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    let me = me();
    let held = crate::lockfile::try_exclusive(&mut file, |holder| holder == me)
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    if let Some(holder) = held {
        let holder = if holder.is_empty() {
            "another process (it has not written its pid yet)".to_string()
        } else {
            holder
        };
        return Ok(Err(holder));
    }
    // Who holds it, for the next writer's error message.
    let _ = crate::lockfile::name_holder(&mut file, &me);
    Ok(Ok(WriteLock { _file: file }))
}

/// Takes the lock without waiting. The error says which process holds it.
pub fn try_lock(include: &Path) -> Result<WriteLock, String> {
    attempt(include)?.map_err(|holder| {
        format!(
            "{} is locked by {holder}: another cockpit or `cutover set` is writing it",
            include.display()
        )
    })
}

/// Takes the lock, waiting up to `wait` for another holder (a rollback's
/// way). `Some(Waited)` when it had to wait; the error names the holder.
pub fn lock_waiting(include: &Path, wait: Duration) -> Result<(WriteLock, Option<Waited>), String> {
    let start = Instant::now();
    let mut named: Option<String> = None;
    loop {
        match attempt(include)? {
            Ok(lock) => {
                let waited = named.map(|holder| Waited {
                    holder,
                    took: start.elapsed(),
                });
                return Ok((lock, waited));
            }
            Err(holder) => {
                if named.as_deref() != Some(holder.as_str()) {
                    // The progress text: the log says whom the rollback
                    // waits for while it waits.
                    tracing::warn!(
                        "rollback waits up to {}s for the lock on {}: held by {holder}",
                        wait.as_secs(),
                        include.display()
                    );
                    named = Some(holder.clone());
                }
                if start.elapsed() >= wait {
                    return Err(format!(
                        "{} is still locked by {holder} after waiting {:.1}s for it: that writer \
                         is stuck; nothing was written",
                        include.display(),
                        start.elapsed().as_secs_f64()
                    ));
                }
                std::thread::sleep(RETRY_EVERY);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::scratch;

    #[test]
    fn a_second_writer_is_told_who_holds_the_lock() {
        let (_dir, inc) = scratch("up.conf");
        let held = try_lock(&inc).unwrap();
        let e = try_lock(&inc).unwrap_err();
        assert!(e.contains("is locked by pid"), "{e}");
        assert!(e.contains(&std::process::id().to_string()), "{e}");
        drop(held);
        try_lock(&inc).unwrap();
    }

    #[test]
    fn a_waiting_writer_takes_the_lock_once_it_is_free_or_names_the_holder() {
        let (_dir, inc) = scratch("up.conf");
        let (lock, waited) = lock_waiting(&inc, Duration::from_secs(1)).unwrap();
        assert_eq!(waited, None);
        // Held by "another process": a lock file naming someone else.
        std::fs::write(lock_path(&inc), "pid 1 (cutover set 5)\n").unwrap();
        let e = lock_waiting(&inc, Duration::from_millis(200)).unwrap_err();
        assert!(e.contains("still locked by pid 1 (cutover set 5)"), "{e}");
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(lock);
        });
        let (_lock, waited) = lock_waiting(&inc, Duration::from_secs(5)).unwrap();
        release.join().unwrap();
        let waited = waited.expect("it waited");
        assert_eq!(waited.holder, "pid 1 (cutover set 5)");
        assert!(waited.took >= Duration::from_millis(250), "{waited:?}");
    }
}
