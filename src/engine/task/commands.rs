//! Commands from the front ends: what each does, what is refused and why,
//! and the answers (sent only once the state they describe is published).

use tokio::sync::oneshot;

use super::Engine;
use super::lane::WriteOrder;

use crate::engine::action::Action;
use crate::engine::clock::now;
use crate::engine::command::{Command, Origin, Reply, Request};
use crate::engine::journal::{RecordAction, RecordKind};
use crate::engine::reply::{Done, Refusal};
use crate::engine::state::{EventLevel, Phase};
use crate::model::Split;

impl Engine {
    /// Queues an answer. Answers go out only after the state they describe
    /// is published, so a caller that hears "done" and then reads the state
    /// sees the change.
    ///
    /// A front end that does not wait for answers (the TUI sends and moves
    /// on) still learns of a refusal: it becomes an event.
    pub(super) fn answer(&mut self, reply: Option<oneshot::Sender<Reply>>, r: Reply) {
        match (reply, r) {
            (Some(tx), r) => self.out.answers.push((tx, r)),
            (None, Err(why)) => self.event(EventLevel::Warn, format!("refused: {why}")),
            (None, Ok(_)) => {}
        }
    }

    pub(super) fn flush_answers(&mut self) {
        for (tx, r) in self.out.answers.drain(..) {
            let _ = tx.send(r);
        }
    }

    /// Handles one request; true means stop.
    pub(super) fn on_request(&mut self, req: Request) -> bool {
        let Request {
            command,
            origin,
            reply,
        } = req;
        if let Some(why) = self.refusal(&command) {
            self.answer(reply, Err(why));
            return false;
        }
        let r = match command {
            Command::Shutdown => {
                self.answer(reply, Ok(Done::Stopping));
                return true;
            }
            Command::Note(text) => self.note(origin, text),
            Command::TerminalLost { then } => self.terminal_lost(origin, &then),
            Command::AlertResult { delivered, text } => self.alert_result(origin, delivered, text),
            Command::SetArmed(armed) => self.set_armed(origin, armed),
            Command::RunChecks => self.run_checks_now(origin),
            Command::TogglePause => self.toggle_pause(origin),
            // The rest answer when their work is done.
            traffic => {
                self.on_traffic(traffic, origin, reply);
                return false;
            }
        };
        self.answer(reply, r);
        false
    }

    /// Commands that move traffic (and decommissioning, which changes
    /// what serves it): answered once the change is done or refused.
    fn on_traffic(
        &mut self,
        command: Command,
        origin: Origin,
        reply: Option<oneshot::Sender<Reply>>,
    ) {
        let (action, target, reason) = match command {
            Command::Rollback { reason } => return self.rollback(origin, reason, reply),
            Command::DecommissionBlue => return self.decommission_blue(origin, reply),
            Command::Advance { force } => (Action::Advance, self.advance_target(force), None),
            Command::StepBack => {
                let target = self
                    .ready_for_write()
                    .and_then(|from| self.moves(from, self.plan.prev_target(from)))
                    .map(|to| (to, false));
                (Action::StepBack, target, None)
            }
            Command::SetSplit {
                split,
                reason,
                force,
            } => (Action::Set, self.set_target(origin, split, force), reason),
            Command::Promote => {
                let target = self
                    .ready_for_write()
                    .and_then(|from| self.moves(from, Split::FULL))
                    .and_then(|to| self.promote_allowed().map(|_| (to, false)));
                (Action::Promote, target, None)
            }
            // Answered by `on_request` itself.
            Command::Shutdown
            | Command::Note(_)
            | Command::TerminalLost { .. }
            | Command::AlertResult { .. }
            | Command::SetArmed(_)
            | Command::RunChecks
            | Command::TogglePause => return,
        };
        self.write_or_refuse(action, target, origin, reason, reply);
    }

    /// Why `command` is refused before anything else is looked at: a
    /// read-only cockpit moves no traffic, and while a rollback is failing
    /// only a rollback is accepted.
    fn refusal(&self, command: &Command) -> Option<Refusal> {
        if !command.moves_traffic() {
            return None;
        }
        if self.options.readonly {
            return Some(Refusal::ReadOnly);
        }
        if matches!(command, Command::Rollback { .. }) {
            return None;
        }
        self.retry_refusal()
    }

    fn note(&mut self, origin: Origin, text: String) -> Reply {
        if self.options.readonly {
            // A watcher does not hold the journal: a note (such as the
            // cockpit's own "resumed" after `fg`) is shown, not an error.
            let done = Done::NoteShown(text);
            self.event(EventLevel::Info, done.to_string());
            return Ok(done);
        }
        let mut rec = self.record(RecordKind::Note, origin, RecordAction::Note);
        rec.reason = Some(text.clone());
        self.append(&rec).map_err(Refusal::Journal)?;
        self.event(EventLevel::Info, format!("note: {text}"));
        Ok(Done::Noted(text))
    }

    fn alert_result(&mut self, origin: Origin, delivered: bool, text: String) -> Reply {
        let action = if delivered {
            RecordAction::AlertSent
        } else {
            RecordAction::AlertFailed
        };
        let mut rec = self.record(RecordKind::Alert, origin, action);
        rec.detail = Some(text.clone());
        let r = self
            .append(&rec)
            .map(|_| Done::Alert(text.clone()))
            .map_err(Refusal::Journal);
        let level = if delivered {
            EventLevel::Info
        } else {
            EventLevel::Error
        };
        self.event(level, text);
        r
    }

    fn set_armed(&mut self, origin: Origin, armed: bool) -> Reply {
        if self.options.readonly && armed {
            return Err(Refusal::ReadOnlyArming);
        }
        if self.state.guard.armed == armed {
            // No change, no journal line: a burst of `a` costs one
            // write per change of state, not one per key.
            return Ok(Done::Armed {
                armed,
                changed: false,
            });
        }
        self.state.guard.armed = armed;
        self.state.guard.breach_streak = 0;
        let action = if armed {
            RecordAction::Arm
        } else {
            RecordAction::Disarm
        };
        let rec = self.record(RecordKind::Control, origin, action);
        let _ = self.append(&rec);
        let done = Done::Armed {
            armed,
            changed: true,
        };
        self.event(EventLevel::Warn, done.to_string());
        Ok(done)
    }

    fn rollback(&mut self, origin: Origin, reason: String, reply: Option<oneshot::Sender<Reply>>) {
        // A rollback that has not landed: this one tries it again
        // at once (or waits with the try in flight).
        if self.lane.retry().is_some() {
            let mut order = WriteOrder::new(Action::Rollback, Split::ZERO, origin);
            order.reply = reply;
            self.start_write(order);
            return;
        }
        if !self.lane.writing() && self.nothing_to_roll_back() {
            self.event(
                EventLevel::Info,
                format!("rollback: {}", Done::AlreadyAtZero),
            );
            self.answer(reply, Ok(Done::AlreadyAtZero));
            return;
        }
        if let Some(f) = self.lane.rollback_in_flight() {
            // Restarting it would only push 0 % again; wait with it.
            f.replies.extend(reply);
            return;
        }
        let mut order = WriteOrder::new(Action::Rollback, Split::ZERO, origin);
        order.decision.reason = Some(reason);
        order.reply = reply;
        self.start_write(order);
    }

    /// Raising green's traffic passes the same gate as an advance (force
    /// passes its soft reasons); lowering never waits.
    fn set_target(
        &self,
        origin: Origin,
        split: Split,
        force: bool,
    ) -> Result<(Split, bool), Refusal> {
        let from = self.ready_for_write()?;
        let to = self.moves(from, split)?;
        if origin == Origin::Drill {
            // A drill's raise is the rehearsal itself: the gate judges a
            // cutover, not a drill.
            return Ok((to, false));
        }
        self.raise_check(from, to, force).map(|forced| (to, forced))
    }

    /// At 0 % by the router's word, with nothing to doubt it: no router
    /// error, no check of the data plane pending, and the data plane not
    /// last seen serving green (then 0 % is written again).
    fn nothing_to_roll_back(&self) -> bool {
        self.state.traffic.split == Some(Split::ZERO)
            && self.state.traffic.router_error.is_none()
            && self.state.traffic.verifying.is_none()
            && self
                .state
                .traffic
                .verified
                .as_ref()
                .is_none_or(|v| v.served.green() == 0)
    }

    fn write_or_refuse(
        &mut self,
        action: Action,
        target: Result<(Split, bool), Refusal>,
        origin: Origin,
        reason: Option<String>,
        reply: Option<oneshot::Sender<Reply>>,
    ) {
        match target {
            Ok((to, forced)) => {
                let mut order = WriteOrder::new(action, to, origin);
                order.decision.reason = reason;
                order.decision.forced = forced;
                order.reply = reply;
                self.start_write(order);
            }
            Err(why) => self.answer(reply, Err(why)),
        }
    }

    /// The split we can move from, or why no write can start now.
    pub(super) fn ready_for_write(&self) -> Result<Split, Refusal> {
        if let Some(f) = self.lane.in_flight() {
            return Err(Refusal::InFlight(f.change.change()));
        }
        self.state.traffic.split.ok_or(Refusal::SplitUnknown)
    }

    /// `to`, unless it is where the router already is (no write for
    /// nothing) or a split the router cannot set (refused before any write).
    pub(super) fn moves(&self, from: Split, to: Split) -> Result<Split, Refusal> {
        if from == to {
            return Err(Refusal::AlreadyAt(to));
        }
        let caps = self.router.capabilities();
        if !caps.can_set(to) {
            return Err(Refusal::CannotSet {
                router: self.router.kind().to_string(),
                to,
                can: caps.describe(),
            });
        }
        Ok(to)
    }

    /// The next step, if the gate (or `force`) lets us go there.
    pub(super) fn advance_target(&self, force: bool) -> Result<(Split, bool), Refusal> {
        let from = self.ready_for_write()?;
        let to = self
            .plan
            .next_target(from)
            .ok_or(Refusal::NothingToAdvance)?;
        let to = self.moves(from, to)?;
        self.raise_check(from, to, force).map(|forced| (to, forced))
    }

    pub(super) fn toggle_pause(&mut self, origin: Origin) -> Reply {
        if self.lane.writing() {
            return Err(Refusal::PauseInFlight);
        }
        let now = now();
        let last = self.plan.steps.len() - 1;
        let (action, done) = match self.state.phase.clone() {
            Phase::Canary { step } => {
                self.state.clock.pause(now, false);
                self.state.phase = Phase::Paused { step };
                (RecordAction::Pause, Done::Paused { bake: false })
            }
            Phase::Baking => {
                self.state.clock.pause(now, true);
                self.state.phase = Phase::Paused { step: last };
                (RecordAction::Pause, Done::Paused { bake: true })
            }
            Phase::Paused { step } => {
                let left = self.state.clock.dwell_left.take().unwrap_or_default();
                // The time spent paused does not count toward the progress
                // deadline: the clock restarts with the remaining dwell.
                let waited = if step == last {
                    self.plan.bake
                } else {
                    self.plan.dwell
                };
                self.clock.resume(now, waited, left);
                if step == last && self.state.traffic.split == Some(Split::FULL) {
                    self.state.clock.bake_until = Some(now + left);
                    self.state.phase = Phase::Baking;
                } else {
                    self.state.clock.dwell_until = Some(now + left);
                    self.state.phase = Phase::Canary { step };
                }
                (RecordAction::Resume, Done::Resumed)
            }
            other => return Err(Refusal::NothingToPause(other.name())),
        };
        let rec = self.record(RecordKind::Control, origin, action);
        let _ = self.append(&rec);
        self.event(EventLevel::Info, done.to_string());
        Ok(done)
    }
}
