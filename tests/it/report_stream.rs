//! `cutover report` streams the journal (issue 16, point 7): of a journal
//! of many cutovers it keeps the entries of the one reported (and the
//! drills before it), and says exactly what reading it whole said.

use crate::support::journal_gen;

use cutover::cli::report_read;
use cutover::report::{self, Cutover};

#[test]
fn streaming_keeps_only_the_cutover_reported_and_says_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let w = journal_gen::write(&path, 20_000, 500);
    eprintln!("{w:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    let (all, bad) = report::parse(&text);
    assert_eq!(bad, 0);
    assert_eq!(all.len(), w.lines);

    let last = report_read::read(&path, None, "j.jsonl").unwrap();
    assert_eq!(last.of, w.cutovers);
    assert_eq!(last.number, w.cutovers);
    // The last cutover's lines and at most one drill before it: not the
    // 20,000 samples before.
    assert!(
        last.entries.len() <= w.last_lines + report::DRILLS_KEPT,
        "{} entries kept",
        last.entries.len()
    );
    assert!(last.entries.iter().all(|e| !e.is_sample()));

    for index in [None, Some(1), Some(10), Some(w.cutovers - 1)] {
        let whole = Cutover::select(&all, index, "j.jsonl").unwrap();
        let read = report_read::read(&path, index, "j.jsonl").unwrap();
        let streamed = Cutover::kept(
            &read.entries,
            read.span.clone(),
            read.number,
            read.of,
            "j.jsonl",
        );
        assert_eq!(
            report::markdown(&streamed),
            report::markdown(&whole),
            "cutover {index:?}"
        );
        assert_eq!(
            report::html(&streamed).unwrap(),
            report::html(&whole).unwrap(),
            "cutover {index:?}"
        );
        assert!(read.entries.len() < 500 + 20, "{}", read.entries.len());
    }
    let e = report_read::read(&path, Some(w.cutovers + 1), "j.jsonl")
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains(&format!("holds {} cutover(s)", w.cutovers)),
        "{e}"
    );
}

/// Runs `cutover ARGS` under `/usr/bin/time`; its output and its peak
/// resident set in MB (`None` without `/usr/bin/time`).
fn measured(args: &[&std::ffi::OsStr]) -> (std::process::Output, Option<u64>) {
    let timed = std::path::Path::new("/usr/bin/time").exists();
    let mut c = if timed {
        let mut c = std::process::Command::new("/usr/bin/time");
        c.args(["-f", "maxrss_kb=%M", env!("CARGO_BIN_EXE_cutover")]);
        c
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
    };
    let out = c.args(args).output().unwrap();
    let kb = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb=")?.trim().parse::<u64>().ok());
    (out, kb.map(|k| k / 1024))
}

/// `cutover report` and `cutover status` on a long journal (400,000
/// samples, 51 MB) stay small in memory: before, report parsed every line
/// into a JSON value (gigabytes for a 170 MB journal) and status read
/// every record.
#[test]
fn report_and_status_on_a_long_journal_stay_small() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let w = journal_gen::write(&path, 400_000, 2_000);
    let config = dir.path().join("cutover.toml");
    std::fs::write(
        &config,
        format!(
            "[service]\nname = \"chat-model\"\n[source]\nkind = \"demo\"\ninterval = \"1s\"\ntimeout = \"500ms\"\n\
             [router]\nkind = \"demo\"\n[journal]\npath = {:?}\n",
            path.display().to_string()
        ),
    )
    .unwrap();
    let log = dir.path().join("log");
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    let (report, report_mb) = measured(&[
        os("--log"),
        log.as_os_str(),
        os("report"),
        os("--journal"),
        path.as_os_str(),
    ]);
    let md = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    assert!(
        md.contains(&format!("Cutover {} of {}", w.cutovers, w.cutovers)),
        "{md}"
    );
    let (status, status_mb) = measured(&[
        os("--log"),
        log.as_os_str(),
        os("--config"),
        config.as_os_str(),
        os("status"),
    ]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("rollback  last at"), "{text}");
    let (Some(after_report), Some(after_status)) = (report_mb, status_mb) else {
        eprintln!("SKIPPED the memory figures: no /usr/bin/time");
        return;
    };
    eprintln!(
        "{} MB journal: report peak RSS {after_report} MB, status {after_status} MB",
        std::fs::metadata(&path).unwrap().len() / 1_000_000
    );
    assert!(after_report < 100, "report: {after_report} MB");
    assert!(after_status < 100, "status: {after_status} MB");
}
