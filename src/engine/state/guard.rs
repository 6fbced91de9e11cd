//! The guard part of the published state: whether the guardrails are
//! armed, what they judged of the latest readings, how close green is to a
//! rollback, and whether an advance is allowed.

use std::time::{Duration, Instant};

use imbl::Vector;

use crate::engine::gate_reason::GateReason;
use crate::engine::guardrail::Judgement;
use crate::model::{Color, Snapshot, Verdict};
use crate::stats::Finding;

/// Whether an advance is allowed now, and if not, every reason why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gate {
    pub open: bool,
    pub reasons: Vec<GateReason>,
}

/// One point of a metric's history; `None` is a poll with no data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryPoint {
    pub at: Instant,
    pub value: Option<f64>,
}

/// Recent history of every metric of both colours, for charts.
///
/// Persistent vectors: the engine publishes a copy of the state on every
/// change, and a copy shares all but the touched chunk with the original,
/// so publishing costs the same with a full history as with an empty one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    /// `[metric][color]` (metrics in the config's order; blue is 0, green
    /// is 1), oldest first.
    series: Vec<[Vector<HistoryPoint>; 2]>,
}

/// The series of a metric not polled yet.
static EMPTY: std::sync::LazyLock<Vector<HistoryPoint>> = std::sync::LazyLock::new(Vector::new);

impl History {
    pub const CAPACITY: usize = 360;

    /// A point of the metric at `metric` (its place in the config's order).
    pub fn push(&mut self, color: Color, metric: usize, point: HistoryPoint) {
        if self.series.len() <= metric {
            self.series.resize_with(metric + 1, Default::default);
        }
        let s = &mut self.series[metric][color.index()];
        if s.len() == Self::CAPACITY {
            s.pop_front();
        }
        s.push_back(point);
    }

    pub fn series(&self, color: Color, metric: usize) -> &Vector<HistoryPoint> {
        self.series
            .get(metric)
            .map_or(&EMPTY, |s| &s[color.index()])
    }
}

/// The last good value of a metric and when it was measured, so *no data*
/// can say how old the last number is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastValue {
    pub value: f64,
    pub at: Instant,
}

/// What the evidence on one tested metric says now (`test = { .. }`).
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceView {
    /// The metric's id.
    pub id: String,
    pub finding: Finding,
    /// The finding in the user's words (`stats::text`).
    pub text: String,
    /// The evidence now: E, with 1 for no evidence either way.
    pub e_value: f64,
}

/// The guardrails' side of the state; metrics are in the config's order
/// throughout (see `State::metrics`).
#[derive(Debug, Clone)]
pub struct Guard {
    pub armed: bool,
    /// Consecutive polls in which green breached, and how many roll back.
    pub breach_streak: u32,
    pub breach_needed: u32,
    pub gate: Gate,
    pub snapshot: Option<Snapshot>,
    /// Judgements of the latest snapshot, `[blue..., green...]` per judged
    /// metric.
    pub judgements: Vec<Judgement>,
    /// `[color][metric]`, metrics in the config's order.
    pub last_values: [Vec<Option<LastValue>>; 2],
    pub history: History,
    /// The evidence on each metric with a test, in the config's order.
    pub evidence: Vec<EvidenceView>,
}

impl Guard {
    /// Nothing polled or judged yet.
    pub fn new(armed: bool, breach_needed: u32) -> Guard {
        Guard {
            armed,
            breach_streak: 0,
            breach_needed,
            gate: Gate::default(),
            snapshot: None,
            judgements: Vec::new(),
            last_values: [Vec::new(), Vec::new()],
            history: History::default(),
            evidence: Vec::new(),
        }
    }

    /// Green's judgements of the latest snapshot.
    pub fn green(&self) -> impl Iterator<Item = &Judgement> {
        self.judgements.iter().filter(|j| j.color == Color::Green)
    }

    pub fn judgement(&self, color: Color, id: &str) -> Option<&Judgement> {
        self.judgements
            .iter()
            .find(|j| j.color == color && j.id() == id)
    }

    pub fn verdict(&self, color: Color, id: &str) -> Verdict {
        self.judgement(color, id)
            .map(|j| j.verdict)
            .unwrap_or(Verdict::NoData)
    }

    /// The last value of the metric at `index` in the config's order.
    pub fn last_value_at(&self, color: Color, index: usize) -> Option<LastValue> {
        self.last_values[color.index()]
            .get(index)
            .copied()
            .flatten()
    }

    /// Age of the latest snapshot at `now`.
    pub fn data_age(&self, now: Instant) -> Option<Duration> {
        self.snapshot
            .as_ref()
            .map(|s| now.saturating_duration_since(s.at))
    }

    pub(crate) fn set_last_value(&mut self, color: Color, index: usize, v: LastValue) {
        let values = &mut self.last_values[color.index()];
        if values.len() <= index {
            values.resize(index + 1, None);
        }
        values[index] = Some(v);
    }
}
