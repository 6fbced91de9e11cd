//! Notices for the alert task: sent after the journal line they describe,
//! with a `send` that never waits. Nothing here can delay the engine.

use super::Engine;
use super::lane::InFlight;

use crate::config::AlertEvent;
use crate::engine::action::Action;
use crate::engine::clock::now;
use crate::engine::command::{Origin, Reply};
use crate::engine::guardrail::{self, Judgement};
use crate::engine::journal::RecordAction;
use crate::engine::journal::RecordKind;
use crate::engine::notice::Notice;
use crate::engine::reply::{Done, Refusal};
use crate::engine::state::EventLevel;
use crate::model::{Split, Verdict};

impl Engine {
    fn notify(&self, notice: Notice) {
        if let Some(tx) = &self.options.notices {
            // A listener that went away only means nobody is told.
            let _ = tx.send(notice);
        }
    }

    fn notice(&self, event: AlertEvent, origin: Origin) -> Notice {
        Notice {
            event,
            wall: self.options.wall.now(),
            service: self.config.service.name.clone(),
            green_version: self.config.service.green_version.clone(),
            origin,
            from: None,
            split: self.state.traffic.split,
            reason: None,
            readings: Vec::new(),
            metrics: Vec::new(),
            failed: None,
            took: None,
        }
    }

    /// Green's readings now, breaches first, one summary each.
    pub(super) fn green_readings(&self) -> Vec<String> {
        let mut green: Vec<&Judgement> = self.state.guard.green().collect();
        green.sort_by_key(|j| j.verdict != Verdict::Breach);
        green.iter().map(|j| j.summary()).collect()
    }

    /// A write ended (journaled just before): a rollback, landed or not,
    /// and any write that put green at 100 % are news.
    pub(super) fn notice_written(&self, f: &InFlight, landed: Result<Split, String>) {
        // A rehearsal pages nobody.
        if f.decision.origin == Origin::Drill {
            return;
        }
        let rollback = f.change.action == Action::Rollback;
        let event = match &landed {
            _ if rollback => AlertEvent::Rollback,
            Ok(s) if *s == Split::FULL && f.change.from != Some(Split::FULL) => AlertEvent::Promote,
            _ => return,
        };
        let mut n = self.notice(event, f.decision.origin);
        n.from = f.change.from;
        n.reason = f.decision.reason.clone();
        n.readings = f.readings.clone();
        n.took = Some(now().saturating_duration_since(f.change.started));
        match landed {
            Ok(split) => n.split = Some(split),
            Err(why) => {
                n.split = Some(f.change.to);
                n.failed = Some(why);
            }
        }
        self.notify(n);
    }

    /// The cockpit lost its terminal: journaled as a control line, shown
    /// as an event, and sent to every alert (nobody is watching now).
    pub(super) fn terminal_lost(&mut self, origin: Origin, then: &str) -> Reply {
        let at = self.state.traffic.split.map_or_else(
            || "an unknown split".to_string(),
            |s| format!("{} %", s.green()),
        );
        let text = format!("terminal lost at {at}; {then}");
        let mut rec = self.record(RecordKind::Control, origin, RecordAction::TerminalLost);
        rec.reason = Some(text.clone());
        let r = self
            .append(&rec)
            .map(|_| Done::TerminalLost(text.clone()))
            .map_err(Refusal::Journal);
        self.event(EventLevel::Warn, text.clone());
        let mut n = self.notice(AlertEvent::TerminalLost, origin);
        n.reason = Some(then.to_string());
        self.notify(n);
        r
    }

    /// The breach streak just started: the first poll of a run of bad ones.
    pub(super) fn notice_first_breach(&self) {
        let breaching = guardrail::green_breaches(&self.state.guard.judgements);
        let breaches: Vec<String> = breaching.iter().map(|j| j.summary()).collect();
        let mut metrics: Vec<String> = breaching.iter().map(|j| j.id().to_string()).collect();
        if metrics.is_empty() {
            metrics.push("no data".into());
        }
        let what = if breaches.is_empty() {
            // Only `auto_rollback.no_data = "breach"` starts a streak so.
            "green has no data, which counts as a breach".to_string()
        } else {
            breaches.join("; ")
        };
        let st = &self.state;
        let counted = breaching.is_empty() || breaching.iter().any(|j| j.metric.rollback);
        let then = if !counted {
            "it does not count toward auto-rollback (rollback = false)".to_string()
        } else if st.guard.armed {
            format!(
                "auto-rollback after {} consecutive poll(s)",
                st.guard.breach_needed
            )
        } else {
            "auto-rollback is DISARMED".to_string()
        };
        let mut n = self.notice(AlertEvent::Breach, Origin::AutoRollback);
        n.reason = Some(format!("{what}; {then}"));
        n.readings = self.green_readings();
        n.metrics = metrics;
        self.notify(n);
    }
}
