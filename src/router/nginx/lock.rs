//! One writer at a time: an advisory `flock` on `<include>.lock` (taken
//! through [`crate::lockfile`]). The lock
//! sits on a file of its own because the include itself is replaced by a
//! rename on every write, and a lock on a replaced inode guards nothing. The
//! holder writes its pid and command line into the lock file, so a second
//! writer is told who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held while it lives; closing the file releases the `flock`.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

pub fn lock_path(include: &Path) -> PathBuf {
    let mut p = include.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// This process, as the lock file names it: `pid 1234 (cutover set 25)`.
fn me() -> String {
    let cmd: Vec<String> = std::env::args().collect();
    format!("pid {} ({})", std::process::id(), cmd.join(" "))
}

/// Takes the lock without waiting. The error says which process holds it.
pub fn try_lock(include: &Path) -> Result<WriteLock, String> {
    let path = lock_path(include);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    let me = me();
    let held = crate::lockfile::try_exclusive(&mut file, |holder| holder == me)
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    if let Some(holder) = held {
        let holder = if holder.is_empty() {
            "another process (it has not written its pid yet)"
        } else {
            &holder
        };
        return Err(format!(
            "{} is locked by {holder}: another cockpit or `cutover set` is writing it",
            include.display()
        ));
    }
    // Who holds it, for the next writer's error message.
    let _ = file.set_len(0);
    let _ = file.seek(SeekFrom::Start(0));
    let _ = writeln!(file, "{me}");
    let _ = file.flush();
    Ok(WriteLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let inc = dir.path().join("up.conf");
        let held = try_lock(&inc).unwrap();
        let e = try_lock(&inc).unwrap_err();
        assert!(e.contains("is locked by pid"), "{e}");
        assert!(e.contains(&std::process::id().to_string()), "{e}");
        drop(held);
        try_lock(&inc).unwrap();
    }
}
