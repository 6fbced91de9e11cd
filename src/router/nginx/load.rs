//! After the include is renamed into place: the test (unless a rollback
//! lets the reload be the test) and the reload, and what a failure leaves.
//! A failed advance puts the old file back, so the file matches what nginx
//! still runs; a failed rollback keeps its own content, so whatever reloads
//! or restarts nginx next lands on blue, never on green.

use super::command::{self, COMMAND_TIMEOUT};
use super::timing::Stopwatch;
use super::write::{backup_path, restore};
use crate::config::NginxConfig;
use crate::model::Split;
use crate::router::RouterError;

/// Whether a write to `split` runs the test command before the reload.
pub fn tests_first(cfg: &NginxConfig, split: Split) -> bool {
    split != Split::ZERO || cfg.test_before_rollback
}

/// What a failed rollback leaves: its own content, never green's traffic
/// back, so that whatever reloads or restarts nginx next lands on blue.
pub const ROLLBACK_KEPT: &str =
    "the include now says 0 % green; nginx still serves the old split until it reloads";

/// What went wrong running a command: nginx's own words, and whether it
/// may have done its work anyway (it started and was lost or killed).
fn failure(cmd: &[String], r: Result<command::Ran, command::RunError>) -> Option<(String, bool)> {
    match r {
        Ok(r) if r.ok => None,
        Ok(r) => Some((format!("`{}` failed: {}", cmd.join(" "), r.said), false)),
        Err(e) => Some((e.message, e.started)),
    }
}

/// The file as it was, for putting it back after an advance fails.
pub(super) struct Before<'a> {
    pub bytes: &'a Option<Vec<u8>>,
    pub mode: Option<u32>,
}

/// After the rename: test (unless a rollback lets the reload test) and
/// reload. A failed advance restores the old file; a failed rollback keeps
/// its own content ([`ROLLBACK_KEPT`]). `Ok` says how it went.
pub(super) fn load(
    cfg: &NginxConfig,
    split: Split,
    before: Before,
    clock: &mut Stopwatch,
) -> Result<String, RouterError> {
    let path = cfg.include.as_path();
    let rollback = split == Split::ZERO;
    let tested = tests_first(cfg, split);
    if tested {
        let test = command::run(&cfg.test_command, COMMAND_TIMEOUT);
        clock.done("test");
        if let Some((why, _)) = failure(&cfg.test_command, test) {
            if rollback {
                return Err(RouterError::Rejected(format!(
                    "{why}; nginx was not reloaded; {ROLLBACK_KEPT}"
                )));
            }
            let restored = match restore(path, before.bytes, before.mode) {
                Ok(()) => "the include is restored and nginx was not reloaded".to_string(),
                Err(e) => format!(
                    "RESTORING THE INCLUDE FAILED ({e}); nginx was not reloaded; the old file is in {}",
                    backup_path(path).display()
                ),
            };
            return Err(RouterError::Rejected(format!("{why}; {restored}")));
        }
    }

    let reload = command::run(&cfg.reload_command, COMMAND_TIMEOUT);
    clock.done("reload");
    let Some((why, maybe_signalled)) = failure(&cfg.reload_command, reload) else {
        return Ok(if tested {
            "nginx test and reload ok".into()
        } else {
            "reload ok (it tested the config)".into()
        });
    };
    if rollback {
        return reload_again_or_keep(cfg, why, maybe_signalled);
    }
    // A reload that ran to its end and failed did not signal nginx (it
    // parses the config first and exits 1 on a bad one): nginx still runs
    // the old config, so the old file goes back to match it.
    let restored = match restore(path, before.bytes, before.mode) {
        Err(e) => format!(
            "RESTORING THE INCLUDE FAILED ({e}); the old file is in {}",
            backup_path(path).display()
        ),
        Ok(()) if !maybe_signalled => {
            "the include is restored to what nginx still runs".to_string()
        }
        // It may have signalled before it was lost: reload once more so
        // that nginx runs what the file says, whichever it ran.
        Ok(()) => match failure(
            &cfg.reload_command,
            command::run(&cfg.reload_command, COMMAND_TIMEOUT),
        ) {
            None => "the include is restored and nginx reloaded with it".to_string(),
            Some((again, _)) => format!(
                "the include is restored, but reloading it failed too ({again}): nginx may run either version"
            ),
        },
    };
    Err(RouterError::Rejected(format!("{why}; {restored}")))
}

/// A rollback's reload failed: its content stays. A reload that was lost
/// midway (killed, timed out) may have signalled nginx, so it is run once
/// more; one that ran to its end and failed did not, and nginx keeps the
/// old split until something reloads it (the engine's retry, `reconcile`).
fn reload_again_or_keep(
    cfg: &NginxConfig,
    why: String,
    maybe_signalled: bool,
) -> Result<String, RouterError> {
    if !maybe_signalled {
        return Err(RouterError::Rejected(format!("{why}; {ROLLBACK_KEPT}")));
    }
    match failure(
        &cfg.reload_command,
        command::run(&cfg.reload_command, COMMAND_TIMEOUT),
    ) {
        None => Ok(format!("reload ok on the second try (the first: {why})")),
        Some((again, _)) => Err(RouterError::Rejected(format!(
            "{why}; reloading again failed too ({again}); {ROLLBACK_KEPT} (unless the first \
             reload reached it)"
        ))),
    }
}
