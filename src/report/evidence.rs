//! What the report charts of the evidence on a tested metric: its e-value
//! over time (from the samples, and from the decisions, which journal it
//! too), the line it rejects at, and the decisions taken on the way.
//!
//! The line is 1 / level, the level each sample journals beside the
//! evidence (α over the tested metrics, Bonferroni, as the engine tests
//! at): the report reads the journal alone, and the config may have
//! changed since. Decisions from journals whose samples carry no level
//! are charted without it.

use super::charts::Series;
use super::entry::Entry;
use crate::engine::journal::{RecordAction, RecordKind};

/// Evidence this far below 1 (green clearly no worse) is drawn at the
/// floor: the chart is about reaching 1/α, not about how good green is.
const FLOOR: f64 = 1e-3;

/// One tested metric's evidence over a cutover, times in seconds from
/// the first step.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct EvidenceSeries {
    /// The e-value, from the samples and the decisions, in time order.
    pub evidence: Series,
    /// 1 / level at each sample that journals one.
    pub rejects_at: Series,
    /// The decisions (steps and rollbacks) with the evidence they were
    /// taken on: `(t, e, rollback)`.
    pub decisions: Vec<(f64, f64, bool)>,
}

/// The ids of the metrics whose evidence `entries` journal, in the order
/// they first appear.
pub(super) fn tested_ids(entries: &[Entry]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let records = entries
        .iter()
        .filter(|e| !e.is_drill())
        .filter_map(|e| e.record.as_ref());
    for r in records {
        let sample = r.sample.as_ref().map(|s| &s.evidence);
        for id in sample
            .into_iter()
            .chain([&r.evidence])
            .flat_map(|m| m.keys())
        {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
    }
    out
}

/// The evidence on `id` in `shown`, `x` placing each entry in time.
pub(super) fn series(
    shown: &[Entry],
    x: impl Fn(&Entry) -> Option<f64>,
    id: &str,
) -> EvidenceSeries {
    let mut s = EvidenceSeries {
        evidence: Vec::new(),
        rejects_at: Vec::new(),
        decisions: Vec::new(),
    };
    for e in shown.iter().filter(|e| !e.is_drill()) {
        let (Some(t), Some(r)) = (x(e), &e.record) else {
            continue;
        };
        if let Some(sample) = &r.sample {
            if let Some(&v) = sample.evidence.get(id) {
                s.evidence.push((t, Some(v)));
            }
            if let Some(&level) = sample.levels.get(id).filter(|l| **l > 0.0) {
                s.rejects_at.push((t, Some(1.0 / level)));
            }
        } else if let Some(&v) = r.evidence.get(id) {
            s.evidence.push((t, Some(v)));
            if r.kind == RecordKind::Intent {
                let rollback = r.action == Some(RecordAction::Rollback);
                s.decisions.push((t, v, rollback));
            }
        }
    }
    s.evidence.sort_by(|a, b| a.0.total_cmp(&b.0));
    s
}

impl EvidenceSeries {
    /// The y axis (log scale): from below 1 to above both the evidence
    /// and the line, so that crossing it shows.
    pub fn y_range(&self) -> (f64, f64) {
        let values = self
            .evidence
            .iter()
            .chain(&self.rejects_at)
            .filter_map(|p| p.1)
            .filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = values.fold((1.0f64, 10.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        (lo.max(FLOOR) / 2.0, hi * 3.0)
    }

    /// The line's value when it held one value throughout.
    pub fn one_level(&self) -> Option<f64> {
        let first = self.rejects_at.first()?.1?;
        self.rejects_at
            .iter()
            .all(|p| p.1 == Some(first))
            .then_some(first)
    }
}

/// An e-value on the axis: `100`, `0.01`, `1e6`.
pub(super) fn label(v: f64) -> String {
    if (1.0..1e4).contains(&v) {
        format!("{v:.0}")
    } else if (1e-3..1.0).contains(&v) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    } else {
        format!("{v:.0e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::entry::parse;

    const LINES: &str = r#"{"time":"2026-03-01T10:00:00.000Z","kind":"intent","service":"chat","origin":"autopilot","action":"advance","from":0,"to":5,"evidence":{"error_rate":1.0}}
{"time":"2026-03-01T10:00:10.000Z","kind":"sample","s":{"pct":5,"b":[1,2,3],"g":[1,2,3],"e":{"error_rate":3.2},"a":{"error_rate":0.01}}}
{"time":"2026-03-01T10:00:20.000Z","kind":"sample","s":{"pct":5,"b":[1,2,3],"g":[1,2,3],"e":{"error_rate":140},"a":{"error_rate":0.01}}}
{"time":"2026-03-01T10:00:21.000Z","kind":"intent","service":"chat","origin":"auto-rollback","action":"rollback","from":5,"to":0,"evidence":{"error_rate":150}}
{"time":"2026-03-01T10:00:22.000Z","kind":"intent","service":"chat","origin":"drill","action":"drill","to":50,"evidence":{"p99_ms":1.0}}
"#;

    #[test]
    fn evidence_comes_from_samples_and_decisions_with_the_line_the_samples_journal() {
        let (entries, _) = parse(LINES);
        assert_eq!(tested_ids(&entries), ["error_rate"], "drills do not count");
        let t0 = entries[0].wall.unwrap();
        let x = |e: &Entry| Some(e.wall?.duration_since(t0).ok()?.as_secs_f64());
        let s = series(&entries, x, "error_rate");
        assert_eq!(
            s.evidence,
            [
                (0.0, Some(1.0)),
                (10.0, Some(3.2)),
                (20.0, Some(140.0)),
                (21.0, Some(150.0))
            ]
        );
        assert_eq!(s.rejects_at, [(10.0, Some(100.0)), (20.0, Some(100.0))]);
        assert_eq!(s.one_level(), Some(100.0));
        assert_eq!(s.decisions, [(0.0, 1.0, false), (21.0, 150.0, true)]);
        let (y0, y1) = s.y_range();
        assert!(y0 < 1.0 && y1 > 150.0, "{y0} {y1}");
        let none = series(&entries, x, "p99_ms");
        assert!(none.evidence.is_empty() && none.one_level().is_none());
    }

    #[test]
    fn e_values_are_labelled_for_a_log_axis() {
        assert_eq!(label(100.0), "100");
        assert_eq!(label(0.01), "0.01");
        assert_eq!(label(1e6), "1e6");
        assert_eq!(label(1e-5), "1e-5");
    }
}
