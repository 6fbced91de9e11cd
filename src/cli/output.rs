//! How headless commands print: one line per event, and the status report
//! as text or JSON.

use std::time::Instant;

use serde_json::{Value, json};

use crate::engine::gate_reason::joined;
use crate::engine::{Event, EventLevel, State};
use crate::format::{clock_utc, sanitize, split_unknown};
use crate::model::{Color, Reading};

/// One field of untrusted text on one line: newlines are escaped too, so a
/// value cannot forge a line of the report.
fn field(text: &str) -> std::borrow::Cow<'_, str> {
    sanitize(text, false)
}

pub fn event_line(e: &Event) -> String {
    let level = match e.level {
        EventLevel::Info => "info ",
        EventLevel::Traffic => "TRAFFIC",
        EventLevel::Warn => "warn ",
        EventLevel::Error => "ERROR",
    };
    format!("{} {level} {}", clock_utc(e.wall), field(&e.text))
}

/// What `status` says of a colour with no share of the traffic: as the
/// cockpit shows it, no data, never a verdict (one poll of a gauge can
/// carry a value, but it is not about any traffic).
const IDLE: &str = "no traffic at 0 %";

/// The colour has no share of the split: its readings judge nothing.
fn idle(s: &State, color: Color) -> bool {
    s.traffic.split.is_some_and(|x| x.share(color) == 0)
}

pub fn status_text(s: &State, journal: &std::path::Path) -> String {
    let now = Instant::now();
    let mut out = String::new();
    let split = s
        .traffic
        .split
        .map(|x| format!("split {}% green / {}% blue", x.green(), x.blue()))
        .unwrap_or_else(|| field(&split_unknown(s.traffic.router_error.as_deref())).into_owned());
    out.push_str(&format!("service   {}\n", field(&s.service)));
    out.push_str(&format!("router    {}   {split}\n", s.router_kind));
    let phase = match &s.phase {
        crate::engine::Phase::RolledBack { reason } => format!("ROLLED BACK ({})", field(reason)),
        p => p.name().to_string(),
    };
    out.push_str(&format!("phase     {phase}\n"));
    out.push_str(&format!(
        "gate      {}\n",
        if s.guard.gate.open {
            "open".to_string()
        } else {
            format!("closed: {}", field(&joined(&s.guard.gate.reasons)))
        }
    ));
    match s.guard.data_age(now) {
        Some(age) => out.push_str(&format!(
            "data      {} ({}s old)\n",
            s.source,
            age.as_secs()
        )),
        None => out.push_str(&format!("data      {}: no data\n", s.source)),
    }
    for color in Color::BOTH {
        out.push_str(&format!("{:<5}", color.upper()));
        for (i, metric) in s.metrics.iter().enumerate() {
            let text = match s.guard.judgement(color, &metric.id) {
                Some(_) if idle(s, color) => format!("no data ({IDLE})"),
                Some(j) => match j.value {
                    Some(v) => format!("{} {}", metric.format(v), j.verdict.word()),
                    None => format!(
                        "no data ({})",
                        field(
                            &j.no_data
                                .as_ref()
                                .map(|n| n.to_string())
                                .unwrap_or_default()
                        )
                    ),
                },
                None => match unjudged(s, color, i) {
                    Some(Reading::Value(v)) => format!("{} (not judged)", metric.format(*v)),
                    Some(Reading::NoData(why)) => format!("no data ({})", field(&why.to_string())),
                    None => "not measured".into(),
                },
            };
            out.push_str(&format!("  {}: {text}", metric.label));
        }
        out.push('\n');
    }
    if let Some(t) = &s.rollback.last {
        out.push_str(&format!("rollback  {}\n", field(&rollback_line(t))));
    } else if let Some(l) = crate::engine::last_rollback::last_rollback(journal) {
        out.push_str(&format!("rollback  {}\n", field(&l.describe())));
    }
    out.push_str(&format!("journal   {}\n", journal.display()));
    out
}

/// The reading of a metric shown but not judged (`guard = false`): `None`
/// when the source does not measure it.
fn unjudged(s: &State, color: Color, index: usize) -> Option<&Reading> {
    let r = s.guard.snapshot.as_ref()?.color(color).at(index);
    r.is_configured().then_some(r)
}

/// `412 ms to router confirmed (within the 2s SLA), 5.3s to traffic at 0 %`.
pub fn rollback_line(t: &crate::engine::RollbackTimes) -> String {
    use crate::engine::rollback_figure as figure;
    let mut line = format!(
        "{}{} to router confirmed",
        if t.drill { "drill: " } else { "" },
        figure(t.to_router)
    );
    match (t.sla, t.over_sla()) {
        (Some(sla), Some(true)) => line.push_str(&format!(" (OVER the {} SLA)", figure(sla))),
        (Some(sla), _) => line.push_str(&format!(" (within the {} SLA)", figure(sla))),
        _ => {}
    }
    if let Some(z) = t.to_zero.seen() {
        line.push_str(&format!(", {} to traffic at 0 %", figure(z)));
    }
    line
}

/// The last rollback for `status --json`: its measured times, from the
/// journal (the cockpit that made it may have exited) or from this run.
pub fn last_rollback_json(s: &State, journal: &std::path::Path) -> Value {
    if let Some(t) = &s.rollback.last {
        return json!({
            "time": humantime::format_rfc3339_millis(t.decided_wall).to_string(),
            "reason": t.reason,
            "drill": t.drill,
            "decision_to_router_ms": t.to_router.as_millis() as u64,
            "decision_to_zero_ms": t.to_zero.seen().map(|z| z.as_millis() as u64),
            "rollback_sla_ms": t.sla.map(|d| d.as_millis() as u64),
        });
    }
    crate::engine::last_rollback::last_rollback(journal)
        .map(|r| r.to_json())
        .unwrap_or(Value::Null)
}

/// Each tested metric's evidence by id: the e-value, whether green was
/// found worse, and the words the screen shows.
fn evidence_json(s: &State) -> Value {
    let by_id = s.guard.evidence.iter().map(|e| {
        let v = json!({
            "e_value": e.e_value,
            "worse": matches!(e.finding, crate::stats::Finding::Worse { .. }),
            "text": e.text,
        });
        (e.id.clone(), v)
    });
    Value::Object(by_id.collect())
}

pub fn status_json(s: &State, journal: &std::path::Path) -> Value {
    let now = Instant::now();
    let mut colors = serde_json::Map::new();
    for color in Color::BOTH {
        let mut metrics = serde_json::Map::new();
        for (i, metric) in s.metrics.iter().enumerate() {
            let v = match s.guard.judgement(color, &metric.id) {
                Some(_) if idle(s, color) => json!({
                    "value": null,
                    "verdict": crate::model::Verdict::NoData,
                    "bounds": [],
                    "no_data": IDLE,
                }),
                Some(j) => json!({
                    "value": j.value,
                    "verdict": j.verdict,
                    "bounds": j.checks.iter().map(|c| c.bound_text(metric)).collect::<Vec<_>>(),
                    "no_data": j.no_data.as_ref().map(|n| n.to_string()),
                }),
                None => match unjudged(s, color, i) {
                    Some(r) => json!({
                        "value": r.value(),
                        "verdict": "not_judged",
                        "bounds": [],
                        "no_data": match r {
                            Reading::NoData(why) => Some(why.to_string()),
                            Reading::Value(_) => None,
                        },
                    }),
                    None => json!({"value": null, "verdict": "not_measured"}),
                },
            };
            metrics.insert(metric.id.clone(), v);
        }
        let rps = s.guard.snapshot.as_ref().and_then(|x| x.color(color).rps);
        metrics.insert("rps".into(), json!(rps));
        colors.insert(color.name().to_string(), Value::Object(metrics));
    }
    json!({
        "service": s.service,
        "router": s.router_kind,
        "router_error": s.traffic.router_error,
        "split": s.traffic.split.map(|x| x.green()),
        "phase": s.phase.name(),
        "rolled_back_reason": match &s.phase {
            crate::engine::Phase::RolledBack { reason } => Some(reason.clone()),
            _ => None,
        },
        "gate": {
            "open": s.guard.gate.open,
            "reasons": s.guard.gate.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
        "source": s.source.to_string(),
        "data_age_s": s.guard.data_age(now).map(|d| d.as_secs_f64()),
        "metrics": colors,
        "evidence": evidence_json(s),
        "journal": journal.display().to_string(),
        "last_rollback": last_rollback_json(s, journal),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::guardrail::{evaluate, shared};
    use crate::engine::{PlanView, State};
    use crate::model::{ColorReadings, NoData, Snapshot, Split};
    use std::time::Duration;

    /// Today's three, quality shown but not judged, green at 25 %.
    fn state() -> State {
        let mut specs = crate::config::default_specs();
        specs[2].guard = false;
        let mut s = State::new("svc", "demo", "demo", PlanView::default(), true, 2);
        s.metrics = shared(specs);
        s.traffic.split = Split::new(25);
        let colour = |q: f64| ColorReadings {
            metrics: vec![
                Reading::Value(400.0),
                Reading::Value(0.2),
                Reading::Value(q),
            ],
            ..ColorReadings::no_data(0, NoData::Baseline)
        };
        let snap = Snapshot {
            at: Instant::now(),
            wall: std::time::SystemTime::now(),
            window: Duration::from_secs(30),
            blue: colour(0.9),
            green: colour(0.5),
        };
        s.guard.judgements = evaluate(&snap, s.traffic.split, &s.metrics);
        s.guard.snapshot = Some(snap);
        s
    }

    #[test]
    fn every_metric_is_listed_by_id_and_one_not_judged_says_so() {
        let s = state();
        let v = status_json(&s, std::path::Path::new("/nonexistent"));
        let green = &v["metrics"]["green"];
        assert_eq!(green["p99_ms"]["verdict"], "ok");
        assert_eq!(green["quality"]["value"], 0.5);
        assert_eq!(green["quality"]["verdict"], "not_judged");
        let text = status_text(&s, std::path::Path::new("/nonexistent"));
        assert!(text.contains("quality: 0.500 (not judged)"), "{text}");
    }

    #[test]
    fn the_evidence_is_listed_by_metric_id() {
        let mut s = state();
        s.guard.evidence = vec![crate::engine::state::EvidenceView {
            id: "error_rate".into(),
            finding: crate::stats::Finding::Worse { e_value: 120.0 },
            text: "green's error rate is higher than blue's".into(),
            e_value: 120.0,
        }];
        let v = status_json(&s, std::path::Path::new("/nonexistent"));
        let e = &v["evidence"]["error_rate"];
        assert_eq!(e["e_value"], 120.0);
        assert_eq!(e["worse"], true);
        assert_eq!(v["evidence"].as_object().map(|o| o.len()), Some(1));
    }
}
