//! A long journal for the streaming reports: many cutovers of `per` sample
//! lines each (start, advance to 5 %, the samples, a breach, a rollback
//! with its readings, its traffic-at-zero record, a drill now and then),
//! then a short last cutover. Shared by tests/it/report_stream.rs and
//! examples/gen_journal.rs (which makes the million-line one).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use cutover::engine::WriteOutcome;
use cutover::engine::journal::{ReadingRecord, Record, RecordKind};
use cutover::engine::journal::{RecordAction, RecordOrigin};
use cutover::engine::sampling::Sample;
use cutover::model::{Color, Metric, Verdict};

/// What was written.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub lines: usize,
    pub samples: usize,
    pub cutovers: usize,
    /// Lines of the last cutover as `report` shows it (with its lead-in).
    pub last_lines: usize,
}

fn line(out: &mut impl Write, r: &Record) {
    serde_json::to_writer(&mut *out, r).unwrap();
    out.write_all(b"\n").unwrap();
}

fn readings(err: f64) -> Vec<ReadingRecord> {
    Metric::ALL
        .into_iter()
        .flat_map(|m| {
            let green_errors = move |c| m == Metric::ErrorRate && c == Color::Green;
            Color::BOTH.map(|c| ReadingRecord {
                color: c,
                metric: m.key().to_string(),
                value: Some(if green_errors(c) { err } else { 1.0 }),
                verdict: if err > 5.0 && green_errors(c) {
                    Verdict::Breach
                } else {
                    Verdict::Ok
                },
                bounds: vec!["≤ 5.00 %".into()],
                no_data: None,
            })
        })
        .collect()
}

/// A record `step` ms after the last, for cutover `n`.
fn at(
    t: &mut SystemTime,
    n: usize,
    kind: RecordKind,
    origin: RecordOrigin,
    action: RecordAction,
    step: u64,
) -> Record {
    *t += Duration::from_millis(step);
    let mut r = Record::at(*t, kind, "chat-model", origin, action);
    r.green_version = Some(format!("v{n}"));
    r
}

/// One cutover from a start to its rollback, `samples` sample lines long.
fn cutover<W: Write>(out: &mut W, t: &mut SystemTime, n: usize, samples: usize) -> usize {
    let mut lines = 0;
    let mut w = |out: &mut W, r: Record| {
        line(out, &r);
        lines += 1;
    };
    let mut start = at(
        t,
        n,
        RecordKind::Start,
        RecordOrigin::Tui,
        RecordAction::Start,
        1000,
    );
    start.detail = Some("router nginx, source prometheus".into());
    w(out, start);
    let mut intent = at(
        t,
        n,
        RecordKind::Intent,
        RecordOrigin::Tui,
        RecordAction::Advance,
        2000,
    );
    (intent.from, intent.to, intent.readings) = (Some(0), Some(5), readings(0.4));
    w(out, intent);
    let mut landed = at(
        t,
        n,
        RecordKind::Outcome,
        RecordOrigin::Tui,
        RecordAction::Advance,
        40,
    );
    (landed.from, landed.to, landed.outcome) = (Some(0), Some(5), Some(WriteOutcome::Ok));
    w(out, landed);
    for i in 0..samples {
        *t += Duration::from_secs(15);
        let err = 0.4 + (i % 7) as f64 / 10.0;
        let s = Sample {
            green_pct: Some(5),
            ids: cutover::engine::sampling::legacy_ids(),
            blue: vec![Some(410.0 + (i % 13) as f64), Some(0.5), Some(0.93)],
            green: vec![Some(420.0 + (i % 11) as f64), Some(err), Some(0.92)],
            rps: [Some(95.0), Some(5.0)],
            evidence: Default::default(),
            levels: Default::default(),
        };
        w(out, Record::sample(*t, s));
    }
    let mut breach = at(
        t,
        n,
        RecordKind::Breach,
        RecordOrigin::Guardrail,
        RecordAction::Breach,
        1000,
    );
    breach.to = Some(5);
    breach.reason = Some("green error rate 7.20 % BREACH (≤ 5.00 %)".into());
    w(out, breach);
    let mut rb = at(
        t,
        n,
        RecordKind::Intent,
        RecordOrigin::AutoRollback,
        RecordAction::Rollback,
        2000,
    );
    (rb.from, rb.to, rb.readings) = (Some(5), Some(0), readings(7.2));
    rb.reason = Some(format!("cutover {n}: green error rate 7.20 % for 2 polls"));
    w(out, rb);
    let mut done = at(
        t,
        n,
        RecordKind::Outcome,
        RecordOrigin::AutoRollback,
        RecordAction::Rollback,
        80,
    );
    (done.to, done.outcome, done.duration_ms) = (Some(0), Some(WriteOutcome::Ok), Some(80));
    done.decision_to_router_ms = Some(80);
    w(out, done);
    let mut zero = at(
        t,
        n,
        RecordKind::Control,
        RecordOrigin::AutoRollback,
        RecordAction::RollbackTrafficZero,
        3000,
    );
    zero.decision_to_zero_ms = Some(3080);
    w(out, zero);
    if n.is_multiple_of(10) {
        let mut drill = at(
            t,
            n,
            RecordKind::Outcome,
            RecordOrigin::Drill,
            RecordAction::Rollback,
            60_000,
        );
        (drill.to, drill.outcome) = (Some(0), Some(WriteOutcome::Ok));
        drill.decision_to_router_ms = Some(41);
        w(out, drill);
    }
    lines
}

/// Writes `samples` sample lines in cutovers of `per` each, then a short
/// last cutover without samples (as in issue 16).
pub fn write(path: &Path, samples: usize, per: usize) -> Written {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let (mut lines, mut n, mut written) = (0, 0, 0);
    while written < samples {
        n += 1;
        let k = per.min(samples - written);
        lines += cutover(&mut out, &mut t, n, k);
        written += k;
    }
    n += 1;
    let last = cutover(&mut out, &mut t, n, 0);
    lines += last;
    out.flush().unwrap();
    Written {
        lines,
        samples: written,
        cutovers: n,
        last_lines: last,
    }
}
