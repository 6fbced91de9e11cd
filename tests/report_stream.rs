//! `cutover report` streams the journal (issue 16, point 7): of a journal
//! of many cutovers it keeps the entries of the one reported (and the
//! drills before it), and says exactly what reading it whole said.

#[path = "support/journal_gen.rs"]
mod journal_gen;

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
