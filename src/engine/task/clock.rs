//! The clock: dwell, bake and standby, the advance gate, and the autopilot.

use std::time::{Duration, Instant};

use super::lane::WriteOrder;
use super::said_once::first;
use super::{Engine, readings};

use crate::engine::action::Action;
use crate::engine::clock::now;
use crate::engine::command::Origin;
use crate::engine::gate_reason::{GateReason, joined};
use crate::engine::guardrail::{self, Judgement};
use crate::engine::journal::RecordAction;
use crate::engine::journal::RecordKind;
use crate::engine::plan::{GateCheck, GateInput, check_gate};
use crate::engine::state::{EventLevel, Gate, Outcome, Phase};
use crate::format::countdown;
use crate::model::{Color, Split, Verdict};

impl Engine {
    /// Returns true when something shown changed.
    pub(super) fn on_tick(&mut self) -> bool {
        let now = now();
        let before = (self.state.phase.clone(), self.state.event_seq);
        let reread = self.config.source.interval.max(Duration::from_secs(2));
        if !self.lane.writing()
            && self
                .jobs
                .last_read
                .is_none_or(|t| now.duration_since(t) >= reread)
        {
            self.start_read();
        }
        if self.state.phase == Phase::Baking
            && let Some(until) = self.state.clock.bake_until
            && now >= until
        {
            self.finish_bake(now);
        }
        if self.state.phase == Phase::Promoted
            && self
                .state
                .clock
                .standby_until
                .is_some_and(|u| self.options.wall.now() >= u)
            && first(&mut self.said.standby_end)
        {
            self.event(EventLevel::Info, "standby window over: blue may be retired");
        }
        before != (self.state.phase.clone(), self.state.event_seq)
    }

    /// The bake window is over: promote if green is clean, else hold and say why.
    pub(super) fn finish_bake(&mut self, now: Instant) {
        let fresh = self
            .state
            .guard
            .data_age(now)
            .is_some_and(|a| a <= self.stale_after())
            && self.data_covers_split();
        let green: Vec<&Judgement> = self.state.guard.green().collect();
        let clean = fresh && !green.is_empty() && green.iter().all(|j| j.verdict == Verdict::Ok);
        if !clean {
            if first(&mut self.said.bake_hold) {
                let why = if fresh {
                    joined(&guardrail::gate_reasons(&self.state.guard.judgements))
                } else {
                    "no fresh data covering the bake at 100 %".into()
                };
                self.event(
                    EventLevel::Warn,
                    format!("bake window over, holding at 100 %: {why}"),
                );
            }
            return;
        }
        self.state.phase = Phase::Promoted;
        self.state.clock.bake_until = None;
        self.state.clock.standby_until = Some(self.options.wall.now() + self.plan.standby);
        let mut rec = self.record(
            RecordKind::Promoted,
            Origin::Autopilot,
            RecordAction::Promoted,
        );
        rec.to = Some(100);
        rec.detail = Some(format!(
            "blue kept as standby for {}",
            crate::format::span(self.plan.standby)
        ));
        rec.readings = readings(&self.state);
        let _ = self.append(&rec);
        self.event(
            EventLevel::Traffic,
            format!(
                "promoted: bake passed; blue kept as standby for {}",
                crate::format::span(self.plan.standby)
            ),
        );
        if self.options.autopilot {
            self.state.outcome = Some(Outcome::Promoted);
        }
    }

    pub(super) fn stale_after(&self) -> Duration {
        self.config.source.interval * 3
    }

    /// The gate for the next plan step.
    pub(super) fn gate_check(&self) -> GateCheck {
        self.gate_check_to(
            self.state
                .traffic
                .split
                .and_then(|s| self.plan.next_target(s)),
        )
    }

    /// The gate for a move to `to` (the checks due depend on how far).
    pub(super) fn gate_check_to(&self, to: Option<Split>) -> GateCheck {
        let now = now();
        let green_up = self
            .state
            .guard
            .snapshot
            .as_ref()
            .is_some_and(|s| s.green.up);
        let mut c = check_gate(&GateInput {
            now,
            split: self.state.traffic.split,
            phase: &self.state.phase,
            write_in_flight: self.lane.writing(),
            dwell_until: self.state.clock.dwell_until,
            data_age: self.state.guard.data_age(now),
            stale_after: self.stale_after(),
            green_up,
            guardrail_reasons: guardrail::gate_reasons(&self.state.guard.judgements),
            green_holds_dwell: guardrail::holds_dwell(&self.state.guard.judgements),
            router_error: self.state.traffic.router_error.as_deref(),
            data_predates_split: !self.data_covers_split(),
            rolled_back: matches!(self.state.phase, Phase::RolledBack { .. })
                || self.state.rollback.rolled_back.is_some(),
            green_replicas: self.state.traffic.readiness.and_then(|r| r.green),
            check_reasons: self.check_reasons(to),
        });
        c.soft.extend(self.evidence_reason());
        c
    }

    /// `[gates] evidence = "no regression"` while green serves and the
    /// evidence could still miss a regression of the minimum effect.
    fn evidence_reason(&self) -> Option<GateReason> {
        self.config.gates.evidence?;
        // At 0 % there is nothing to judge yet; at 100 % nothing to advance.
        if self
            .state
            .traffic
            .split
            .is_none_or(|s| s.green() % 100 == 0)
        {
            return None;
        }
        let needed = self.evidence.still_needed();
        if needed.is_some_and(|n| n.is_done()) {
            return None;
        }
        let rps = self.state.guard.snapshot.as_ref().and_then(|s| s.green.rps);
        Some(GateReason::Evidence {
            green_requests: needed.map(|n| n.green_requests),
            left: needed.zip(rps).and_then(|(n, r)| n.time_at(r)),
        })
    }

    /// True when each colour with traffic has a full window of its own
    /// data, taken wholly after the split last changed, so it measures this
    /// split and no other (see `color_covers_split`).
    pub(super) fn data_covers_split(&self) -> bool {
        let split = self.state.traffic.split;
        self.state.guard.snapshot.as_ref().is_some_and(|s| {
            Color::BOTH.iter().all(|&c| {
                // A colour with no traffic has nothing to measure.
                split.is_some_and(|x| x.share(c) == 0) || self.color_covers_split(s, c)
            })
        })
    }

    /// Returns true when the gate changed.
    pub(super) fn refresh_gate(&mut self) -> bool {
        let c = self.gate_check();
        let gate = Gate {
            open: c.open(),
            reasons: c.reasons(),
        };
        let changed = gate != self.state.guard.gate;
        self.state.guard.gate = gate;
        changed
    }

    /// Under the autopilot: advance whenever the gate is open; roll back
    /// when a step (or the bake) has not moved on by the progress deadline.
    /// Returns true when it started a change.
    pub(super) fn autopilot(&mut self) -> bool {
        if !self.options.autopilot
            || self.options.readonly
            || self.lane.busy()
            || self.lane.retry().is_some()
            || self.state.outcome.is_some()
        {
            return false;
        }
        let now = now();
        let deadline = self.plan.progress_deadline;
        let (waited_for, what) = match self.state.phase {
            Phase::Ready | Phase::Canary { .. } => (self.plan.dwell, "the gate has stayed closed"),
            Phase::Baking => (self.plan.bake, "the bake has not passed"),
            _ => return false,
        };
        if self.clock.past_deadline(now, waited_for, deadline) {
            let reason = format!(
                "progress deadline: {what} for {} past the {}: {}",
                countdown(deadline),
                if self.state.phase == Phase::Baking {
                    "bake"
                } else {
                    "dwell"
                },
                joined(&self.state.guard.gate.reasons)
            );
            let readings = readings(&self.state);
            self.roll_back_automatically(Origin::Autopilot, reason, readings);
            return true;
        }
        if self.state.phase == Phase::Baking
            || !self.state.guard.gate.open
            || self.clock.autopilot_held(now)
        {
            return false;
        }
        let Ok((to, _)) = self.advance_target(false) else {
            return false;
        };
        self.start_write(WriteOrder::new(Action::Advance, to, Origin::Autopilot));
        true
    }
}
