//! The journal is read only from a regular file, line by line with a cap,
//! and a bad path gets an error that names the problem (issue 7, point 9).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cutover::engine::journal::{Journal, Record, RecordKind};
use cutover::engine::journal::{RecordAction, RecordOrigin};

#[test]
fn a_device_is_refused_at_once_for_writing_and_for_reading() {
    for dev in ["/dev/full", "/dev/zero"] {
        let started = Instant::now();
        let e = Journal::open(dev.as_ref())
            .err()
            .expect("a device is refused");
        assert!(
            e.to_string().contains("character device") && e.to_string().contains("regular file"),
            "{dev}: {e}"
        );
        let e = Journal::recover(dev.as_ref()).unwrap_err();
        assert!(e.to_string().contains("character device"), "{dev}: {e}");
        assert!(Journal::read_all(dev.as_ref()).is_err());
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}

#[test]
fn a_parent_that_is_a_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    for path in [file.join("j.jsonl"), file.join("deeper").join("j.jsonl")] {
        let e = Journal::open(&path).err().expect("refused");
        let text = e.to_string();
        assert!(
            text.contains("not-a-dir") && text.contains("is a file"),
            "{}: {text}",
            path.display()
        );
        assert!(!text.contains("File exists"), "{text}");
    }
}

#[test]
fn an_endless_line_costs_one_record_not_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    // 8 MiB without a newline, then a rollback that landed.
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..8 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(b"\n").unwrap();
    let mut rb = Record::new(
        RecordKind::Outcome,
        "svc",
        RecordOrigin::Tui,
        RecordAction::Rollback,
    );
    rb.outcome = Some(cutover::engine::WriteOutcome::Ok);
    rb.reason = Some("green error rate".into());
    rb.to = Some(0);
    f.write_all(&serde_json::to_vec(&rb).unwrap()).unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    let r = Journal::recover(&path).unwrap();
    assert_eq!(r.bad_lines, 1);
    assert_eq!(
        r.rolled_back.expect("remembered").reason,
        "green error rate"
    );
    assert_eq!(Journal::read_all(&path).unwrap().len(), 1);
}

#[test]
fn the_binary_says_why_it_cannot_use_dev_full() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["demo", "--headless", "--journal", "/dev/full", "--log"])
        .arg(dir.path().join("log"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cutover demo --journal /dev/full did not exit within 20s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("/dev/full") && err.contains("regular file"),
        "{err}"
    );
}
