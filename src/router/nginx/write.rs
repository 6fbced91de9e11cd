//! The safe write: under the lock, check the revision, write a temp file in
//! the include's directory, fsync it, keep a backup, rename it into place
//! (the point of no return), run the test command, and either reload or
//! restore the old bytes. Nothing is ever left half-applied.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::command::{self, COMMAND_TIMEOUT};
use super::{include, lock, revision_of};
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
        " (cutover needs to write the include, and to create files in its directory: temp file, backup, lock)"
    } else {
        ""
    };
    RouterError::Rejected(format!("cannot {what} {}: {e}{hint}", path.display()))
}

/// Writes `bytes` to `path` by temp file, fsync and rename, keeping `mode`.
fn replace(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), RouterError> {
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
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(m))?;
        }
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("write the temp file", &tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err("rename the temp file onto", path, e)
    })?;
    // The rename itself is durable only once the directory is synced.
    if let Ok(d) = File::open(dir_of(path)) {
        let _ = d.sync_all();
    }
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
fn restore(path: &Path, old: &Option<Vec<u8>>, mode: Option<u32>) -> Result<(), RouterError> {
    match old {
        Some(b) => replace(path, b, mode),
        None => fs::remove_file(path).map_err(|e| io_err("remove", path, e)),
    }
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
    let _lock = lock::try_lock(path).map_err(RouterError::Rejected)?;
    let old = read_include(path)?;
    let now = revision_of(old.as_deref());
    if let Some(want) = expected
        && *want != now
    {
        return Err(RouterError::Conflict(format!(
            "{} was changed by someone else since it was read (revision {want} → {now})",
            path.display()
        )));
    }
    let text = match &old {
        Some(b) => String::from_utf8(b.clone()).map_err(|_| {
            RouterError::Unreadable(format!("{} is not UTF-8 text", path.display()))
        })?,
        None => String::new(),
    };
    let new = if old.is_none() {
        include::render(cfg, split)
    } else {
        let inc = include::read(&text, cfg).map_err(|r| {
            RouterError::Unreadable(format!(
                "{} {r}; refusing to write, the file is left as it is",
                path.display()
            ))
        })?;
        inc.rewrite(&text, cfg, split)
    };
    let mode = fs::metadata(path).ok().map(|m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o7777
    });
    if let Some(b) = &old {
        // The backup is the old file itself: a hard link costs no copy and
        // no fsync (its data is already on disk); the rename below then
        // leaves it as the only name of the old bytes.
        let bak = backup_path(path);
        let _ = fs::remove_file(&bak);
        if fs::hard_link(path, &bak).is_err() {
            replace(&bak, b, mode)?;
        }
    }
    // Last safe point: after the rename the write finishes or is restored.
    if cancel.is_cancelled() {
        return Err(RouterError::Cancelled);
    }
    replace(path, new.as_bytes(), mode)?;

    let started = Instant::now();
    let test = command::run(&cfg.test_command, COMMAND_TIMEOUT);
    let test_ms = started.elapsed().as_millis();
    let failed = match test {
        Ok(r) if r.ok => None,
        Ok(r) => Some(format!(
            "`{}` failed: {}",
            cfg.test_command.join(" "),
            r.said
        )),
        Err(e) => Some(e),
    };
    if let Some(why) = failed {
        let restored = match restore(path, &old, mode) {
            Ok(()) => "the include is restored and nginx was not reloaded".to_string(),
            Err(e) => format!(
                "RESTORING THE INCLUDE FAILED ({e}); nginx was not reloaded; the old file is in {}",
                backup_path(path).display()
            ),
        };
        return Err(RouterError::Rejected(format!("{why}; {restored}")));
    }

    let reloaded_at = Instant::now();
    let reload = command::run(&cfg.reload_command, COMMAND_TIMEOUT);
    let reload_ms = reloaded_at.elapsed().as_millis();
    let failed = match reload {
        Ok(r) if r.ok => None,
        Ok(r) => Some(format!(
            "`{}` failed: {}",
            cfg.reload_command.join(" "),
            r.said
        )),
        Err(e) => Some(e),
    };
    if let Some(why) = failed {
        // nginx kept running the old config: put the file back to match it.
        let restored = match restore(path, &old, mode) {
            Ok(()) => "the include is restored to what nginx still runs".to_string(),
            Err(e) => format!(
                "RESTORING THE INCLUDE FAILED ({e}); the old file is in {}",
                backup_path(path).display()
            ),
        };
        return Err(RouterError::Rejected(format!("{why}; {restored}")));
    }

    // Read back what is on disk now, not what was meant to be.
    let after = read_include(path)?.unwrap_or_default();
    let after_text = String::from_utf8_lossy(&after);
    let read = include::read(&after_text, cfg)
        .map_err(|r| RouterError::Unreadable(format!("{} after the write: {r}", path.display())))?;
    if read.split != split {
        return Err(RouterError::Rejected(format!(
            "{} reads back {} after writing {split}",
            path.display(),
            read.split
        )));
    }
    Ok(Applied {
        split: read.split,
        revision: Some(revision_of(Some(&after))),
        detail: format!("nginx test ok in {test_ms} ms, reload in {reload_ms} ms"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NginxMode;

    fn cfg(dir: &Path, test: &[&str]) -> NginxConfig {
        NginxConfig {
            include: dir.join("up.conf"),
            upstream: "up".into(),
            blue: vec!["127.0.0.1:1".into()],
            green: vec!["127.0.0.1:2".into()],
            mode: NginxMode::Weighted,
            sticky_key: None,
            test_command: test.iter().map(|s| s.to_string()).collect(),
            reload_command: vec!["true".into()],
            probe_url: None,
            probe_requests: 10,
        }
    }

    fn s(g: u8) -> Split {
        Split::new(g).unwrap()
    }

    #[test]
    fn writes_backs_up_and_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let c = cfg(d.path(), &["true"]);
        let none = CancellationToken::new();
        let a = apply(&c, s(25), None, &none).unwrap();
        assert_eq!(a.split, s(25));
        assert!(a.detail.starts_with("nginx test ok in "), "{}", a.detail);
        let first = fs::read(&c.include).unwrap();
        assert_eq!(a.revision, Some(revision_of(Some(&first))));
        let b = apply(&c, s(100), a.revision.as_ref(), &none).unwrap();
        assert_eq!(b.split, s(100));
        assert_eq!(fs::read(backup_path(&c.include)).unwrap(), first);
    }

    #[test]
    fn a_stale_revision_is_a_conflict_and_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let c = cfg(d.path(), &["true"]);
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
        let d = tempfile::tempdir().unwrap();
        let c = cfg(d.path(), &["true"]);
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
}
