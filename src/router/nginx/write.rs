//! The safe write: under the lock, check the revision, write a temp file in
//! the include's directory, fsync it, keep a backup, rename it into place
//! (the point of no return), test, reload, and either report it done or
//! restore the old bytes (an advance; a rollback keeps its own). Nothing is
//! ever left half-applied.
//!
//! A rollback (a write to 0 % green) skips the separate test unless
//! `test_before_rollback` is set: the reload command parses the whole
//! config itself and exits non-zero without signalling nginx on a bad one,
//! so it is the test. Other writes keep the test: they are not racing harm,
//! and `nginx -t` also opens the log files and zones that a reload only
//! opens in the master, after the signal. A rollback that fails after its
//! rename keeps its content (see `load`): never green's traffic back.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::load::{Before, load};
use super::timing::Stopwatch;
use super::{include, loaded, lock, revision_of};

pub use super::load::{ROLLBACK_KEPT, tests_first};
use crate::config::NginxConfig;
use crate::model::Split;
use crate::router::{Applied, Revision, RouterError};

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

pub fn backup_path(include: &Path) -> PathBuf {
    sibling(include, ".bak")
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> RouterError {
    let hint = if e.kind() == ErrorKind::PermissionDenied {
        " (cutover needs to write the include, and to create files in its directory: temp file, backup, lock, reload record)"
    } else {
        ""
    };
    RouterError::Rejected(format!("cannot {what} {}: {e}{hint}", path.display()))
}

/// Writes `bytes` to a temp file next to `path`, fsynced, keeping `mode`.
fn write_temp(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<PathBuf, RouterError> {
    let tmp = sibling(path, &format!(".cutover-{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode.unwrap_or(0o644))
            .open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(m) = mode {
            // The umask may have narrowed the mode given to open.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(m))?;
        }
        // Before the rename: after a crash the include is old or new, never
        // empty.
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("write the temp file", &tmp, e));
    }
    Ok(tmp)
}

fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), RouterError> {
    fs::rename(tmp, path).map_err(|e| {
        let _ = fs::remove_file(tmp);
        io_err("rename the temp file onto", path, e)
    })
}

/// Makes renames in `path`'s directory durable. nginx sees a rename at
/// once; this only matters after a power cut, so a write does it after the
/// reload, off the path of the traffic, but before reporting done.
fn sync_dir(path: &Path) {
    if let Ok(d) = File::open(dir_of(path)) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `path` by temp file, fsync and rename, keeping `mode`.
fn replace(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), RouterError> {
    let tmp = write_temp(path, bytes, mode)?;
    rename_into_place(&tmp, path)?;
    sync_dir(path);
    Ok(())
}

/// The include's bytes, or `None` when it does not exist yet.
pub fn read_include(path: &Path) -> Result<Option<Vec<u8>>, RouterError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RouterError::Unavailable(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Puts the old bytes back (or removes a file that did not exist).
pub(super) fn restore(
    path: &Path,
    old: &Option<Vec<u8>>,
    mode: Option<u32>,
) -> Result<(), RouterError> {
    match old {
        Some(b) => replace(path, b, mode),
        None => fs::remove_file(path).map_err(|e| io_err("remove", path, e)),
    }
}

/// Takes the include's lock: an advance refuses at once when another
/// writer holds it, a rollback waits for that writer (bounded).
fn take_lock(
    path: &Path,
    split: Split,
) -> Result<(lock::WriteLock, Option<lock::Waited>), RouterError> {
    if split == Split::ZERO {
        lock::lock_waiting(path, lock::ROLLBACK_LOCK_WAIT).map_err(RouterError::Rejected)
    } else {
        lock::try_lock(path)
            .map(|l| (l, None))
            .map_err(RouterError::Rejected)
    }
}

/// The include's new text for `split`, checked to read back as `split`
/// before anything changes, so the read-back after the reload can be a
/// comparison of bytes.
fn render_new(
    cfg: &NginxConfig,
    old: &Option<Vec<u8>>,
    split: Split,
) -> Result<String, RouterError> {
    let path = cfg.include.as_path();
    let new = match old {
        None => include::render(cfg, split),
        Some(b) => {
            let text = std::str::from_utf8(b).map_err(|_| {
                RouterError::Unreadable(format!("{} is not UTF-8 text", path.display()))
            })?;
            let inc = include::read(text, cfg).map_err(|r| {
                RouterError::Unreadable(format!(
                    "{} {r}; refusing to write, the file is left as it is",
                    path.display()
                ))
            })?;
            inc.rewrite(text, cfg, split)
        }
    };
    match include::read(&new, cfg) {
        Ok(inc) if inc.split == split => Ok(new),
        Ok(inc) => Err(RouterError::Rejected(format!(
            "the rewritten {} would read {} instead of {split}; nothing was written",
            path.display(),
            inc.split
        ))),
        Err(r) => Err(RouterError::Rejected(format!(
            "the rewritten {} would not read back ({r}); nothing was written",
            path.display()
        ))),
    }
}

/// Keeps a backup of the old bytes beside the include.
fn back_up(path: &Path, old: &Option<Vec<u8>>, mode: Option<u32>) -> Result<(), RouterError> {
    if let Some(b) = old {
        // The backup is the old file itself: a hard link costs no copy and
        // no fsync (its data is already on disk); the rename below then
        // leaves it as the only name of the old bytes.
        let bak = backup_path(path);
        let _ = fs::remove_file(&bak);
        if fs::hard_link(path, &bak).is_err() {
            replace(&bak, b, mode)?;
        }
    }
    Ok(())
}

/// Sets `split` in the include and has nginx load it. Blocking.
pub fn apply(
    cfg: &NginxConfig,
    split: Split,
    expected: Option<&Revision>,
    cancel: &CancellationToken,
) -> Result<Applied, RouterError> {
    let path = cfg.include.as_path();
    if cancel.is_cancelled() {
        return Err(RouterError::Cancelled);
    }
    let mut clock = Stopwatch::start();
    let (_lock, waited) = take_lock(path, split)?;
    clock.done("lock");
    let old = read_include(path)?;
    let now = revision_of(old.as_deref());
    // A rollback that waited for another writer goes over whatever that
    // writer left: the revision it read before is stale by design.
    if let Some(want) = expected
        && *want != now
        && waited.is_none()
    {
        return Err(RouterError::Conflict(format!(
            "{} was changed by someone else since it was read (revision {want} → {now})",
            path.display()
        )));
    }
    let new = render_new(cfg, &old, split)?;
    let mode = fs::metadata(path).ok().map(|m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o7777
    });
    clock.done("read");
    back_up(path, &old, mode)?;
    clock.done("backup");
    let tmp = write_temp(path, new.as_bytes(), mode)?;
    clock.done("temp+fsync");
    // Last safe point: after the rename the write finishes or is restored.
    if cancel.is_cancelled() {
        let _ = fs::remove_file(&tmp);
        return Err(RouterError::Cancelled);
    }
    rename_into_place(&tmp, path)?;
    clock.done("rename");
    let before = Before { bytes: &old, mode };
    let how = load(cfg, split, before, &mut clock)?;

    // Read back what is on disk now, not what was meant to be.
    let after = read_include(path)?.unwrap_or_default();
    clock.done("read-back");
    if after != new.as_bytes() {
        let text = String::from_utf8_lossy(&after);
        let now = include::read(&text, cfg)
            .map(|i| i.split.to_string())
            .unwrap_or_else(|r| format!("something unreadable ({r})"));
        return Err(RouterError::Rejected(format!(
            "{} was changed under the lock after writing {split}: it now reads {now}",
            path.display()
        )));
    }
    let revision = revision_of(Some(&after));
    loaded::record(path, &revision);
    sync_dir(path);
    clock.done("dir-fsync");
    let waited = waited
        .map(|w| {
            format!(
                "; waited {:.1}s for the lock held by {}, then wrote over what it left",
                w.took.as_secs_f64(),
                w.holder
            )
        })
        .unwrap_or_default();
    Ok(Applied {
        split,
        revision: Some(revision),
        detail: format!("{how}; {}{waited}", clock.steps),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NginxMode;
    use crate::model::split as s;

    fn cfg(dir: &Path, test: &[&str]) -> NginxConfig {
        NginxConfig {
            include: dir.join("up.conf"),
            upstream: "up".into(),
            blue: vec!["127.0.0.1:1".into()],
            green: vec!["127.0.0.1:2".into()],
            mode: NginxMode::Weighted,
            sticky_key: None,
            test_command: test.iter().map(|s| s.to_string()).collect(),
            test_before_rollback: false,
            reload_command: vec!["true".into()],
            probe_url: None,
            probe_requests: 10,
        }
    }

    /// An include in a fresh folder whose nginx test and reload pass.
    fn passing_nginx() -> (tempfile::TempDir, NginxConfig) {
        let d = tempfile::tempdir().unwrap();
        let c = cfg(d.path(), &["true"]);
        (d, c)
    }

    #[test]
    fn writes_backs_up_and_reads_back() {
        let (_d, c) = passing_nginx();
        let none = CancellationToken::new();
        let a = apply(&c, s(25), None, &none).unwrap();
        assert_eq!(a.split, s(25));
        assert!(
            a.detail.starts_with("nginx test and reload ok"),
            "{}",
            a.detail
        );
        let steps = super::super::timing::Steps::parse(&a.detail).unwrap();
        assert!(steps.get("test").is_some() && steps.get("reload").is_some());
        let first = fs::read(&c.include).unwrap();
        assert_eq!(a.revision, Some(revision_of(Some(&first))));
        let b = apply(&c, s(100), a.revision.as_ref(), &none).unwrap();
        assert_eq!(b.split, s(100));
        assert_eq!(fs::read(backup_path(&c.include)).unwrap(), first);
    }

    #[test]
    fn a_stale_revision_is_a_conflict_and_writes_nothing() {
        let (_d, c) = passing_nginx();
        let none = CancellationToken::new();
        let a = apply(&c, s(25), None, &none).unwrap();
        let edited = String::from_utf8(fs::read(&c.include).unwrap()).unwrap() + "# by hand\n";
        fs::write(&c.include, &edited).unwrap();
        match apply(&c, s(50), a.revision.as_ref(), &none) {
            Err(RouterError::Conflict(why)) => assert!(why.contains("changed"), "{why}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(fs::read_to_string(&c.include).unwrap(), edited);
    }

    #[test]
    fn cancelled_or_failing_test_leaves_the_bytes() {
        let (d, c) = passing_nginx();
        apply(&c, s(25), None, &CancellationToken::new()).unwrap();
        let before = fs::read(&c.include).unwrap();
        let cancelled = CancellationToken::new();
        cancelled.cancel();
        assert_eq!(
            apply(&c, s(50), None, &cancelled).unwrap_err(),
            RouterError::Cancelled
        );
        let failing = cfg(
            d.path(),
            &["sh", "-c", "echo 'nginx: [emerg] bad' >&2; exit 1"],
        );
        match apply(&failing, s(50), None, &CancellationToken::new()) {
            Err(RouterError::Rejected(why)) => {
                assert!(
                    why.contains("[emerg] bad") && why.contains("restored"),
                    "{why}"
                )
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(fs::read(&c.include).unwrap(), before);
        let leftovers: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_rollback_lets_the_reload_test_unless_told_otherwise() {
        let d = tempfile::tempdir().unwrap();
        let none = CancellationToken::new();
        apply(&cfg(d.path(), &["true"]), s(50), None, &none).unwrap();
        // A test that would refuse anything: a rollback does not run it.
        let mut c = cfg(d.path(), &["false"]);
        let a = apply(&c, Split::ZERO, None, &none).unwrap();
        assert!(a.detail.starts_with("reload ok (it tested"), "{}", a.detail);
        let steps = super::super::timing::Steps::parse(&a.detail).unwrap();
        assert_eq!(steps.get("test"), None);
        // Forward writes, and rollbacks with test_before_rollback, do.
        let before = fs::read(&c.include).unwrap();
        assert!(apply(&c, s(10), None, &none).is_err());
        assert_eq!(fs::read(&c.include).unwrap(), before);
        c.test_before_rollback = true;
        assert!(apply(&c, Split::ZERO, None, &none).is_err());
    }

    #[test]
    fn a_refused_reload_puts_an_advance_back_and_keeps_a_rollback() {
        let d = tempfile::tempdir().unwrap();
        let none = CancellationToken::new();
        apply(&cfg(d.path(), &["true"]), s(50), None, &none).unwrap();
        let before = fs::read(&cfg(d.path(), &["true"]).include).unwrap();
        let mut c = cfg(d.path(), &["true"]);
        c.reload_command = vec![
            "sh".into(),
            "-c".into(),
            "echo 'nginx: [emerg] unknown directive' >&2; exit 1".into(),
        ];
        match apply(&c, s(25), None, &none) {
            Err(RouterError::Rejected(why)) => assert!(
                why.contains("[emerg] unknown directive")
                    && why.contains("restored to what nginx still runs"),
                "{why}"
            ),
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(fs::read(&c.include).unwrap(), before);
        // A rollback never writes green back in: its content stays.
        match apply(&c, Split::ZERO, None, &none) {
            Err(RouterError::Rejected(why)) => assert!(
                why.contains("[emerg] unknown directive") && why.contains(ROLLBACK_KEPT),
                "{why}"
            ),
            other => panic!("expected a rejection, got {other:?}"),
        }
        let text = fs::read_to_string(&c.include).unwrap();
        assert_eq!(include::read(&text, &c).unwrap().split, Split::ZERO);
        // So does one whose separate test fails.
        apply(&cfg(d.path(), &["true"]), s(50), None, &none).unwrap();
        let mut t = cfg(d.path(), &["false"]);
        t.test_before_rollback = true;
        let why = apply(&t, Split::ZERO, None, &none).unwrap_err().to_string();
        assert!(why.contains(ROLLBACK_KEPT), "{why}");
        let text = fs::read_to_string(&c.include).unwrap();
        assert_eq!(include::read(&text, &c).unwrap().split, Split::ZERO);
    }
}
