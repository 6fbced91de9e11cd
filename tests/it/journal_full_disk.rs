//! The journal on a full disk (issue 16, point 10): a refused append must
//! not leave a torn line for the next record to be glued onto. The disk is
//! a real one that fills: a 64 KiB tmpfs mounted for the test (root only).

use std::path::{Path, PathBuf};
use std::process::Command;

use cutover::engine::journal::{Journal, ReadingRecord, Record, RecordKind};
use cutover::engine::journal::{RecordAction, RecordOrigin};
use cutover::model::{Color, Metric, Verdict};

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (said on stderr) when this machine refuses the mount; a
    /// failure under `CUTOVER_REQUIRE_SERVERS`.
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let refused = match out {
            Ok(o) if o.status.success() => return Some(SmallDisk { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(
            std::env::var_os("CUTOVER_REQUIRE_SERVERS").is_none(),
            "a small tmpfs is required (CUTOVER_REQUIRE_SERVERS is set) but mount was refused: {refused}"
        );
        eprintln!(
            "SKIPPED: cannot mount a small tmpfs here ({refused}); run as root to test a full disk"
        );
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// A rollback's intent with its readings: about 1.5 KB, as a real one.
fn intent(n: usize) -> Record {
    let mut r = Record::new(
        RecordKind::Intent,
        "chat-model",
        RecordOrigin::AutoRollback,
        RecordAction::Rollback,
    );
    r.from = Some(25);
    r.to = Some(0);
    r.reason = Some(format!("green error rate 7.9 % for 2 polls (record {n})"));
    for color in Color::BOTH {
        for metric in Metric::ALL {
            r.readings.push(ReadingRecord {
                color,
                metric: metric.key().to_string(),
                value: Some(n as f64 + 0.25),
                verdict: Verdict::Breach,
                bounds: vec!["≤ 5.00 %".into(), "within +200 ms of blue".into()],
                no_data: None,
            });
        }
    }
    r
}

fn fill(path: &PathBuf, bytes: usize) {
    std::fs::write(path, vec![b'x'; bytes]).unwrap();
}

#[test]
fn a_full_disk_never_glues_two_records() {
    let Some(disk) = SmallDisk::mount("64k") else {
        return;
    };
    let path = disk.path().join("journal.jsonl");
    let filler = disk.path().join("filler");
    // Room to free later: the disk is full of journal, not of filler.
    fill(&filler, 16 * 1024);
    let mut journal = Journal::open(&path).unwrap();
    let mut written = Vec::new();
    let mut refused = 0;
    for n in 0..200 {
        let r = intent(n);
        match journal.append(&r) {
            Ok(()) => written.push(r),
            Err(e) => {
                refused += 1;
                eprintln!("append {n} refused: {e}");
                if refused == 3 {
                    break;
                }
            }
        }
    }
    assert!(refused > 0, "the disk never filled");
    let full_size = std::fs::metadata(&path).unwrap().len();
    // The space comes back (an operator cleans up); the next record is the
    // one that matters: the rollback's intent with its readings.
    std::fs::remove_file(&filler).unwrap();
    for n in 1000..1003 {
        let r = intent(n);
        journal.append(&r).expect("room again");
        written.push(r);
    }
    drop(journal);

    let text = std::fs::read(&path).unwrap();
    eprintln!(
        "{} records appended, {refused} refused at {full_size} bytes; the file holds {} bytes",
        written.len(),
        text.len()
    );
    let back = Journal::read_all(&path).unwrap();
    let recovery = Journal::recover(&path).unwrap();
    assert_eq!(recovery.bad_lines, 0, "a torn or glued line");
    assert_eq!(back.len(), written.len(), "every record that was appended");
    for (got, want) in back.iter().zip(&written) {
        assert_eq!(got.reason, want.reason);
        assert_eq!(got.readings, want.readings);
    }
    assert!(text.ends_with(b"\n"));
}
