//! Journals written by the version before the typed vocabulary (fixtures
//! under `tests/it/fixtures/`: a headless degrading demo run, and
//! `examples/gen_journal 100 10` with a drill) still load, write back the
//! same words, recover the same past, and report the same text.

use std::path::{Path, PathBuf};
use std::process::Command;

use cutover::engine::journal::{Journal, Record, RecordAction, RecordKind, RecordOrigin};
use cutover::engine::last_rollback::last_rollback;
use serde_json::Value;

const DEMO: &str = "journal_demo_degrading";
const GEN: &str = "journal_gen_11_cutovers";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures")
        .join(name)
}

/// The fixture copied into a fresh directory under `as_name` (the report
/// names the journal's file).
fn copy(name: &str, as_name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(as_name);
    std::fs::copy(fixture(&format!("{name}.jsonl")), &path).unwrap();
    (dir, path)
}

/// Every line reads as a record and writes back as the same JSON: no word
/// of the old version is lost or respelled.
#[test]
fn every_line_of_an_old_journal_reads_and_writes_back_the_same() {
    for name in [DEMO, GEN] {
        let text = std::fs::read_to_string(fixture(&format!("{name}.jsonl"))).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for line in text.lines() {
            let rec: Record = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let before: Value = serde_json::from_str(line).unwrap();
            let after = serde_json::to_value(&rec).unwrap();
            assert_eq!(after, before, "{name}");
            if let Some(a) = &rec.action {
                assert!(!matches!(a, RecordAction::Other(_)), "{a:?} is known");
                seen.insert(a.word().to_string());
            }
            if let Some(o) = &rec.origin {
                assert!(!matches!(o, RecordOrigin::Other(_)), "{o:?} is known");
            }
        }
        assert!(seen.contains("rollback_traffic_zero"), "{seen:?}");
    }
}

#[test]
fn an_old_journal_recovers_its_rollback() {
    let (_d, path) = copy(DEMO, "demo.jsonl");
    let r = Journal::recover(&path).unwrap();
    assert_eq!(r.bad_lines, 0);
    assert!(r.unfinished.is_none() && r.failed_rollback.is_none());
    let last = r.last.unwrap();
    assert_eq!(last.kind, RecordKind::Control);
    assert_eq!(last.action, Some(RecordAction::RollbackTrafficZero));
    let memory = r.rolled_back.expect("the rollback is remembered");
    assert!(
        memory.reason.starts_with("auto-rollback after 2"),
        "{memory:?}"
    );

    let l = last_rollback(&path).unwrap();
    assert_eq!(l.outcome.origin, Some(RecordOrigin::AutoRollback));
    assert!(!l.drill());
    assert_eq!(l.outcome.decision_to_router_ms, Some(151));
    assert_eq!(l.outcome.decision_to_zero_ms, Some(4999));
    let json = l.to_json();
    assert_eq!(json["origin"], "auto-rollback");
    assert_eq!(json["drill"], false);

    // The generated journal ends with a cutover rolled back by the
    // autopilot; its drills are never remembered as a rollback of green.
    let (_d, path) = copy(GEN, "gen.jsonl");
    let r = Journal::recover(&path).unwrap();
    assert_eq!(r.bad_lines, 0);
    let memory = r.rolled_back.unwrap();
    // Its outcome names no reason: remembered as a plain rollback.
    assert_eq!(memory.reason, "rollback");
    assert_eq!(memory.green_version.as_deref(), Some("v11"));
    let all = Journal::read_all(&path).unwrap();
    let drills = all
        .iter()
        .filter(|r| r.origin == Some(RecordOrigin::Drill))
        .count();
    assert_eq!(drills, 1);
}

/// `cutover report` on the old journals says what the old version said
/// (the `.report.md` files are that version's output).
#[test]
fn an_old_journal_reports_the_same_text() {
    for (name, file, index) in [(DEMO, "demo.jsonl", None), (GEN, "gen.jsonl", Some("10"))] {
        let (dir, _) = copy(name, file);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
        cmd.current_dir(dir.path());
        cmd.args(["report", "--journal", file]);
        if let Some(i) = index {
            cmd.args(["--index", i]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let golden = match index {
            Some(i) => format!("{name}.{i}.report.md"),
            None => format!("{name}.report.md"),
        };
        let want = std::fs::read_to_string(fixture(&golden)).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{golden}");
    }
}

/// The HTML page of an old journal, whose samples carry no evidence,
/// draws the charts it always drew and no evidence chart.
#[test]
fn an_old_journal_draws_no_evidence_chart() {
    let text = std::fs::read_to_string(fixture(&format!("{DEMO}.jsonl"))).unwrap();
    let page = crate::support::report_page(&text);
    assert_eq!(
        page.matches("<svg").count(),
        1 + 3,
        "the split and today's three"
    );
    assert!(!page.contains("log scale") && !page.contains("1/α"));
}

/// A journal from another version, with words this one never wrote, still
/// loads: the words are kept as written, and recovery reads past them.
#[test]
fn words_of_another_version_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let lines = [
        r#"{"time":"2026-01-01T00:00:00.000Z","kind":"intent","service":"s","user":"u","origin":"tui","action":"rollback","from":5,"to":0,"reason":"bad"}"#,
        r#"{"time":"2026-01-01T00:00:01.000Z","kind":"outcome","service":"s","user":"u","origin":"tui","action":"rollback","to":0,"reason":"bad","outcome":"ok"}"#,
        r#"{"time":"2026-01-01T00:00:02.000Z","kind":"control","service":"s","user":"u","origin":"guardian","action":"handed_over"}"#,
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let r = Journal::recover(&path).unwrap();
    assert_eq!(r.bad_lines, 0);
    let last = r.last.unwrap();
    assert_eq!(last.action, Some(RecordAction::Other("handed_over".into())));
    assert_eq!(last.origin, Some(RecordOrigin::Other("guardian".into())));
    assert_eq!(
        serde_json::to_value(&last).unwrap(),
        serde_json::from_str::<Value>(lines[2]).unwrap()
    );
    assert_eq!(r.rolled_back.unwrap().reason, "bad");
}
