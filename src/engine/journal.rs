//! The journal: an append-only JSONL audit log. Every traffic change is
//! written twice (intent before the router is touched, outcome after) and
//! each line is fsynced before the command is reported done.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::action::WriteOutcome;
pub use super::journal_file::{Journal, OpenError, lock_path};
use super::journal_lines::{Line, Lines, MAX_LINE, open_regular};
pub use super::journal_words::{RecordAction, RecordOrigin};
use super::journal_words::{known_readings, non_empty, verdict_word};
use super::memory::RolledBackMemory;
use super::sampling::Sample;
use crate::model::{Color, Verdict};

/// What a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A traffic change about to be made.
    Intent,
    /// How a traffic change ended.
    Outcome,
    /// The bake passed: green is promoted, blue is a standby.
    Promoted,
    /// Pause, resume, arm, disarm.
    Control,
    /// Free text from the operator.
    Note,
    /// The cockpit started and read the split.
    Start,
    /// A smoke check or command gate finished (`action` says which).
    Check,
    /// An alert webhook was called: `action` is `alert sent` or
    /// `alert failed`, `detail` says which event, where (host only) and why.
    Alert,
    /// A guardrail verdict went into breach (`breach`) or out of it
    /// (`cleared`), with the reading.
    Breach,
    /// Both colours' numbers and the split at one poll, for the report's
    /// charts: compact, and thinned over a long cutover (see
    /// [`super::sampling`]). Carries no decision: readers of the past skip it.
    Sample,
}

/// One reading as it stood when a decision was made. The colour and
/// metric write their keys (`green`, `error_rate`), the verdict its word
/// (`OK`, `WARN`, `BREACH`, `NO DATA`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadingRecord {
    pub color: Color,
    /// The metric's id (`p99_ms`, `ttft_p95`).
    pub metric: String,
    pub value: Option<f64>,
    #[serde(with = "verdict_word")]
    pub verdict: Verdict,
    /// The bounds it was judged against, e.g. `≤ 5.00 %`.
    pub bounds: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub no_data: Option<String>,
}

// Every `None` is left out of the line, which keeps lines (a sample's
// above all) short; a missing key reads back as `None`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub kind: RecordKind,
    // Empty only on samples, which leave them out to stay small.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub service: String,
    /// `$USER` of the process.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub user: String,
    /// Who or what made it; `None` only on samples.
    #[serde(default, deserialize_with = "non_empty")]
    pub origin: Option<RecordOrigin>,
    /// What it did; `None` only on samples.
    #[serde(default, deserialize_with = "non_empty")]
    pub action: Option<RecordAction>,
    pub from: Option<u8>,
    pub to: Option<u8>,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub forced: bool,
    /// `ok`, `failed`, `preempted`, ... (outcomes only).
    pub outcome: Option<WriteOutcome>,
    pub detail: Option<String>,
    pub duration_ms: Option<u64>,
    /// The readings behind an automatic decision.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        default,
        deserialize_with = "known_readings"
    )]
    pub readings: Vec<ReadingRecord>,
    /// `[service] green_version` when the record was written: a rollback
    /// is remembered against the green it rolled back.
    pub green_version: Option<String>,
    /// A check's name (`check` records).
    pub check: Option<String>,
    /// Whether the check passed (`check` records).
    pub passed: Option<bool>,
    /// The last lines a command gate printed, bounded.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub output: Vec<String>,
    /// The numbers of a [`RecordKind::Sample`].
    #[serde(rename = "s")]
    pub sample: Option<Sample>,
    /// A rollback's measured time from the decision (the key, the command,
    /// the breach) to the router's confirmation, on its `ok` outcome.
    pub decision_to_router_ms: Option<u64>,
    /// From the same decision to the first observed split (green's share of
    /// the requests over the source's window) below
    /// [`ZERO_EPSILON`] %: on the outcome when seen before it was written,
    /// else on a later `control` record with action
    /// [`RecordAction::RollbackTrafficZero`].
    pub decision_to_zero_ms: Option<u64>,
    /// `[plan] rollback_sla` in ms, on records that carry a measured time.
    pub rollback_sla_ms: Option<u64>,
    /// The evidence (e-values) on each tested metric by id when a decision
    /// was taken; absent from older journals.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub evidence: BTreeMap<String, f64>,
}

/// Green's observed share of the requests, in percent, below which the
/// traffic counts as fully redirected to blue.
pub const ZERO_EPSILON: f64 = 0.1;

impl Record {
    pub fn new(
        kind: RecordKind,
        service: &str,
        origin: impl Into<RecordOrigin>,
        action: impl Into<RecordAction>,
    ) -> Record {
        Record::at(SystemTime::now(), kind, service, origin, action)
    }

    /// A record stamped with `wall` (the engine's injectable clock).
    pub fn at(
        wall: SystemTime,
        kind: RecordKind,
        service: &str,
        origin: impl Into<RecordOrigin>,
        action: impl Into<RecordAction>,
    ) -> Record {
        Record {
            time: humantime::format_rfc3339_millis(wall).to_string(),
            kind,
            service: service.to_string(),
            user: current_user(),
            origin: Some(origin.into()),
            action: Some(action.into()),
            from: None,
            to: None,
            reason: None,
            forced: false,
            outcome: None,
            detail: None,
            duration_ms: None,
            readings: Vec::new(),
            green_version: None,
            check: None,
            passed: None,
            output: Vec::new(),
            sample: None,
            decision_to_router_ms: None,
            decision_to_zero_ms: None,
            rollback_sla_ms: None,
            evidence: BTreeMap::new(),
        }
    }

    /// A sample line: time, kind and numbers only (about 135 bytes).
    pub fn sample(wall: SystemTime, sample: Sample) -> Record {
        Record {
            user: String::new(),
            origin: None,
            action: None,
            sample: Some(sample),
            ..Record::at(
                wall,
                RecordKind::Sample,
                "",
                RecordOrigin::Cli,
                RecordAction::Start,
            )
        }
    }
}

fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// What the journal says about the past, read on start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovery {
    /// The last record of the journal, if any.
    pub last: Option<Record>,
    /// An intent with no outcome after it: the previous run stopped during a
    /// change.
    pub unfinished: Option<Record>,
    /// When the cutover was last promoted, if nothing moved traffic since.
    pub promoted_at: Option<SystemTime>,
    /// A rollback that was asked for and never confirmed (no `ok` outcome
    /// since its intent).
    pub failed_rollback: Option<Record>,
    /// Lines that could not be parsed.
    pub bad_lines: usize,
    /// The last rollback that landed, unless traffic was sent to green
    /// since or a start record names a different green.
    pub rolled_back: Option<RolledBackMemory>,
    /// The journal could not be read at all: nothing is remembered.
    pub unreadable: Option<String>,
}

impl Journal {
    /// Reads the journal at `path` (a missing file is an empty past),
    /// streaming it line by line: memory stays bounded whatever its size.
    pub fn recover(path: &Path) -> std::io::Result<Recovery> {
        let Some(file) = open_regular(path)? else {
            return Ok(Recovery::default());
        };
        let mut r = Recovery::default();
        // Bytes, not lines of UTF-8: a torn write must cost one record, not
        // the whole past.
        for line in Lines::new(file, MAX_LINE) {
            let Line::Text(bytes) = line? else {
                r.bad_lines += 1;
                continue;
            };
            // Most of a long journal: skipped without building it.
            if super::journal_read::numbers_only(&bytes) {
                continue;
            }
            let line = String::from_utf8_lossy(&bytes);
            if line.trim().is_empty() {
                continue;
            }
            let Ok(rec) = serde_json::from_str::<Record>(&line) else {
                r.bad_lines += 1;
                continue;
            };
            // Samples and breaches record numbers, not decisions: they
            // neither finish a change nor stand for the last record.
            if matches!(rec.kind, RecordKind::Sample | RecordKind::Breach) {
                continue;
            }
            // Only samples may leave out who did what.
            if rec.action.is_none() {
                r.bad_lines += 1;
                continue;
            }
            remember(&mut r, &rec);
            match rec.kind {
                RecordKind::Intent => {
                    r.unfinished = Some(rec.clone());
                    r.promoted_at = None;
                    if rec.action == Some(RecordAction::Rollback) {
                        r.failed_rollback = Some(rec.clone());
                    }
                }
                RecordKind::Outcome => {
                    r.unfinished = None;
                    // Any change that landed since supersedes the rollback.
                    if rec.outcome == Some(WriteOutcome::Ok) {
                        r.failed_rollback = None;
                    }
                }
                RecordKind::Promoted => {
                    r.promoted_at = humantime::parse_rfc3339(&rec.time).ok();
                }
                // A rollback the data plane disproved after its `ok`
                // outcome, or one a one-shot gave up on, has not landed:
                // the next process finishes it.
                RecordKind::Control
                    if matches!(
                        rec.action,
                        Some(RecordAction::RollbackRetrying | RecordAction::RollbackNotLanded)
                    ) =>
                {
                    r.failed_rollback = Some(rec.clone());
                }
                _ => {}
            }
            r.last = Some(rec);
        }
        Ok(r)
    }

    /// Reads every record (for tests and `status`).
    pub fn read_all(path: &Path) -> std::io::Result<Vec<Record>> {
        let file = open_regular(path)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such file", path.display()),
            )
        })?;
        let mut out = Vec::new();
        for line in Lines::new(file, MAX_LINE) {
            if let Line::Text(bytes) = line?
                && let Ok(rec) = serde_json::from_slice(&bytes)
            {
                out.push(rec);
            }
        }
        Ok(out)
    }
}

/// Keeps [`Recovery::rolled_back`] up to date with one more record: a
/// rollback asked for is remembered, however it ended; traffic sent to green since (a
/// forced raise that landed) or a start with another green forgets it.
fn remember(r: &mut Recovery, rec: &Record) {
    // A drill rehearses a rollback of a green that did not fail, and its
    // raise is no decision to send green traffic: neither is remembered.
    if rec.origin == Some(RecordOrigin::Drill) {
        return;
    }
    match rec.kind {
        // Asked for is enough: a rollback interrupted or failing counts.
        RecordKind::Intent if rec.action == Some(RecordAction::Rollback) => {
            r.rolled_back = Some(RolledBackMemory {
                at: humantime::parse_rfc3339(&rec.time).unwrap_or(SystemTime::UNIX_EPOCH),
                reason: rec.reason.clone().unwrap_or_else(|| "rollback".into()),
                green_version: rec.green_version.clone(),
            });
        }
        RecordKind::Outcome if rec.outcome == Some(WriteOutcome::Ok) => {
            if rec.action == Some(RecordAction::Rollback) {
                r.rolled_back = Some(RolledBackMemory {
                    at: humantime::parse_rfc3339(&rec.time).unwrap_or(SystemTime::UNIX_EPOCH),
                    reason: rec.reason.clone().unwrap_or_else(|| "rollback".into()),
                    green_version: rec.green_version.clone(),
                });
            } else if rec.to.is_some_and(|to| to > 0) {
                r.rolled_back = None;
            }
        }
        RecordKind::Start
            if r.rolled_back
                .as_ref()
                .is_some_and(|m| m.superseded_by(rec.green_version.as_deref())) =>
        {
            r.rolled_back = None;
        }
        _ => {}
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::io::Write;

    use super::*;

    /// A record for the one service every engine test journals.
    pub(in crate::engine) fn rec(
        kind: RecordKind,
        origin: RecordOrigin,
        action: RecordAction,
    ) -> Record {
        Record::new(kind, "svc", origin, action)
    }

    /// An outcome of `action` that the router confirmed.
    pub(in crate::engine) fn ok_outcome(origin: RecordOrigin, action: RecordAction) -> Record {
        let mut outcome = rec(RecordKind::Outcome, origin, action);
        outcome.outcome = Some(WriteOutcome::Ok);
        outcome
    }

    /// A rollback to 0 % asked for by `origin` and written: its intent and `ok` outcome.
    /// A new journal, in a folder dropped with the first value, holding
    /// one rollback that landed.
    fn with_landed_rollback(
        origin: RecordOrigin,
    ) -> (tempfile::TempDir, std::path::PathBuf, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::open(&path).unwrap();
        let mut intent = rec(RecordKind::Intent, origin.clone(), RecordAction::Rollback);
        intent.to = Some(0);
        j.append(&intent).unwrap();
        let mut outcome = ok_outcome(origin, RecordAction::Rollback);
        outcome.to = Some(0);
        j.append(&outcome).unwrap();
        (dir, path, j)
    }

    /// Appends bytes past the journal's writer, as a torn or foreign write would.
    fn append_raw(path: &Path, bytes: &[u8]) {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }

    /// A rollback whose `ok` outcome the data plane disproved afterwards
    /// (a `rollback_retrying` line follows it) has not landed: recovery
    /// hands it to the next process to finish.
    #[test]
    fn a_rollback_retried_after_its_outcome_is_still_to_finish() {
        let (_dir, path, mut j) = with_landed_rollback(RecordOrigin::Tui);
        assert!(Journal::recover(&path).unwrap().failed_rollback.is_none());
        let mut retrying = rec(
            RecordKind::Control,
            RecordOrigin::AutoRollback,
            RecordAction::RollbackRetrying,
        );
        retrying.to = Some(0);
        retrying.reason = Some("error rate".into());
        j.append(&retrying).unwrap();
        let r = Journal::recover(&path).unwrap();
        assert_eq!(
            r.failed_rollback.and_then(|f| f.reason).as_deref(),
            Some("error rate")
        );
    }

    #[test]
    fn append_and_recover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("j.jsonl");
        let mut j = Journal::open(&path).unwrap();
        let mut intent = rec(RecordKind::Intent, RecordOrigin::Tui, RecordAction::Advance);
        intent.from = Some(0);
        intent.to = Some(1);
        j.append(&intent).unwrap();
        let r = Journal::recover(&path).unwrap();
        assert_eq!(r.unfinished.as_ref().unwrap().to, Some(1));

        let mut outcome = ok_outcome(RecordOrigin::Tui, RecordAction::Advance);
        outcome.duration_ms = Some(12);
        j.append(&outcome).unwrap();
        j.append(&rec(
            RecordKind::Promoted,
            RecordOrigin::Autopilot,
            RecordAction::Promoted,
        ))
        .unwrap();
        append_raw(&path, b"{not json\n");
        let r = Journal::recover(&path).unwrap();
        assert!(r.unfinished.is_none());
        assert!(r.promoted_at.is_some());
        assert_eq!(r.bad_lines, 1);

        let all = Journal::read_all(&path).unwrap();
        assert_eq!(all.len(), 3);
        let line = std::fs::read_to_string(&path).unwrap();
        let first: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
        assert_eq!(first["kind"], "intent");
        assert_eq!(first["from"], 0);
        assert!(first["time"].as_str().unwrap().ends_with('Z'));
        assert!(first.get("forced").is_none());
    }

    #[test]
    fn one_writer_per_journal_and_the_second_is_told_who() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let first = Journal::open(&path).unwrap();
        // flock locks belong to the open file description, so a second open
        // in the same process is refused as another process's would be.
        match Journal::open(&path) {
            Err(OpenError::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Locked, got {:?}", other.map(|_| ())),
        }
        let err = Journal::open(&path).err().unwrap().to_string();
        assert!(
            err.contains(&format!("process {}", std::process::id())),
            "{err}"
        );
        let held = OpenError::Locked {
            path: path.clone(),
            pid: Some(42),
        };
        let mut ro = Journal::open_readonly(&path, held.to_string()).unwrap();
        let e = ro
            .append(&rec(
                RecordKind::Note,
                RecordOrigin::Tui,
                RecordAction::Note,
            ))
            .unwrap_err();
        assert!(e.to_string().contains("held by process 42"), "{e}");
        drop(first);
        assert!(Journal::open(&path).is_ok());
    }

    #[test]
    fn samples_and_breaches_are_not_decisions_to_recover() {
        let (_dir, path, mut j) = with_landed_rollback(RecordOrigin::AutoRollback);
        j.append(&rec(
            RecordKind::Breach,
            RecordOrigin::Guardrail,
            RecordAction::Cleared,
        ))
        .unwrap();
        let sample = crate::engine::sampling::Sample {
            green_pct: Some(0),
            ids: crate::engine::sampling::legacy_ids(),
            blue: vec![Some(1.0), None, None],
            green: vec![None, None, None],
            rps: [None, None],
            evidence: BTreeMap::new(),
            levels: BTreeMap::new(),
        };
        j.append(&Record::sample(SystemTime::now(), sample))
            .unwrap();
        let r = Journal::recover(&path).unwrap();
        assert_eq!(r.bad_lines, 0);
        assert_eq!(r.last.unwrap().kind, RecordKind::Outcome);
        append_raw(
            &path,
            b"{\"time\":\"2026-01-01T00:00:00Z\",\"kind\":\"intent\"}\n",
        );
        let r = Journal::recover(&path).unwrap();
        assert_eq!(r.bad_lines, 1, "an intent that names no action");
        assert!(r.unfinished.is_none());
        assert!(r.rolled_back.is_some());
        assert!(r.unfinished.is_none() && r.failed_rollback.is_none());
        assert_eq!(Journal::read_all(&path).unwrap().len(), 5);
    }

    #[test]
    fn a_missing_journal_is_an_empty_past() {
        let r = Journal::recover(Path::new("/nonexistent/cutover.jsonl")).unwrap();
        assert_eq!(r, Recovery::default());
    }
}
