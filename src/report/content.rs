//! What the report says, as blocks: summary, timeline, readings at each
//! decision, breaches, the rollback, and blank sections for the review.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::Cutover;
use super::doc::Block;
use super::entry::Entry;
use crate::engine::journal::{RecordAction, RecordKind};

mod decisions;
mod rollback;

use decisions::{breaches, decisions};
use rollback::rollback;

/// Fields every line may carry, shown in their own words; any other field
/// (a gate's result, an alert's target, a measured time) is listed as
/// `key: value` so that nothing a newer cockpit journals is hidden.
const KNOWN: [&str; 17] = [
    "time",
    "kind",
    "service",
    "user",
    "origin",
    "action",
    "from",
    "to",
    "reason",
    "forced",
    "outcome",
    "detail",
    "duration_ms",
    "readings",
    "green_version",
    "s",
    "evidence",
];

/// Timings of a rollback, journaled by cockpits that measure them.
pub const TO_ROUTER: &str = "decision_to_router_ms";
pub const TO_ZERO: &str = "decision_to_zero_ms";

/// How the cutover ended, in a few words.
pub fn outcome(c: &Cutover) -> String {
    let shown = c.shown_entries();
    if let Some(end) = c.span.end.map(|i| &c.entries[i]) {
        if end.is(RecordKind::Promoted) {
            return "promoted".into();
        }
        return match end.action() {
            Some(RecordAction::Rollback) => "rolled back".into(),
            a => format!(
                "ended at 0 % ({})",
                a.as_ref().map_or("", RecordAction::word)
            ),
        };
    }
    if shown.iter().any(|e| e.is(RecordKind::Promoted)) {
        return "promoted".into();
    }
    match last_split(c) {
        Some(p) => format!("in progress (the journal ends with green at {p} %)"),
        None => "in progress".into(),
    }
}

fn last_split(c: &Cutover) -> Option<u8> {
    c.entries[c.span.first..c.span.shown.end]
        .iter()
        .filter(|e| e.landed() && !e.is_drill())
        .filter_map(Entry::to)
        .next_back()
}

fn service<'a>(c: &Cutover<'a>) -> &'a str {
    c.shown_entries()
        .iter()
        .find_map(|e| e.str("service").filter(|s| !s.is_empty()))
        .unwrap_or("(unnamed service)")
}

/// `Cutover report: chat-model, rolled back`.
pub fn title(c: &Cutover) -> String {
    format!("Cutover report: {}, {}", service(c), outcome(c))
}

pub fn blocks(c: &Cutover, charts: Vec<String>) -> Vec<Block> {
    let mut b = Vec::new();
    let first = &c.entries[c.span.first];
    let service = service(c);
    b.push(Block::Heading(1, title(c)));
    b.push(Block::Para(format!(
        "Cutover {} of {} in the journal {} (lines {}–{}). Times are UTC; +m:ss counts from the first step.",
        c.number,
        c.of,
        c.source,
        c.shown_entries().first().map_or(0, |e| e.line),
        c.shown_entries().last().map_or(0, |e| e.line),
    )));
    b.push(summary(c, service, first));
    if !charts.is_empty() {
        b.push(Block::Heading(2, "Charts".into()));
        let mut about = String::from(
            "Green's share of traffic, then each metric for both colours, from the journal's samples and the readings at each decision. The red line is the rollback.",
        );
        if !super::evidence::tested_ids(c.shown_entries()).is_empty() {
            about.push_str(
                " After a metric with a test, its evidence that green is worse than blue (log scale): green is found worse where it reaches the dashed line, 1/α; dots mark the decisions taken on it.",
            );
        }
        b.push(Block::Para(about));
        b.extend(charts.into_iter().map(Block::Chart));
    }
    b.push(Block::Heading(2, "Timeline".into()));
    b.push(timeline(c));
    b.push(Block::Heading(2, "Readings at each decision".into()));
    b.extend(decisions(c));
    b.push(Block::Heading(2, "Breaches".into()));
    b.extend(breaches(c));
    b.push(Block::Heading(2, "Rollback".into()));
    b.extend(rollback(c));
    b.push(Block::Heading(2, "Review".into()));
    for h in [
        "What happened",
        "What testing would have caught it",
        "Follow-ups",
    ] {
        b.push(Block::Heading(3, h.into()));
        b.push(Block::Emphasis("(to be written)".into()));
    }
    b
}

fn summary(c: &Cutover, service: &str, first: &Entry) -> Block {
    let shown = c.shown_entries();
    let mut rows = vec![row("Service", service)];
    rows.push(row(
        "Versions",
        &match first.str("green_version") {
            Some(v) => format!("green {v}; blue: the version that was live"),
            None => "green's version was not configured ([service] green_version)".into(),
        },
    ));
    if let Some(s) = shown.iter().rev().find(|e| e.is(RecordKind::Start)) {
        rows.push(row("Cockpit", s.str("detail").unwrap_or("started")));
    }
    rows.push(row("Outcome", &outcome(c)));
    rows.push(row("First step", &when(c, first)));
    let last = c.span.end.map(|i| &c.entries[i]).or_else(|| {
        shown
            .iter()
            .rev()
            .find(|e| !e.is_sample() && e.wall.is_some())
    });
    if let Some(last) = last {
        rows.push(row("Ended", &format!("{} ({})", when(c, last), what(last))));
        if let (Some(a), Some(z)) = (first.wall, last.wall) {
            rows.push(row(
                "Duration",
                &duration(z.duration_since(a).unwrap_or_default()),
            ));
        }
    }
    let peak = c.entries[c.span.first..c.span.shown.end]
        .iter()
        .filter(|e| e.landed() && !e.is_drill())
        .filter_map(Entry::to)
        .max();
    rows.push(row(
        "Most traffic on green",
        &peak.map_or("none landed".into(), |p| format!("{p} %")),
    ));
    let who: BTreeSet<String> = shown
        .iter()
        .filter(|e| matches!(e.kind(), "intent" | "control" | "note"))
        .map(who)
        .collect();
    rows.push(row(
        "Who acted",
        &who.into_iter().collect::<Vec<_>>().join(", "),
    ));
    let forced = shown
        .iter()
        .filter(|e| e.is(RecordKind::Intent) && e.forced())
        .count();
    rows.push(row("Forced changes", &forced.to_string()));
    let breaches = shown
        .iter()
        .filter(|e| e.is(RecordKind::Breach) && e.action() == Some(RecordAction::Breach))
        .count();
    rows.push(row("Breaches", &breaches.to_string()));
    let samples = shown.iter().filter(|e| e.is_sample()).count();
    rows.push(row("Samples", &samples.to_string()));
    Block::Table {
        head: vec!["Cutover".into(), String::new()],
        rows,
    }
}

fn row(k: &str, v: &str) -> Vec<String> {
    vec![k.to_string(), v.to_string()]
}

fn timeline(c: &Cutover) -> Block {
    let mut rows = Vec::new();
    // Where green stood and since when: the dwell each step took.
    let mut at: Option<(SystemTime, u8)> = None;
    for e in c.shown_entries() {
        if e.is_sample() {
            continue;
        }
        let mut detail = details(e);
        let raises = e.is(RecordKind::Intent)
            && e.to()
                .zip(at.map(|a| a.1))
                .is_some_and(|(to, from)| to > from);
        if (raises || e.is(RecordKind::Promoted))
            && let (Some((since, pct)), Some(w)) = (at, e.wall)
        {
            detail.insert(
                0,
                format!(
                    "after {} at {pct} %",
                    duration(w.duration_since(since).unwrap_or_default())
                ),
            );
        }
        if e.landed()
            && let (Some(to), Some(w)) = (e.to(), e.wall)
        {
            at = Some((w, to));
        }
        rows.push(vec![
            clock(e.wall),
            offset(c, e),
            who(e),
            what(e),
            detail.join("; "),
        ]);
    }
    Block::Table {
        head: ["Time", "+t", "Who", "What", "Detail"]
            .map(String::from)
            .to_vec(),
        rows,
    }
}

/// `advance 1 % → 5 % asked`, `rollback → 0 %: ok`, `breach`, ...
pub fn what(e: &Entry) -> String {
    let pct = |p: Option<u8>| p.map_or("?".into(), |p| format!("{p} %"));
    let forced = if e.forced() { " (FORCED)" } else { "" };
    let action = e.action_word().unwrap_or("");
    match e.kind() {
        "intent" => format!("{action} {} → {} asked{forced}", pct(e.from()), pct(e.to())),
        "outcome" => format!(
            "{action} → {}: {}{forced}",
            pct(e.to()),
            e.str("outcome").unwrap_or("?")
        ),
        "promoted" => "promoted".into(),
        "start" => "cockpit started".into(),
        "breach" if e.action() == Some(RecordAction::Breach) => {
            format!("BREACH at {}", pct(e.to()))
        }
        "breach" => "breach cleared".into(),
        "note" => "note".into(),
        "control" => action.into(),
        kind if action.is_empty() || action == kind => kind.into(),
        kind => format!("{kind}: {action}"),
    }
}

/// The reason, the detail, the measured times and any field this version
/// does not know.
fn details(e: &Entry) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = e.str("reason") {
        out.push(r.to_string());
    }
    if let Some(d) = e.str("detail") {
        out.push(d.to_string());
    }
    if let Some(ms) = e.u64("duration_ms") {
        out.push(format!("took {ms} ms"));
    }
    let evidence = e.record.as_ref().map(|r| &r.evidence);
    if let Some(evidence) = evidence.filter(|m| !m.is_empty()) {
        let each: Vec<String> = evidence
            .iter()
            .map(|(id, v)| {
                format!(
                    "{} {}",
                    super::metrics::label(id),
                    super::evidence::label(*v)
                )
            })
            .collect();
        out.push(format!("evidence: {}", each.join(", ")));
    }
    if let Value::Object(map) = &e.value {
        for (k, v) in map {
            if KNOWN.contains(&k.as_str()) {
                continue;
            }
            let v = match v {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            out.push(format!("{k}: {v}"));
        }
    }
    out
}

fn who(e: &Entry) -> String {
    match (e.origin_word(), e.str("user").filter(|u| !u.is_empty())) {
        (None, None) => "—".into(),
        (Some(o), None) => o.into(),
        (None, Some(u)) => u.into(),
        (Some(o), Some(u)) => format!("{o} ({u})"),
    }
}

/// `2026-11-25 16:37:56 UTC (+1:05)`.
fn when(c: &Cutover, e: &Entry) -> String {
    let date = e.str("time").map_or("?".to_string(), |t| {
        t.get(..19).unwrap_or(t).replace('T', " ") + " UTC"
    });
    format!("{date} ({})", offset(c, e))
}

fn clock(t: Option<SystemTime>) -> String {
    t.map_or("?".into(), |t| {
        let ms = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_millis();
        format!("{}.{ms:03}", crate::format::clock_utc(t))
    })
}

/// Time from the first step: `+1:05`, `-0:03`, `+1:02:03`.
pub fn offset(c: &Cutover, e: &Entry) -> String {
    let (Some(t0), Some(t)) = (c.entries[c.span.first].wall, e.wall) else {
        return "?".into();
    };
    let (sign, d) = match t.duration_since(t0) {
        Ok(d) => ("+", d),
        Err(e) => ("-", e.duration()),
    };
    let s = d.as_secs();
    if s >= 3600 {
        format!("{sign}{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{sign}{}:{:02}", s / 60, s % 60)
    }
}

/// `2.1 s`, `4 min 10 s`, `3 h 05 min`.
fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{:.1} s", d.as_secs_f64())
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}
