//! Commands from the front ends: what each does, what is refused and why,
//! and the answers (sent only once the state they describe is published).

use super::*;

impl Engine {
    /// Queues an answer. Answers go out only after the state they describe
    /// is published, so a caller that hears "done" and then reads the state
    /// sees the change.
    ///
    /// A front end that does not wait for answers (the TUI sends and moves
    /// on) still learns of a refusal: it becomes an event.
    pub(super) fn answer(&mut self, reply: Option<oneshot::Sender<Reply>>, r: Reply) {
        match (reply, r) {
            (Some(tx), r) => self.outbox.push((tx, r)),
            (None, Err(why)) => self.event(EventLevel::Warn, format!("refused: {why}")),
            (None, Ok(_)) => {}
        }
    }

    pub(super) fn flush_answers(&mut self) {
        for (tx, r) in self.outbox.drain(..) {
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
        if self.options.readonly && command.moves_traffic() {
            self.answer(
                reply,
                Err("read-only: this cockpit moves no traffic".into()),
            );
            return false;
        }
        if command.moves_traffic()
            && !matches!(command, Command::Rollback { .. })
            && let Some(why) = self.retry_refusal()
        {
            self.answer(reply, Err(why));
            return false;
        }
        match command {
            Command::Shutdown => {
                self.answer(reply, Ok("stopping".into()));
                return true;
            }
            Command::Note(text) if self.options.readonly => {
                // A watcher does not hold the journal: a note (such as the
                // cockpit's own "resumed" after `fg`) is shown, not an error.
                let msg = format!("note (read-only, not journaled): {text}");
                self.event(EventLevel::Info, msg.clone());
                self.answer(reply, Ok(msg));
            }
            Command::Note(text) => {
                let mut rec = self.record(RecordKind::Note, origin, RecordAction::Note);
                rec.reason = Some(text.clone());
                let r = self.append(&rec).map(|_| format!("noted: {text}"));
                if r.is_ok() {
                    self.event(EventLevel::Info, format!("note: {text}"));
                }
                self.answer(reply, r);
            }
            Command::TerminalLost { then } => {
                let r = self.terminal_lost(origin, &then);
                self.answer(reply, r);
            }
            Command::AlertResult { delivered, text } => {
                let action = if delivered {
                    RecordAction::AlertSent
                } else {
                    RecordAction::AlertFailed
                };
                let mut rec = self.record(RecordKind::Alert, origin, action);
                rec.detail = Some(text.clone());
                let r = self.append(&rec).map(|_| text.clone());
                let level = if delivered {
                    EventLevel::Info
                } else {
                    EventLevel::Error
                };
                self.event(level, text);
                self.answer(reply, r);
            }
            Command::SetArmed(armed) => {
                if self.options.readonly && armed {
                    self.answer(reply, Err("read-only: auto-rollback stays off".into()));
                    return false;
                }
                if self.state.armed == armed {
                    // No change, no journal line: a burst of `a` costs one
                    // write per change of state, not one per key.
                    let msg = if armed {
                        "auto-rollback already armed"
                    } else {
                        "auto-rollback already disarmed"
                    };
                    self.answer(reply, Ok(msg.into()));
                    return false;
                }
                self.state.armed = armed;
                self.state.breach_streak = 0;
                let action = if armed {
                    RecordAction::Arm
                } else {
                    RecordAction::Disarm
                };
                let rec = self.record(RecordKind::Control, origin, action);
                let _ = self.append(&rec);
                let msg = if armed {
                    "auto-rollback armed"
                } else {
                    "auto-rollback DISARMED"
                };
                self.event(EventLevel::Warn, msg);
                self.answer(reply, Ok(msg.into()));
            }
            Command::DecommissionBlue => self.decommission_blue(origin, reply),
            Command::RunChecks => {
                let r = self.run_checks_now(origin);
                self.answer(reply, r);
            }
            Command::TogglePause => {
                let r = self.toggle_pause(origin);
                self.answer(reply, r);
            }
            Command::Rollback { reason } => {
                // A rollback that has not landed: this one tries it again
                // at once (or waits with the try in flight).
                if self.retry.is_some() {
                    let mut order = WriteOrder::new(Action::Rollback, Split::ZERO, origin);
                    order.reply = reply;
                    self.start_write(order);
                    return false;
                }
                if self.inflight.is_none() && self.nothing_to_roll_back() {
                    let msg = "already at 0 %: all traffic is on blue".to_string();
                    self.event(EventLevel::Info, format!("rollback: {msg}"));
                    self.answer(reply, Ok(msg));
                    return false;
                }
                if let Some(f) = self
                    .inflight
                    .as_mut()
                    .filter(|f| f.change.action == Action::Rollback)
                {
                    // Restarting it would only push 0 % again; wait with it.
                    if let Some(tx) = reply {
                        f.replies.push(tx);
                    }
                    return false;
                }
                let mut order = WriteOrder::new(Action::Rollback, Split::ZERO, origin);
                order.reason = Some(reason);
                order.reply = reply;
                self.start_write(order);
            }
            Command::Advance { force } => match self.advance_target(force) {
                Ok((to, forced)) => {
                    let mut order = WriteOrder::new(Action::Advance, to, origin);
                    order.forced = forced;
                    order.reply = reply;
                    self.start_write(order);
                }
                Err(why) => self.answer(reply, Err(why)),
            },
            Command::StepBack => {
                let target = self
                    .ready_for_write()
                    .and_then(|from| self.moves(from, self.plan.prev_target(from)))
                    .map(|to| (to, false));
                self.write_or_refuse(Action::StepBack, target, origin, None, reply);
            }
            Command::SetSplit {
                split,
                reason,
                force,
            } => {
                // Raising green's traffic passes the same gate as an
                // advance (force passes its soft reasons); lowering never
                // waits.
                let target = self.ready_for_write().and_then(|from| {
                    let to = self.moves(from, split)?;
                    if origin == Origin::Drill {
                        // A drill's raise is the rehearsal itself: the
                        // gate judges a cutover, not a drill.
                        return Ok((to, false));
                    }
                    self.raise_check(from, to, force).map(|forced| (to, forced))
                });
                self.write_or_refuse(Action::Set, target, origin, reason, reply);
            }
            Command::Promote => {
                let target = self
                    .ready_for_write()
                    .and_then(|from| self.moves(from, Split::FULL))
                    .and_then(|to| self.promote_allowed().map(|_| (to, false)));
                self.write_or_refuse(Action::Promote, target, origin, None, reply);
            }
        }
        false
    }

    /// At 0 % by the router's word, with nothing to doubt it: no router
    /// error, no check of the data plane pending, and the data plane not
    /// last seen serving green (then 0 % is written again).
    fn nothing_to_roll_back(&self) -> bool {
        self.state.split == Some(Split::ZERO)
            && self.state.router_error.is_none()
            && self.state.verifying.is_none()
            && self
                .state
                .verified
                .as_ref()
                .is_none_or(|v| v.served.green() == 0)
    }

    fn write_or_refuse(
        &mut self,
        action: Action,
        target: Result<(Split, bool), String>,
        origin: Origin,
        reason: Option<String>,
        reply: Option<oneshot::Sender<Reply>>,
    ) {
        match target {
            Ok((to, forced)) => {
                let mut order = WriteOrder::new(action, to, origin);
                order.reason = reason;
                order.forced = forced;
                order.reply = reply;
                self.start_write(order);
            }
            Err(why) => self.answer(reply, Err(why)),
        }
    }

    /// The split we can move from, or why no write can start now.
    pub(super) fn ready_for_write(&self) -> Result<Split, String> {
        if let Some(f) = &self.inflight {
            return Err(format!(
                "busy: {} {} → {} is in flight; roll back to preempt it",
                f.change.action,
                show(f.change.from),
                f.change.to
            ));
        }
        self.state
            .split
            .ok_or_else(|| "split unknown: the router has not answered yet".to_string())
    }

    /// `to`, unless it is where the router already is (no write for
    /// nothing) or a split the router cannot set (refused before any write).
    pub(super) fn moves(&self, from: Split, to: Split) -> Result<Split, String> {
        if from == to {
            return Err(format!("already at {to}"));
        }
        let caps = self.router.capabilities();
        if !caps.can_set(to) {
            return Err(format!(
                "the {} router cannot set {to}: it can set {}",
                self.router.kind(),
                caps.describe()
            ));
        }
        Ok(to)
    }

    /// The next step, if the gate (or `force`) lets us go there.
    pub(super) fn advance_target(&self, force: bool) -> Result<(Split, bool), String> {
        let from = self.ready_for_write()?;
        let to = self
            .plan
            .next_target(from)
            .ok_or_else(|| "already at 100 %: nothing to advance".to_string())?;
        let to = self.moves(from, to)?;
        self.raise_check(from, to, force).map(|forced| (to, forced))
    }

    pub(super) fn toggle_pause(&mut self, origin: Origin) -> Reply {
        if self.inflight.is_some() {
            return Err("a traffic change is in flight; pause once it lands".into());
        }
        let now = now();
        let last = self.plan.steps.len() - 1;
        let (action, msg) = match self.state.phase.clone() {
            Phase::Canary { step } => {
                self.state.dwell_left = self
                    .state
                    .dwell_until
                    .take()
                    .map(|u| u.saturating_duration_since(now));
                self.state.phase = Phase::Paused { step };
                (
                    RecordAction::Pause,
                    "paused: dwell clock and autopilot stopped",
                )
            }
            Phase::Baking => {
                self.state.dwell_left = self
                    .state
                    .bake_until
                    .take()
                    .map(|u| u.saturating_duration_since(now));
                self.state.phase = Phase::Paused { step: last };
                (RecordAction::Pause, "paused: bake clock stopped")
            }
            Phase::Paused { step } => {
                let left = self.state.dwell_left.take().unwrap_or_default();
                // The time spent paused does not count toward the progress
                // deadline: the clock restarts with the remaining dwell.
                let waited = if step == last {
                    self.plan.bake
                } else {
                    self.plan.dwell
                };
                self.step_entered = now.checked_sub(waited.saturating_sub(left)).unwrap_or(now);
                if step == last && self.state.split == Some(Split::FULL) {
                    self.state.bake_until = Some(now + left);
                    self.state.phase = Phase::Baking;
                } else {
                    self.state.dwell_until = Some(now + left);
                    self.state.phase = Phase::Canary { step };
                }
                (RecordAction::Resume, "resumed")
            }
            other => return Err(format!("nothing to pause while {}", other.name())),
        };
        let rec = self.record(RecordKind::Control, origin, action);
        let _ = self.append(&rec);
        self.event(EventLevel::Info, msg);
        Ok(msg.into())
    }
}
