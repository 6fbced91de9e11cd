//! The guardian's mark: a sidecar file beside the journal's lock
//! (`<journal>.guard`) that says a process holding the journal has lost its
//! terminal, since when, and which split it guards. A new `cutover` on the
//! same journal reads it to name the guardian and to offer `--take-over`;
//! `--take-over` asks the guardian to hand over (SIGUSR1) and waits until
//! the journal is free.
//!
//! The mark counts only while the process it names holds the journal's
//! lock: a mark left by a process that was killed is ignored.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rustix::process::{self, Pid, Signal};
use serde::{Deserialize, Serialize};

use crate::engine::journal::lock_path;

/// How long `--take-over` waits for the guardian to hand over.
const HAND_OVER_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub pid: u32,
    /// When the terminal was lost, in milliseconds since the Unix epoch.
    pub lost_at_ms: u64,
    /// Green's share it guards, when known.
    pub split: Option<u8>,
    pub armed: bool,
}

impl Mark {
    pub fn new(split: Option<u8>, armed: bool) -> Mark {
        Mark {
            pid: std::process::id(),
            lost_at_ms: unix_ms(SystemTime::now()),
            split,
            armed,
        }
    }

    /// `process 123 lost its terminal 35 s ago and guards 1 % green
    /// (auto-rollback armed)`.
    pub fn describe(&self, now: SystemTime) -> String {
        let ago = Duration::from_millis(unix_ms(now).saturating_sub(self.lost_at_ms));
        let split = self
            .split
            .map_or_else(|| "an unknown split".into(), |g| format!("{g} % green"));
        format!(
            "process {} lost its terminal {} ago and guards {split} (auto-rollback {})",
            self.pid,
            crate::format::age(ago),
            if self.armed { "armed" } else { "DISARMED" }
        )
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn mark_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".guard");
    PathBuf::from(name)
}

/// Writes the mark (temp file and rename: a reader never sees half of it).
pub fn write(journal: &Path, mark: &Mark) -> std::io::Result<()> {
    let path = mark_path(journal);
    let tmp = path.with_extension("guard.tmp");
    std::fs::write(&tmp, serde_json::to_vec(mark)?)?;
    std::fs::rename(&tmp, &path)
}

pub fn remove(journal: &Path) {
    let _ = std::fs::remove_file(mark_path(journal));
}

/// The pid the journal's lock file names, when another process holds the
/// lock now (`None` when it is free or unreadable).
fn holder(journal: &Path) -> Option<u32> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(lock_path(journal))
        .ok()?;
    let me = std::process::id().to_string();
    // Taken (and released again as `file` drops): nobody holds it.
    let held = crate::lockfile::try_exclusive(&mut file, |h| h == me).ok()??;
    held.lines().next()?.trim().parse().ok()
}

/// The guardian holding `journal`, if the holder is one.
pub fn guardian(journal: &Path) -> Option<Mark> {
    let pid = holder(journal)?;
    let text = std::fs::read(mark_path(journal)).ok()?;
    let mark: Mark = serde_json::from_slice(&text).ok()?;
    (mark.pid == pid).then_some(mark)
}

/// What a refused process adds to "the journal is held by …": who guards,
/// and how to take over.
pub fn held_note(journal: &Path) -> Option<String> {
    guardian(journal).map(|m| {
        format!(
            "{}; `--take-over` stops it and takes over",
            m.describe(SystemTime::now())
        )
    })
}

/// `--take-over`: asks the guardian holding `journal` to hand over and
/// waits until it has. `Ok(None)` when nobody holds the journal; fails
/// when the holder is not a guardian (a cockpit with its terminal, an
/// autopilot) or does not hand over in time.
pub async fn take_over(journal: &Path) -> anyhow::Result<Option<Mark>> {
    let Some(pid) = holder(journal) else {
        return Ok(None);
    };
    let Some(mark) = guardian(journal) else {
        bail!(
            "--take-over: journal {} is held by process {pid}, which has not lost its terminal \
             (a cockpit in use, or an autopilot): only a cockpit that lost its terminal is taken \
             over",
            journal.display()
        );
    };
    // A pid of 0 (or past i32) would address a process group: refuse it.
    let target = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .with_context(|| format!("--take-over: {pid} is not a process id"))?;
    if let Err(e) = process::kill_process(target, Signal::USR1) {
        let e = std::io::Error::from(e);
        return Err(e).with_context(|| format!("--take-over: signalling process {pid}"));
    }
    let start = std::time::Instant::now();
    while holder(journal) == Some(pid) {
        if start.elapsed() > HAND_OVER_WAIT {
            bail!(
                "--take-over: process {pid} did not hand over within {} s",
                HAND_OVER_WAIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(Some(mark))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::scratch;

    #[test]
    fn a_mark_counts_only_while_its_process_holds_the_journal() {
        let (_d, j) = scratch("j.jsonl");
        write(&j, &Mark::new(Some(1), true)).unwrap();
        // Nobody holds the lock: a left-over mark is no guardian.
        assert_eq!(guardian(&j), None);
        assert_eq!(held_note(&j), None);
        let mark = Mark {
            lost_at_ms: unix_ms(SystemTime::now()) - 35_000,
            ..Mark::new(Some(1), true)
        };
        assert_eq!(
            mark.describe(SystemTime::now()),
            format!(
                "process {} lost its terminal 35s ago and guards 1 % green (auto-rollback armed)",
                std::process::id()
            )
        );
    }
}
