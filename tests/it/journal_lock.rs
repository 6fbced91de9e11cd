//! Two real processes on one journal (issue 6): while one `cutover demo
//! --headless` moves traffic, a second on the same journal moves nothing
//! and names the process that holds the service.

use crate::support::serial;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cutover::engine::journal::{Journal, RecordKind};

/// The first cockpit; killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo(journal: &Path, log: &Path, dwell: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.args(["demo", "--headless", "--dwell", dwell, "--journal"])
        .arg(journal)
        .arg("--log")
        .arg(log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn traffic_records(journal: &Path) -> usize {
    Journal::read_all(journal)
        .unwrap()
        .iter()
        .filter(|r| r.kind == RecordKind::Intent)
        .count()
}

#[test]
fn a_second_cockpit_on_a_held_journal_moves_nothing_and_names_the_holder() {
    let _turn = serial::heavy();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("J");
    // A long dwell: the first cockpit takes its first step and stays there.
    let first = Running(
        demo(&journal, &dir.path().join("first.log"), "1h")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !journal.exists() || traffic_records(&journal) == 0 {
        assert!(Instant::now() < deadline, "the first cockpit never moved");
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = traffic_records(&journal);

    let mut second = demo(&journal, &dir.path().join("second.log"), "1s")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while second.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = second.kill();
            panic!("the second cockpit did not give up within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = second.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!("held by process {}", first.0.id())),
        "the holder is not named: {said}"
    );
    assert!(said.contains("nothing was changed"), "{said}");
    // Only the first cockpit's step, still, and the first one still runs.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(traffic_records(&journal), before);
}
