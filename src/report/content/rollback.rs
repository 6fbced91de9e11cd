//! The report's rollback section: each rollback decided in the cutover,
//! what the router answered and the measured times, then the drills that
//! rehearsed it.

use super::super::Cutover;
use super::super::doc::Block;
use super::super::entry::Entry;
use super::{TO_ROUTER, TO_ZERO, details, row, what, when, who};
use crate::engine::journal::{RecordAction, RecordKind};

pub(super) fn rollback(c: &Cutover) -> Vec<Block> {
    let mut out = Vec::new();
    let range = c.span.first..c.span.shown.end;
    let intents: Vec<usize> = range
        .clone()
        .filter(|&i| {
            let e = &c.entries[i];
            e.is(RecordKind::Intent) && e.action() == Some(RecordAction::Rollback) && !e.is_drill()
        })
        .collect();
    if intents.is_empty() {
        out.push(Block::Para("No rollback in this cutover.".into()));
    }
    for &i in &intents {
        out.push(rollback_table(c, i, range.end));
    }
    out.extend(drills(c));
    out
}

/// One rollback: decided when, why and by whom, what the router answered,
/// and the measured times journaled after it (up to `end`).
fn rollback_table(c: &Cutover, i: usize, end: usize) -> Block {
    let e = &c.entries[i];
    let mut rows = vec![
        row("Decided", &format!("{} by {}", when(c, e), who(e))),
        row("Reason", e.str("reason").unwrap_or("(none given)")),
        row(
            "Traffic",
            &format!(
                "green {} → {}",
                e.from().map_or("?".into(), |p| format!("{p} %")),
                e.to().map_or("?".into(), |p| format!("{p} %"))
            ),
        ),
        row("Forced", if e.forced() { "yes" } else { "no" }),
    ];
    // The outcome of this rollback, and any follow-up line that
    // carries its measured times (e.g. `rollback_traffic_zero`).
    let after: Vec<&Entry> = (i + 1..end)
        .map(|j| &c.entries[j])
        .take_while(|x| !(x.is(RecordKind::Intent) && x.action() == Some(RecordAction::Rollback)))
        .filter(|x| !x.is_sample() && !x.is_drill())
        .collect();
    let outcome = after
        .iter()
        .find(|x| x.is(RecordKind::Outcome) && x.action() == Some(RecordAction::Rollback));
    match outcome {
        Some(o) => {
            rows.push(row(
                "Router answered",
                &format!(
                    "{}: {}{}",
                    when(c, o),
                    o.str("outcome").unwrap_or("?"),
                    o.u64("duration_ms")
                        .map_or(String::new(), |ms| format!(", {ms} ms after the decision"))
                ),
            ));
            if let Some(d) = o.str("detail") {
                rows.push(row("Router detail", d));
            }
        }
        None => rows.push(row("Router answered", "no outcome journaled")),
    }
    for (key, label) in [
        (TO_ROUTER, "Decision to router confirmed"),
        (TO_ZERO, "Decision to green's traffic at zero"),
    ] {
        let v = after.iter().find_map(|x| x.u64(key));
        rows.push(row(
            label,
            &v.map_or("not journaled".into(), |ms| format!("{ms} ms")),
        ));
    }
    Block::Table {
        head: vec!["Rollback".into(), String::new()],
        rows,
    }
}

/// Rehearsals before this cutover ended: was the procedure tested?
fn drills(c: &Cutover) -> Vec<Block> {
    let mut out = Vec::new();
    let end = c.span.end.unwrap_or(c.span.shown.end.saturating_sub(1));
    let drills: Vec<&Entry> = c.entries[..=end.min(c.entries.len() - 1)]
        .iter()
        .filter(|e| e.is_drill())
        .collect();
    out.push(Block::Heading(3, "Rollback drills".into()));
    if drills.is_empty() {
        out.push(Block::Para(
            "No rollback drill is journaled before this cutover ended.".into(),
        ));
    } else {
        let rows = drills
            .iter()
            .rev()
            .take(10)
            .rev()
            .map(|e| vec![when(c, e), what(e), details(e).join("; ")])
            .collect();
        out.push(Block::Table {
            head: ["When", "What", "Detail"].map(String::from).to_vec(),
            rows,
        });
    }
    out
}
