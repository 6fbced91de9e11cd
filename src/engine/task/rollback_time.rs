//! Time to rollback, measured: from the decision (the key, the command,
//! the breach; a preempted write's wait included) to the router's
//! confirmation, and, where the source shows request rates, to the first
//! observed split with green at zero. Both are journaled and shown; the
//! second usually arrives after the outcome was written, on a record of its
//! own.

use std::time::{Duration, Instant};

use super::Engine;
use super::lane::InFlight;

use crate::engine::clock::now;
use crate::engine::command::Origin;
use crate::engine::journal::RecordAction;
use crate::engine::journal::ZERO_EPSILON;
use crate::engine::journal::{Record, RecordKind};
use crate::engine::state::EventLevel;
use crate::engine::state::{RollbackTimes, ToZero, rollback_figure as figure};
use crate::format::span;

/// A rollback waiting for the traffic to show green at zero.
pub(super) struct ZeroWatch {
    decided: Instant,
    origin: Origin,
    reason: Option<String>,
    /// The first observation with green at zero, if seen before the
    /// router confirmed.
    seen: Option<Instant>,
    /// The router confirmed and the outcome is journaled: a zero seen now
    /// goes on a record of its own.
    landed: bool,
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

impl Engine {
    /// A rollback's write begins: its clock started at `decided`.
    pub(super) fn watch_rollback(
        &mut self,
        decided: Instant,
        origin: Origin,
        reason: Option<&str>,
    ) {
        self.traffic.zero_watch = Some(ZeroWatch {
            decided,
            origin,
            reason: reason.map(str::to_string),
            seen: None,
            landed: false,
        });
    }

    /// Another traffic change begins, or the rollback failed: a later
    /// zero would measure nothing.
    pub(super) fn stop_watching_rollback(&mut self) {
        self.traffic.zero_watch = None;
        self.not_awaiting_zero();
    }

    fn not_awaiting_zero(&mut self) {
        if let Some(t) = &mut self.state.rollback.last
            && t.to_zero.awaiting()
        {
            t.to_zero = ToZero::NotSeen;
        }
    }

    /// How long the traffic may take to show green at zero before that is
    /// said and the watch ends: the window has to pass, with a few polls.
    fn zero_deadline(&self) -> Duration {
        (self.config.source.window * 3 + self.config.source.interval * 2)
            .max(Duration::from_secs(30))
    }

    /// The fields a rollback's `ok` outcome carries.
    pub(super) fn rollback_fields(&self, f: &InFlight, rec: &mut Record) {
        let to_router = now().saturating_duration_since(f.change.started);
        rec.decision_to_router_ms = Some(ms(to_router));
        rec.decision_to_zero_ms = self
            .traffic
            .zero_watch
            .as_ref()
            .and_then(|w| w.seen.map(|at| ms(at.saturating_duration_since(w.decided))));
        rec.rollback_sla_ms = self.config.plan.rollback_sla.map(ms);
    }

    /// The router confirmed a rollback (its outcome is journaled): the
    /// figure, in the state and as an event.
    pub(super) fn rollback_landed(&mut self, f: &InFlight) {
        let to_router = now().saturating_duration_since(f.change.started);
        let seen = self.traffic.zero_watch.as_ref().and_then(|w| w.seen);
        let ago = now().saturating_duration_since(f.change.started);
        let times = RollbackTimes {
            decided: f.change.started,
            decided_wall: {
                let wall = self.options.wall.now();
                wall.checked_sub(ago).unwrap_or(wall)
            },
            to_router,
            to_zero: seen.map_or(ToZero::NotSeen, |at| {
                ToZero::Seen(at.saturating_duration_since(f.change.started))
            }),
            sla: self.config.plan.rollback_sla,
            drill: f.decision.origin == Origin::Drill,
            reason: f.decision.rollback_reason(),
        };
        let mut text = format!(
            "time to rollback: decision → router confirmed {}{}",
            figure(to_router),
            sla_note(&times)
        );
        match times.to_zero.seen() {
            Some(z) => text.push_str(&format!("; → traffic shows green at 0 % {}", figure(z))),
            None if self.state.traffic.observed.is_some() => {
                text.push_str("; waiting for the traffic to show green at 0 %")
            }
            None => {}
        }
        if times.drill {
            text = format!("drill: {text}");
        }
        let level = if times.over_sla() == Some(true) {
            EventLevel::Warn
        } else {
            EventLevel::Traffic
        };
        self.event(level, text);
        let mut times = times;
        // A source that never showed request rates cannot tell: nothing to
        // wait for.
        let rates = self.state.traffic.observed.is_some();
        match &mut self.traffic.zero_watch {
            Some(w) if w.seen.is_none() && rates => {
                w.landed = true;
                times.to_zero = ToZero::Awaiting;
            }
            _ => self.traffic.zero_watch = None,
        }
        self.state.rollback.last = Some(times);
    }

    /// One observed split (green's share of the requests over the window
    /// that ended at `at`): the first after a rollback's decision showing
    /// green below [`ZERO_EPSILON`] % is the time to zero.
    pub(super) fn watch_zero(&mut self, at: Instant, green: Option<f64>) {
        let deadline = self.zero_deadline();
        let Some(w) = &mut self.traffic.zero_watch else {
            return;
        };
        if w.seen.is_some() || at <= w.decided {
            return;
        }
        let waited = at.saturating_duration_since(w.decided);
        match green {
            Some(g) if g < ZERO_EPSILON => {}
            _ if waited > deadline && w.landed => {
                let text = format!(
                    "the traffic did not show green at 0 % within {} of the rollback{}",
                    span(deadline),
                    match green {
                        Some(g) => format!(" (last seen {g:.1} %)"),
                        None => " (no request rates)".into(),
                    }
                );
                self.traffic.zero_watch = None;
                self.not_awaiting_zero();
                self.event(EventLevel::Warn, text);
                return;
            }
            _ => return,
        }
        w.seen = Some(at);
        if !w.landed {
            // The outcome, when written, carries it.
            return;
        }
        let Some(w) = self.traffic.zero_watch.take() else {
            return;
        };
        let to_zero = waited;
        let mut rec = self.record(
            RecordKind::Control,
            w.origin,
            RecordAction::RollbackTrafficZero,
        );
        rec.reason = w.reason;
        rec.to = Some(0);
        rec.decision_to_zero_ms = Some(ms(to_zero));
        rec.rollback_sla_ms = self.config.plan.rollback_sla.map(ms);
        if let Some(t) = &mut self.state.rollback.last
            && t.decided == w.decided
        {
            rec.decision_to_router_ms = Some(ms(t.to_router));
            t.to_zero = ToZero::Seen(to_zero);
        }
        rec.detail = green.map(|g| format!("observed green {g:.2} % of requests"));
        let journaled = self.append(&rec);
        let mut text = format!(
            "time to rollback: decision → traffic shows green at 0 % {}",
            figure(to_zero)
        );
        if w.origin == Origin::Drill {
            text = format!("drill: {text}");
        }
        if let Err(e) = journaled {
            text.push_str(&format!("; NOT JOURNALED: {e}"));
        }
        self.event(EventLevel::Traffic, text);
    }
}

/// ` (SLA 2s: within)` or ` (SLA 2s: OVER)`; empty without an SLA.
fn sla_note(t: &RollbackTimes) -> String {
    match (t.sla, t.over_sla()) {
        (Some(sla), Some(true)) => format!(" (OVER the {} SLA)", figure(sla)),
        (Some(sla), _) => format!(" (within the {} SLA)", figure(sla)),
        _ => String::new(),
    }
}
