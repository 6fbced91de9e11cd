//! What the engine publishes on its `watch` channel. Front ends render this
//! and nothing else; they never ask the router or the metric source.

use std::time::{Duration, Instant, SystemTime};

use imbl::Vector;

use crate::model::{Color, Snapshot, Split, Verdict};

use super::action::Action;
use super::gate_reason::GateReason;
use super::guardrail::{Judgement, Specs};
use super::memory::RolledBackMemory;
use crate::metrics::SourceInfo;
use crate::router::Readiness;

/// Where the cutover stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// 0 % on green; nothing in progress.
    Ready,
    /// A canary step below 100 %; `step` indexes the plan's steps (the
    /// nearest step when the split was set by hand).
    Canary { step: usize },
    /// Held by the operator at `step`; the dwell clock is stopped.
    Paused { step: usize },
    /// 100 % on green, watched for the bake window.
    Baking,
    /// The bake passed; blue is kept as a standby until the standby window ends.
    Promoted,
    /// Back at 0 % because of `reason`.
    RolledBack { reason: String },
}

impl Phase {
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Ready => "READY",
            Phase::Canary { .. } => "CANARY",
            Phase::Paused { .. } => "PAUSED",
            Phase::Baking => "BAKING",
            Phase::Promoted => "PROMOTED",
            Phase::RolledBack { .. } => "ROLLED BACK",
        }
    }
}

/// The plan as configured, for display.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    pub steps: Vec<u8>,
    pub dwell: Duration,
    pub bake: Duration,
    pub standby: Duration,
}

/// The default plan's view (what front-end tests draw).
impl Default for PlanView {
    fn default() -> Self {
        let p = crate::config::PlanConfig::default();
        PlanView {
            steps: p.steps,
            dwell: p.dwell,
            bake: p.bake,
            standby: p.standby,
        }
    }
}

/// A router write that has been journaled as intent and not yet finished.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingChange {
    pub from: Option<Split>,
    pub to: Split,
    pub started: Instant,
    pub action: Action,
}

impl PendingChange {
    /// The change, as messages name it.
    pub fn change(&self) -> super::reply::Change {
        super::reply::Change {
            action: self.action,
            from: self.from,
            to: self.to,
        }
    }
}

/// The split a router's verification saw the data plane serve.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub served: Split,
    pub at: Instant,
    pub detail: String,
}

/// A rollback that has not landed: the engine retries it with backoff for
/// as long as it runs, and nothing raises green's traffic meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackRetry {
    /// When the rollback was decided (the key, the command, the breach).
    pub decided: Instant,
    /// Tries so far, the first included.
    pub tries: u32,
    /// Why the last try did not land.
    pub reason: String,
    /// When the next try starts; `None` while one is in flight.
    pub next_at: Option<Instant>,
}

/// A split the router has taken whose effect on the data plane is being
/// checked (shown as *verifying* until the check returns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verifying {
    pub split: Split,
    pub since: Instant,
}

/// The split the metrics show: green's share of the requests both colours
/// served over the window, and when that window ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    /// Percent of the requests on green, 0..=100.
    pub green: f64,
    pub at: Instant,
}

/// The measured time of the last rollback that landed (this run only).
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackTimes {
    /// When it was decided (the key, the command, the breach): both
    /// intervals start here.
    pub decided: Instant,
    /// The same moment on the wall clock, for reports.
    pub decided_wall: SystemTime,
    /// Decision to the router's confirmation (its write and verify).
    pub to_router: Duration,
    /// Decision to the first observed split showing green at zero.
    pub to_zero: ToZero,
    /// `[plan] rollback_sla`, if set.
    pub sla: Option<Duration>,
    /// A rehearsal by `cutover drill`, not a rollback of a failed green.
    pub drill: bool,
    pub reason: String,
}

/// A rollback's time to the traffic showing green at zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ToZero {
    /// Not seen yet, and waited for (the engine gives up, saying so, a few
    /// windows after the decision).
    Awaiting,
    /// Seen this long after the decision.
    Seen(Duration),
    /// Not seen, and not waited for: the source cannot tell (no request
    /// rates), or the wait ended.
    NotSeen,
}

impl ToZero {
    /// The measured time, once seen.
    pub fn seen(self) -> Option<Duration> {
        match self {
            ToZero::Seen(d) => Some(d),
            ToZero::Awaiting | ToZero::NotSeen => None,
        }
    }

    pub fn awaiting(self) -> bool {
        self == ToZero::Awaiting
    }
}

impl RollbackTimes {
    /// Over the SLA: shown as a warning. `None` without an SLA.
    pub fn over_sla(&self) -> Option<bool> {
        self.sla.map(|sla| self.to_router > sla)
    }
}

/// A measured rollback time: `412 ms` below ten seconds, else a span
/// (`12s`).
pub fn rollback_figure(d: Duration) -> String {
    crate::format::millis(d)
}

/// Whether an advance is allowed now, and if not, every reason why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gate {
    pub open: bool,
    pub reasons: Vec<GateReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventLevel {
    Info,
    /// A traffic change (journaled).
    Traffic,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub wall: SystemTime,
    pub level: EventLevel,
    pub text: String,
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

/// How a run of the autopilot ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Promoted,
    RolledBack {
        reason: String,
    },
    /// Nothing was done: the journal says green was rolled back, and the
    /// autopilot never sends traffic to a green that failed.
    HeldAfterRollback {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct State {
    pub service: String,
    pub router_kind: String,
    pub source: SourceInfo,
    pub plan: PlanView,
    pub phase: Phase,
    /// The split the router last reported. `None` until it has been read.
    pub split: Option<Split>,
    /// When the router last answered, and its error if the last read failed.
    pub split_read_at: Option<Instant>,
    /// When the engine last entered a new split (our write or an outside
    /// change), so a front end can tell a metric window that still holds
    /// the old split. `None` until the split first changes.
    pub split_changed_at: Option<Instant>,
    pub router_error: Option<String>,
    /// A write in flight.
    pub pending: Option<PendingChange>,
    /// Ready and desired replicas per colour, as the router last reported
    /// them (read with the split); `None` until read or when it failed.
    pub readiness: Option<Readiness>,
    /// What the data plane was last seen to serve (a router's `verify`),
    /// and when: the data-plane split beside the router's word.
    pub verified: Option<Verified>,
    /// The split the traffic shows (from the rates), kept with its time
    /// when a later poll has no rates, so its age says how old it is.
    pub observed: Option<Observed>,
    /// The observed split has differed from the router's by more than the
    /// margin for a whole window.
    pub observed_disagrees: bool,
    /// When the current step's dwell ends (`None` outside a canary step or
    /// when paused; see `dwell_left` then).
    pub dwell_until: Option<Instant>,
    /// The dwell (or, at 100 %, the bake) remaining when paused.
    pub dwell_left: Option<Duration>,
    /// When the bake window at 100 % ends.
    pub bake_until: Option<Instant>,
    /// When blue stops being kept as a standby (wall clock: it outlives us).
    pub standby_until: Option<SystemTime>,
    /// Blue was scaled to 0 by `decommission blue` in this run.
    pub blue_decommissioned: bool,
    pub armed: bool,
    /// Consecutive polls in which green breached, and how many roll back.
    pub breach_streak: u32,
    pub breach_needed: u32,
    pub gate: Gate,
    pub autopilot: bool,
    /// This cockpit only watches: it moves no traffic, not even automatically.
    pub readonly: bool,
    /// The metrics watched, in the config's order: readings, history and
    /// last values are in this order, judgements name their spec.
    pub metrics: Specs,
    pub snapshot: Option<Snapshot>,
    /// Judgements of the latest snapshot, `[blue..., green...]` per judged
    /// metric.
    pub judgements: Vec<Judgement>,
    /// `[color][metric]`, metrics in the config's order.
    pub last_values: [Vec<Option<LastValue>>; 2],
    pub history: History,
    /// Newest last (a persistent vector, shared between published copies).
    pub events: Vector<Event>,
    /// How many events were ever pushed (so a reader can tell which are new).
    pub event_seq: u64,
    pub outcome: Option<Outcome>,
    /// Green was rolled back (in this run or, per the journal, an earlier
    /// one): raising its traffic needs force until green's version changes.
    pub rolled_back: Option<RolledBackMemory>,
    /// Smoke checks and command gates, with their latest results.
    pub checks: crate::gates::Checks,
    /// The last rollback's measured times (a drill's too).
    pub last_rollback: Option<RollbackTimes>,
    /// A rollback that failed and is being retried until it lands.
    pub rollback_failed: Option<RollbackRetry>,
    /// The router took a split; the data plane's check has not returned.
    pub verifying: Option<Verifying>,
}

impl State {
    pub const EVENT_CAPACITY: usize = 500;

    /// The plan step index the current split sits at (or nearest to).
    pub fn step_index(&self) -> Option<usize> {
        match &self.phase {
            Phase::Canary { step } | Phase::Paused { step } => Some(*step),
            Phase::Baking | Phase::Promoted => Some(self.plan.steps.len().saturating_sub(1)),
            _ => None,
        }
    }

    /// The place of the metric `id` in the config's order.
    pub fn metric_index(&self, id: &str) -> Option<usize> {
        self.metrics.iter().position(|m| m.id == id)
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

    /// The last value of the metric `id`.
    pub fn last_value(&self, color: Color, id: &str) -> Option<LastValue> {
        self.metric_index(id)
            .and_then(|i| self.last_value_at(color, i))
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

    pub(crate) fn push_event(
        &mut self,
        wall: SystemTime,
        level: EventLevel,
        text: impl Into<String>,
    ) {
        if self.events.len() == Self::EVENT_CAPACITY {
            self.events.pop_front();
        }
        self.event_seq += 1;
        self.events.push_back(Event {
            wall,
            level,
            text: text.into(),
        });
    }
}

impl State {
    /// A fresh state before the router has been read or anything polled,
    /// watching today's three metrics under the default guardrails (the
    /// engine sets the config's in `metrics`).
    pub fn new(
        service: impl Into<String>,
        router_kind: impl Into<String>,
        source: impl Into<SourceInfo>,
        plan: PlanView,
        armed: bool,
        breach_needed: u32,
    ) -> State {
        State {
            service: service.into(),
            router_kind: router_kind.into(),
            source: source.into(),
            plan,
            phase: Phase::Ready,
            split: None,
            split_read_at: None,
            split_changed_at: None,
            router_error: None,
            pending: None,
            readiness: None,
            verified: None,
            observed: None,
            observed_disagrees: false,
            dwell_until: None,
            dwell_left: None,
            bake_until: None,
            standby_until: None,
            blue_decommissioned: false,
            armed,
            breach_streak: 0,
            breach_needed,
            gate: Gate::default(),
            autopilot: false,
            readonly: false,
            metrics: super::guardrail::shared(crate::config::default_specs()),
            snapshot: None,
            judgements: Vec::new(),
            last_values: [Vec::new(), Vec::new()],
            history: History::default(),
            events: Vector::new(),
            event_seq: 0,
            outcome: None,
            rolled_back: None,
            checks: crate::gates::Checks::default(),
            last_rollback: None,
            rollback_failed: None,
            verifying: None,
        }
    }
}
