//! What the engine publishes on its `watch` channel. Front ends render this
//! and nothing else; they never ask the router or the metric source.

mod guard;
mod rollback;
mod step_clock;
mod traffic;

use std::time::{Duration, SystemTime};

use imbl::Vector;

use super::guardrail::Specs;
use crate::metrics::SourceInfo;
use crate::model::Color;

pub use guard::{EvidenceView, Gate, Guard, History, HistoryPoint, LastValue};
pub use rollback::{RollbackRetry, RollbackTimes, Rollbacks, ToZero, rollback_figure};
pub use step_clock::StepClock;
pub use traffic::{Observed, PendingChange, Traffic, Verified, Verifying};

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
    pub traffic: Traffic,
    pub clock: StepClock,
    pub guard: Guard,
    pub rollback: Rollbacks,
    /// Blue was scaled to 0 by `decommission blue` in this run.
    pub blue_decommissioned: bool,
    pub autopilot: bool,
    /// This cockpit only watches: it moves no traffic, not even automatically.
    pub readonly: bool,
    /// The metrics watched, in the config's order: readings, history and
    /// last values are in this order, judgements name their spec.
    pub metrics: Specs,
    /// Newest last (a persistent vector, shared between published copies).
    pub events: Vector<Event>,
    /// How many events were ever pushed (so a reader can tell which are new).
    pub event_seq: u64,
    pub outcome: Option<Outcome>,
    /// Smoke checks and command gates, with their latest results.
    pub checks: crate::gates::Checks,
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

    /// The last value of the metric `id`.
    pub fn last_value(&self, color: Color, id: &str) -> Option<LastValue> {
        self.metric_index(id)
            .and_then(|i| self.guard.last_value_at(color, i))
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
            traffic: Traffic::default(),
            clock: StepClock::default(),
            guard: Guard::new(armed, breach_needed),
            rollback: Rollbacks::default(),
            blue_decommissioned: false,
            autopilot: false,
            readonly: false,
            metrics: super::guardrail::shared(crate::config::default_specs()),
            events: Vector::new(),
            event_seq: 0,
            outcome: None,
            checks: crate::gates::Checks::default(),
        }
    }
}
