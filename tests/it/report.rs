//! `cutover report` on the journal of a real degrading demo run: the real
//! binary, the real engine and the simulated fleet, then the report of
//! what the journal kept.

use crate::support::serial;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cutover::engine::journal::RecordAction;
use cutover::engine::journal::{Journal, RecordKind};

/// Runs the binary with `args`, killed if it outlives `limit`.
fn cutover(args: &[&str], extra: &[&Path], limit: Duration) -> Output {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "cutover {args:?} still running after {limit:?}\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_report_of_a_degrading_demo_names_the_breach_the_rollback_and_its_times() {
    let _turn = serial::heavy();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let log = dir.path().join("log");
    let demo = cutover(
        &[
            "demo",
            "--headless",
            "--scenario",
            "degrading",
            "--dwell",
            "2s",
            "--log",
        ],
        &[&log, Path::new("--journal"), &journal],
        Duration::from_secs(120),
    );
    assert_eq!(
        demo.status.code(),
        Some(3),
        "the degrading demo rolls back\n{}",
        String::from_utf8_lossy(&demo.stdout)
    );

    // What the journal keeps for the report, and what its readers skip.
    let records = Journal::read_all(&journal).unwrap();
    let samples = records
        .iter()
        .filter(|r| r.kind == RecordKind::Sample)
        .count();
    assert!(samples >= 3, "{samples} samples");
    assert!(records.iter().any(|r| r.kind == RecordKind::Breach));
    let advance = records
        .iter()
        .find(|r| r.kind == RecordKind::Intent && r.action == Some(RecordAction::Advance))
        .unwrap();
    assert!(
        !advance.readings.is_empty(),
        "every decision keeps its readings"
    );
    let recovery = Journal::recover(&journal).unwrap();
    assert_eq!(recovery.bad_lines, 0);
    assert!(recovery.rolled_back.is_some());
    assert_ne!(recovery.last.unwrap().kind, RecordKind::Sample);

    let html = dir.path().join("report.html");
    let out = cutover(
        &["report", "--log"],
        &[
            &log,
            Path::new("--journal"),
            &journal,
            Path::new("--html"),
            &html,
        ],
        Duration::from_secs(30),
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{md}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{md}");
    let rollback = records
        .iter()
        .find(|r| r.kind == RecordKind::Intent && r.action == Some(RecordAction::Rollback))
        .unwrap();
    let reason = rollback.reason.as_deref().unwrap();
    for want in [
        "# Cutover report: demo-chat-model (degrading), rolled back",
        "## Timeline",
        "rollback",
        "## Readings at each decision",
        "## Breaches",
        "into breach at",
        "BREACH",
        "## Rollback",
        "auto-rollback after",
        "Decision to router confirmed",
        "### What testing would have caught it",
    ] {
        assert!(md.contains(want), "missing {want:?}");
    }
    // The reason, as journaled (Markdown escapes its underscores).
    let first_words: String = reason.chars().take(40).collect();
    assert!(md.contains(&first_words), "the reason {reason:?}");
    // Measured times, where this cockpit journals them.
    for key in [cutover::report::TO_ROUTER, cutover::report::TO_ZERO] {
        if let Some(ms) = records
            .iter()
            .find_map(|r| serde_json::to_value(r).ok()?.get(key)?.as_u64())
        {
            assert!(md.contains(&format!("{ms} ms")), "{key} = {ms}");
        }
    }

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.len() < 400_000, "{} bytes", page.len());
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(!page.contains("src=") && !page.contains("href="));
    assert!(!page.contains("<script") && !page.contains("@import") && !page.contains("url("));
    // The demo tests its error rate with evidence: that metric's chart is
    // followed by one of its evidence.
    assert_eq!(
        page.matches("<svg").count(),
        1 + cutover::model::Metric::ALL.len() + 1,
        "one chart for the split, one per metric and one of the error rate's evidence"
    );
    for metric in cutover::model::Metric::ALL {
        assert!(page.contains(metric.key()), "{metric:?} chart");
    }
}

#[test]
fn a_journal_without_a_cutover_is_a_clear_error() {
    let _turn = serial::heavy();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    std::fs::write(
        &journal,
        "{\"time\":\"2026-01-01T00:00:00.000Z\",\"kind\":\"start\",\"service\":\"s\",\"user\":\"u\",\"origin\":\"cli\",\"action\":\"start\"}\n",
    )
    .unwrap();
    let out = cutover(
        &["report", "--log"],
        &[&dir.path().join("log"), Path::new("--journal"), &journal],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no cutover"), "{err}");
}
