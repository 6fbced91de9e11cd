//! The report's evidence: the readings journaled at each decision, and the
//! guardrail breaches.

use super::super::Cutover;
use super::super::doc::Block;
use super::super::metrics;
use super::{clock, offset, what, who};
use crate::engine::journal::{ReadingRecord, RecordAction, RecordKind};
use crate::model::{Color, Verdict};

pub(super) fn decisions(c: &Cutover) -> Vec<Block> {
    let mut out = Vec::new();
    for e in c.shown_entries() {
        let Some(r) = &e.record else { continue };
        if r.readings.is_empty() || r.kind == RecordKind::Breach {
            continue;
        }
        out.push(Block::Heading(
            3,
            format!(
                "{} ({}) {}, by {}",
                clock(e.wall),
                offset(c, e),
                what(e),
                who(e)
            ),
        ));
        out.push(readings_table(&r.readings));
    }
    if out.is_empty() {
        out.push(Block::Para(
            "No decision in this cutover journaled its readings.".into(),
        ));
    }
    out
}

fn readings_table(readings: &[ReadingRecord]) -> Block {
    let mut ids: Vec<&str> = Vec::new();
    for r in readings {
        if !ids.contains(&r.metric.as_str()) {
            ids.push(&r.metric);
        }
    }
    let cell = |color: Color, id: &str| {
        readings
            .iter()
            .find(|r| r.color == color && r.metric == id)
            .map_or("—".into(), reading)
    };
    Block::Table {
        head: ["Metric", "Blue", "Green"].map(String::from).to_vec(),
        rows: ids
            .iter()
            .map(|&m| {
                vec![
                    metrics::label(m),
                    cell(Color::Blue, m),
                    cell(Color::Green, m),
                ]
            })
            .collect(),
    }
}

/// `7.20 % BREACH (≤ 5.00 %)`, `no data (first poll) NO DATA`.
fn reading(r: &ReadingRecord) -> String {
    let value = match (r.value, &r.no_data) {
        (Some(v), _) => metrics::format(&r.metric, v),
        (None, Some(why)) => format!("no data ({why})"),
        (None, None) => "no data".into(),
    };
    let verdict = r.verdict.word();
    if r.bounds.is_empty() {
        format!("{value} {verdict}")
    } else {
        format!("{value} {verdict} ({})", r.bounds.join(", "))
    }
}

pub(super) fn breaches(c: &Cutover) -> Vec<Block> {
    let mut items = Vec::new();
    for e in c.shown_entries() {
        let Some(r) = &e.record else { continue };
        if r.kind == RecordKind::Breach {
            let what = if e.action() == Some(RecordAction::Breach) {
                format!("into breach at {} % green", e.to().unwrap_or(0))
            } else {
                "cleared".into()
            };
            // The source's own words for it, where it gave any (a
            // CloudWatch alarm's reason).
            let detail = e
                .str("detail")
                .map(|d| format!("; {d}"))
                .unwrap_or_default();
            items.push(format!(
                "{} ({}) {what}: {}{detail}",
                clock(e.wall),
                offset(c, e),
                e.str("reason").unwrap_or("")
            ));
        } else {
            for rd in r.readings.iter().filter(|rd| rd.verdict == Verdict::Breach) {
                items.push(format!(
                    "{} ({}) at the decision {}: {} {} {}",
                    clock(e.wall),
                    offset(c, e),
                    what(e),
                    rd.color,
                    metrics::label(&rd.metric),
                    reading(rd)
                ));
            }
        }
    }
    if items.is_empty() {
        return vec![Block::Para(
            "No guardrail breach was journaled in this cutover.".into(),
        )];
    }
    let total = items.len();
    if total <= 2 * BREACHES_LISTED {
        return vec![Block::List(items)];
    }
    // A metric that flapped for days journals thousands: the first and the
    // last tell the story, the count the rest.
    let last = items.split_off(total - BREACHES_LISTED);
    items.truncate(BREACHES_LISTED);
    items.push(format!(
        "… {} more not listed …",
        total - 2 * BREACHES_LISTED
    ));
    items.extend(last);
    vec![
        Block::Para(format!(
            "{total} breach lines; the first and the last {BREACHES_LISTED} are listed."
        )),
        Block::List(items),
    ]
}

/// Breach lines listed from each end of a long list.
pub const BREACHES_LISTED: usize = 25;
