//! `cutover demo --headless` writing into a pipe that is full and never
//! read (as `| less` after the reader stopped scrolling): the engine and
//! the autopilot must not wait for it. The journal records the automatic
//! rollback in about the same time as with a reader.

use crate::support::serial;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cutover::engine::WriteOutcome;
use cutover::engine::journal::RecordAction;
use cutover::engine::journal::{Journal, RecordKind};

/// How long a run may take before the test gives up on it.
const LIMIT: Duration = Duration::from_secs(90);

/// Kills the child when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pipe whose write end is already full: (read end, write end).
fn full_pipe() -> (OwnedFd, OwnedFd) {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let (r, w) = rustix::pipe::pipe().unwrap();
    assert!(rustix::pipe::fcntl_setpipe_size(&w, 4096).unwrap() >= 4096);
    let flags = fcntl_getfl(&w).unwrap();
    fcntl_setfl(&w, flags | OFlags::NONBLOCK).unwrap();
    let buf = [b'x'; 512];
    loop {
        if let Err(e) = rustix::io::write(&w, &buf) {
            assert_eq!(e, rustix::io::Errno::AGAIN);
            break;
        }
    }
    // The child gets an ordinary blocking pipe that happens to be full.
    fcntl_setfl(&w, flags).unwrap();
    (r, w)
}

fn demo(dir: &Path, journal: &Path, stdout: Stdio) -> Guard {
    Guard(
        Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args([
                "demo",
                "--headless",
                "--scenario",
                "degrading",
                "--dwell",
                "2s",
            ])
            .arg("--journal")
            .arg(journal)
            .arg("--log")
            .arg(dir.join("log"))
            .stdout(stdout)
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .expect("start the binary"),
    )
}

/// Waits until the journal holds a completed automatic rollback; returns
/// how long that took.
fn rollback_journaled(journal: &Path, started: Instant) -> Duration {
    loop {
        let done = Journal::read_all(journal)
            .unwrap_or_default()
            .iter()
            .any(|r| {
                r.kind == RecordKind::Outcome
                    && r.action == Some(RecordAction::Rollback)
                    && r.outcome == Some(WriteOutcome::Ok)
            });
        if done {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < LIMIT,
            "no rollback journaled within {LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn journal_in(dir: &Path) -> PathBuf {
    dir.join("journal.jsonl")
}

#[test]
fn a_full_unread_stdout_never_delays_the_auto_rollback() {
    let _turn = serial::timed();
    // With a reader.
    let dir = tempfile::tempdir().unwrap();
    let journal = journal_in(dir.path());
    let started = Instant::now();
    let mut read = demo(dir.path(), &journal, Stdio::piped());
    let mut out = read.0.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let with_reader = rollback_journaled(&journal, started);
    drop(read);
    let text = reader.join().unwrap();
    assert!(text.contains("rollback"), "{text}");

    // Into a full pipe nobody reads.
    let dir = tempfile::tempdir().unwrap();
    let journal = journal_in(dir.path());
    let (keep_read_end_open, w) = full_pipe();
    let started = Instant::now();
    let mut stuck = demo(dir.path(), &journal, Stdio::from(w));
    let without = rollback_journaled(&journal, started);
    eprintln!(
        "auto-rollback journaled after {with_reader:?} with a reader, {without:?} into a full pipe"
    );
    assert!(
        without <= with_reader + Duration::from_secs(3),
        "a full pipe delayed the rollback: {without:?} vs {with_reader:?}"
    );
    // The autopilot still ends, saying how much output it dropped.
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = stuck.0.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "the autopilot did not exit");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, Some(3), "rolled back");
    let err = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert!(err.contains("standard output was not read"), "{err}");
    drop(keep_read_end_open);
}
