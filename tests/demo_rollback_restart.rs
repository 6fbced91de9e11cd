//! The real binary: a demo that rolls back, then the autopilot started again
//! on the same journal. It must not send traffic back to the green that
//! failed (issue 7, point 3): it exits 4 and says why.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cutover::engine::journal::{Journal, RecordKind};

/// Runs `cutover demo --headless ...` with a hard timeout.
fn demo(journal: &Path, log: &Path, extra: &[&str], within: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["demo", "--headless", "--scenario", "degrading", "--journal"])
        .arg(journal)
        .arg("--log")
        .arg(log)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "no exit within {within:?}:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_second_run_on_a_rolled_back_journal_holds_with_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let log = dir.path().join("log");
    let first = demo(&journal, &log, &["--dwell", "2s"], Duration::from_secs(90));
    let text = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(3), "{text}");
    let before = Journal::read_all(&journal).unwrap().len();

    let second = demo(&journal, &log, &["--dwell", "1s"], Duration::from_secs(30));
    let text = String::from_utf8_lossy(&second.stdout);
    eprintln!("{text}");
    assert_eq!(second.status.code(), Some(4), "{text}");
    assert!(text.contains("outcome: held"), "{text}");
    assert!(text.contains("rolled back"), "{text}");
    let after = Journal::read_all(&journal).unwrap();
    assert!(
        after[before..].iter().all(|r| r.kind != RecordKind::Intent),
        "the second run moved traffic: {:#?}",
        &after[before..]
    );
}
