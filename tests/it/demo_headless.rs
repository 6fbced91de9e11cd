//! `cutover demo --headless` through each scenario: the real binary, the
//! real engine, the simulated fleet over loopback HTTP, and the journal.

use crate::support::{demo, serial};
use std::time::{Duration, Instant};

use cutover::engine::WriteOutcome;
use cutover::engine::journal::RecordAction;
use cutover::engine::journal::RecordOrigin;
use cutover::engine::journal::{Journal, RecordKind};
use cutover::model::{Color, Verdict};

struct Run {
    code: i32,
    stdout: String,
    elapsed: Duration,
    journal: Vec<cutover::engine::journal::Record>,
}

fn demo(scenario: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let started = Instant::now();
    let mut cmd = demo::headless(scenario, &journal, &dir.path().join("log"));
    cmd.args(["--dwell", "2s"]);
    let out = demo::run_within(cmd, Duration::from_secs(120));
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "--- {scenario} ({elapsed:?}) ---\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        elapsed,
        journal: Journal::read_all(&journal).unwrap(),
    }
}

#[test]
fn healthy_is_promoted() {
    let _turn = serial::heavy();
    let r = demo("healthy");
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("outcome: promoted"));
    let advances: Vec<u8> = r
        .journal
        .iter()
        .filter(|x| {
            x.kind == RecordKind::Outcome
                && x.action == Some(RecordAction::Advance)
                && x.outcome == Some(WriteOutcome::Ok)
        })
        .filter_map(|x| x.to)
        .collect();
    assert_eq!(advances, vec![1, 5, 25, 50, 100]);
    assert!(r.journal.iter().any(|x| x.kind == RecordKind::Promoted));
    assert!(r.elapsed < Duration::from_secs(90));
}

#[test]
fn degrading_rolls_back_on_its_own_with_the_readings() {
    let _turn = serial::heavy();
    let r = demo("degrading");
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(r.elapsed < Duration::from_secs(60), "took {:?}", r.elapsed);
    let intent = r
        .journal
        .iter()
        .find(|x| x.kind == RecordKind::Intent && x.action == Some(RecordAction::Rollback))
        .expect("a rollback intent");
    assert_eq!(intent.origin, Some(RecordOrigin::AutoRollback));
    assert_eq!(intent.to, Some(0));
    assert!(intent.from.unwrap() >= 25, "{intent:?}");
    let breaching: Vec<_> = intent
        .readings
        .iter()
        .filter(|x| x.color == Color::Green && x.verdict == Verdict::Breach)
        .collect();
    // Green's error rate is judged with evidence too (the demo's test):
    // when it crosses its level before a threshold's streak completes, the
    // rollback is on evidence, which the intent keeps.
    let on_evidence = intent
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("on evidence"));
    if on_evidence {
        let e = intent.evidence.get("error_rate").copied().unwrap_or(0.0);
        let level = 1.0 / cutover::app::demo_error_rate_test().alpha;
        assert!(e >= level, "evidence {e} at the rollback: {intent:?}");
    } else {
        assert!(!breaching.is_empty(), "{:?}", intent.readings);
    }
    assert!(
        breaching
            .iter()
            .all(|x| x.value.is_some() && !x.bounds.is_empty())
    );
    let outcome = r
        .journal
        .iter()
        .find(|x| x.kind == RecordKind::Outcome && x.action == Some(RecordAction::Rollback))
        .unwrap();
    assert_eq!(outcome.outcome, Some(WriteOutcome::Ok));
    assert!(outcome.duration_ms.is_some());
}

#[test]
fn slow_quality_is_caught_against_blue() {
    let _turn = serial::heavy();
    let r = demo("slow-quality");
    assert_eq!(r.code, 3, "{}", r.stdout);
    let intent = r
        .journal
        .iter()
        .find(|x| x.kind == RecordKind::Intent && x.action == Some(RecordAction::Rollback))
        .expect("a rollback intent");
    assert!(
        intent.reason.as_deref().unwrap_or("").contains("quality"),
        "{intent:?}"
    );
}
