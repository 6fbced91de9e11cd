//! Journal recovery: how long reading back a long journal takes, and how
//! much memory it holds while doing so (streamed line by line with a cap,
//! so a journal of any size costs the same). Prints figures; not a test.
//!
//! cargo run --release --example bench_journal_recover [records, default 50000]

use std::io::Write;
use std::time::Instant;

use cutover::model::{Color, Metric, Verdict};

use cutover::engine::journal::{
    Journal, ReadingRecord, Record, RecordAction, RecordKind, RecordOrigin,
};

/// Peak resident set size of this process so far, from /proc.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let readings: Vec<ReadingRecord> = Metric::ALL
        .into_iter()
        .map(|metric| ReadingRecord {
            color: Color::Green,
            metric: metric.key().to_string(),
            value: Some(1.0),
            verdict: Verdict::Ok,
            bounds: vec!["≤ 5.00 %".into()],
            no_data: None,
        })
        .collect();
    for i in 0..n {
        let kind = if i % 2 == 0 {
            RecordKind::Intent
        } else {
            RecordKind::Outcome
        };
        let rollback = i % 10 < 2;
        let action = if rollback {
            RecordAction::Rollback
        } else {
            RecordAction::Advance
        };
        let mut r = Record::new(kind, "bench", RecordOrigin::Autopilot, action);
        r.from = Some(1);
        r.to = Some(if rollback { 0 } else { 5 });
        r.outcome = (kind == RecordKind::Outcome).then_some(cutover::engine::WriteOutcome::Ok);
        r.reason = Some("bench".into());
        r.readings = readings.clone();
        serde_json::to_writer(&mut out, &r).expect("write");
        out.write_all(b"\n").expect("write");
    }
    // The last change a rollback that landed: recovery must remember it.
    let mut rb = Record::new(
        RecordKind::Outcome,
        "bench",
        RecordOrigin::Tui,
        RecordAction::Rollback,
    );
    rb.to = Some(0);
    rb.outcome = Some(cutover::engine::WriteOutcome::Ok);
    rb.reason = Some("bench rollback".into());
    serde_json::to_writer(&mut out, &rb).expect("write");
    out.write_all(b"\n").expect("write");
    // One line far past the cap, as a corrupted journal might hold.
    out.write_all(&vec![b'x'; 8 << 20]).expect("write");
    out.write_all(b"\n").expect("write");
    drop(out);
    let bytes = std::fs::metadata(&path).expect("size").len();
    let before = peak_rss_kib();

    let t = Instant::now();
    let r = Journal::recover(&path).expect("recover");
    let took = t.elapsed();
    let after = peak_rss_kib();
    println!(
        "recover: {n} records + one 8 MiB line, {:.1} MiB in {:.0} ms ({:.0} MiB/s); \
         bad lines {}; rollback remembered: {}",
        bytes as f64 / f64::from(1 << 20),
        took.as_secs_f64() * 1000.0,
        bytes as f64 / f64::from(1 << 20) / took.as_secs_f64(),
        r.bad_lines,
        r.rolled_back.is_some()
    );
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "peak RSS: {:.1} MiB before, {:.1} MiB after recovery (+{:.1} MiB)",
            b as f64 / 1024.0,
            a as f64 / 1024.0,
            a.saturating_sub(b) as f64 / 1024.0
        );
    }
    let t = Instant::now();
    let e = Journal::recover("/dev/zero".as_ref()).unwrap_err();
    println!(
        "recover /dev/zero: refused in {:.3} ms: {e}",
        t.elapsed().as_secs_f64() * 1000.0
    );
}
