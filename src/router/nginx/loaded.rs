//! What nginx last loaded: after every successful reload the include's
//! revision is recorded beside it (`<include>.loaded`). A write whose reload
//! never ran to its end (the process was killed, the reload failed after a
//! rollback's content was written) leaves the include newer than the record,
//! and [`reconcile`] then has nginx load what the file says.
//!
//! A record beside the include, rather than comparing the include's mtime
//! with the start time of nginx's workers, because the cockpit does not
//! know nginx's pid file and may not see its processes (another container).

use std::path::{Path, PathBuf};

use super::command::{self, COMMAND_TIMEOUT};
use super::{include, lock, revision_of, write};
use crate::config::NginxConfig;
use crate::router::{Revision, RouterError};

pub fn record_path(include: &Path) -> PathBuf {
    let mut p = include.as_os_str().to_owned();
    p.push(".loaded");
    PathBuf::from(p)
}

/// Records that nginx loaded the include at `revision`. Not fsynced: a
/// record lost to a power cut only makes the next start reload once more.
pub fn record(include: &Path, revision: &Revision) {
    if let Err(e) = std::fs::write(record_path(include), format!("{revision}\n")) {
        tracing::warn!(
            "cannot record the reloaded revision in {}: {e}",
            record_path(include).display()
        );
    }
}

/// The revision nginx last loaded, as recorded; `None` without a record.
pub fn recorded(include: &Path) -> Option<Revision> {
    let text = std::fs::read_to_string(record_path(include)).ok()?;
    let t = text.trim();
    (!t.is_empty()).then(|| Revision(t.to_string()))
}

/// Runs `cmd`; `Err` with nginx's words when it fails.
fn run(cmd: &[String]) -> Result<(), String> {
    match command::run(cmd, COMMAND_TIMEOUT) {
        Ok(r) if r.ok => Ok(()),
        Ok(r) => Err(format!("`{}` failed: {}", cmd.join(" "), r.said)),
        Err(e) => Err(e.message),
    }
}

/// Has nginx load the include when it is newer than what nginx last loaded
/// (test, then reload). Blocking. `Ok(None)`: in step, no record to judge
/// by, or another writer holds the lock (its own reload settles it).
pub fn reconcile(cfg: &NginxConfig) -> Result<Option<String>, RouterError> {
    let path = cfg.include.as_path();
    let Ok(_lock) = lock::try_lock(path) else {
        return Ok(None);
    };
    let Some(bytes) = write::read_include(path)? else {
        return Ok(None);
    };
    let Some(last) = recorded(path) else {
        return Ok(None);
    };
    let now = revision_of(Some(&bytes));
    if now == last {
        return Ok(None);
    }
    let says = include::read(&String::from_utf8_lossy(&bytes), cfg)
        .map(|i| i.split.to_string())
        .unwrap_or_else(|r| format!("something unreadable ({r})"));
    let out_of_step = format!(
        "the include ({says}) is newer than what nginx last loaded (a write whose reload never finished)"
    );
    let loaded = run(&cfg.test_command).and_then(|()| run(&cfg.reload_command));
    match loaded {
        Ok(()) => {
            record(path, &now);
            Ok(Some(format!("nginx reloaded: {out_of_step}")))
        }
        Err(why) => Err(RouterError::Rejected(format!(
            "{out_of_step}, and loading it failed: {why}; nginx still serves what it loaded before"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::scratch;

    #[test]
    fn the_record_round_trips_and_is_absent_at_first() {
        let (_d, inc) = scratch("up.conf");
        assert_eq!(recorded(&inc), None);
        record(&inc, &Revision("00ab".into()));
        assert_eq!(recorded(&inc), Some(Revision("00ab".into())));
    }
}
