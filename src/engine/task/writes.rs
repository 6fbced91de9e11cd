//! Router writes: journaled intent, the write on a task of its own
//! (conditional on the revision last read, cancellable at the router's safe
//! points), preemption by a rollback, the outcome, and the phase it leads to.

use super::*;

impl Engine {
    /// Journals the intent, then hands the write to a task of its own.
    /// Nothing else starts while a write is in flight; a rollback cancels
    /// the write in flight and goes ahead once that write has stopped at a
    /// safe point (or after [`PREEMPT_DEADLINE`]).
    pub(super) fn start_write(&mut self, order: WriteOrder) {
        let rollback = order.action == Action::Rollback;
        // A rollback already failing is the same rollback: try it again
        // now rather than decide (and journal) a second one.
        if rollback && self.retry.is_some() {
            match self
                .inflight
                .as_mut()
                .filter(|f| f.change.action == Action::Rollback)
            {
                Some(f) => f.replies.extend(order.reply),
                None => {
                    self.retry_now(order.reply);
                }
            }
            return;
        }
        // A rollback kills any command gate first (a signal, no waiting) and
        // journals it only once the rollback is on its way.
        let killed = if rollback {
            self.kill_commands()
        } else {
            Vec::new()
        };
        self.start_write_order(order);
        self.report_killed(killed, "killed by rollback");
    }

    fn start_write_order(&mut self, order: WriteOrder) {
        let rollback = order.action == Action::Rollback;
        if let Some(f) = &mut self.inflight {
            if !rollback {
                // Callers check `ready_for_write` first; keep the write.
                let reply = order.reply;
                self.answer(reply, Err("busy: a traffic change is in flight".into()));
                return;
            }
            if let Some(q) = &mut self.queued_rollback {
                // Already waiting to roll back: wait with it.
                q.joined.extend(order.reply);
                return;
            }
            f.cancel.cancel();
            let text = format!(
                "{} {} → {} cancelled by rollback; waiting up to {}s for it to stop safely",
                f.change.action,
                show(f.change.from),
                f.change.to,
                PREEMPT_DEADLINE.as_secs()
            );
            self.event(EventLevel::Warn, text);
            let asked = now();
            self.queued_rollback = Some(QueuedRollback {
                order,
                joined: Vec::new(),
                asked,
                deadline: asked + PREEMPT_DEADLINE,
            });
            return;
        }
        self.begin_write(order, now(), Vec::new());
    }

    /// The write in flight did not reach a safe point in time: abandon it
    /// (journaled) and roll back anyway.
    pub(super) fn abandon_preempted(&mut self) {
        if let Some(f) = self.inflight.take() {
            f.task.abort();
            self.write_gen += 1;
            self.state.pending = None;
            let why = format!(
                "abandoned: no safe point within {}s of the rollback",
                PREEMPT_DEADLINE.as_secs()
            );
            let _ = self.journal_outcome(&f, WriteOutcome::Abandoned, None, Some(&why));
            self.event(
                EventLevel::Error,
                format!(
                    "{} {} → {} {why}; rolling back anyway",
                    f.change.action,
                    show(f.change.from),
                    f.change.to
                ),
            );
            // The abandoned write may have changed the revision.
            self.revision = None;
            for tx in f.replies {
                self.answer(Some(tx), Err("preempted by rollback".into()));
            }
        }
        self.run_queued_rollback();
    }

    fn run_queued_rollback(&mut self) {
        if let Some(q) = self.queued_rollback.take() {
            self.begin_write(q.order, q.asked, q.joined);
        }
    }

    fn begin_write(
        &mut self,
        order: WriteOrder,
        started: Instant,
        joined: Vec<oneshot::Sender<Reply>>,
    ) {
        let WriteOrder {
            action,
            to,
            origin,
            reason,
            forced,
            readings,
            data_wall,
            reply,
        } = order;
        let rollback = action == Action::Rollback;
        let from = self.state.split;
        // Writing past another process's lock is always a forced act.
        let forced = forced || self.options.forced_past.is_some();
        let reason = match (&self.options.forced_past, reason) {
            (Some(held), Some(r)) => Some(format!("{r} (forced: {held})")),
            (Some(held), None) => Some(format!("forced: {held}")),
            (None, r) => r,
        };
        let mut rec = self.record(RecordKind::Intent, origin, action);
        rec.from = from.map(Split::green);
        rec.to = Some(to.green());
        rec.reason = reason.clone();
        rec.forced = forced;
        // Every decision keeps the readings it was taken on, for the
        // report; an automatic one brings those that triggered it.
        rec.readings = if readings.is_empty() {
            self.state.judgements.iter().map(reading_record).collect()
        } else {
            readings
        };
        rec.detail =
            data_wall.map(|w| format!("data measured at {}", humantime::format_rfc3339_millis(w)));
        if let Err(e) = self.append(&rec) {
            if !rollback {
                self.answer(reply, Err(format!("{e}; traffic not moved")));
                return;
            }
            // A rollback is never blocked, not even by the journal.
            self.event(EventLevel::Error, format!("{e}; rolling back anyway"));
        }
        let cancel = CancellationToken::new();
        let task = tokio::spawn(super::write_task::write_task(
            self.router.clone(),
            crate::router::WriteRequest {
                split: to,
                expected: self.revision.clone(),
                cancel: cancel.clone(),
            },
            rollback,
        ));
        let change = PendingChange {
            from,
            to,
            started,
            action,
        };
        let verb = if forced {
            format!("{action} (forced)")
        } else {
            action.to_string()
        };
        self.event(
            EventLevel::Traffic,
            match reason.as_deref() {
                // An auto-rollback's reason already says who.
                Some(r) if r.starts_with(origin.name()) => {
                    format!("{verb} {} → {to}: {r}", show(from))
                }
                Some(r) => format!("{verb} {} → {to} by {}: {r}", show(from), origin.name()),
                None => format!("{verb} {} → {to} by {}", show(from), origin.name()),
            },
        );
        if rollback {
            self.watch_rollback(started, origin, reason.as_deref());
            // Asked for is enough to remember: a rollback interrupted or
            // failing still means green failed (see `remember_rollback`).
            if origin != Origin::Drill {
                self.remember_rollback(reason.as_deref());
            }
        } else {
            self.stop_watching_rollback();
        }
        self.state.pending = Some(change.clone());
        self.write_gen += 1;
        let readings = self.green_readings();
        self.inflight = Some(InFlight {
            task,
            cancel,
            change,
            origin,
            reason,
            forced,
            readings,
            replies: reply.into_iter().chain(joined).collect(),
            retry: false,
        });
    }

    pub(super) fn on_written(&mut self, result: Result<WriteDone, tokio::task::JoinError>) {
        let Some(mut f) = self.inflight.take() else {
            return;
        };
        self.write_gen += 1;
        self.state.pending = None;
        let ms = now()
            .saturating_duration_since(f.change.started)
            .as_millis();
        let done = result.unwrap_or_else(|e| WriteDone {
            result: Err(WriteFailure {
                error: RouterError::Unavailable(format!("router task failed: {e}")),
                maybe_applied: true,
                unconfirmed: None,
            }),
            verification: None,
            retried: None,
        });
        if let Some(v) = &done.verification
            && let Some(served) = v.served
        {
            self.state.verified = Some(Verified {
                served,
                at: now(),
                detail: v.detail.clone(),
            });
        }
        let preempted = self.queued_rollback.is_some();
        let result = match done.result {
            // A rollback that did not land is retried until it does: its
            // callers wait for the landing.
            Err(failure) if f.change.action == Action::Rollback => {
                self.rollback_try_failed(f, failure.text(), failure.maybe_applied);
                return;
            }
            r => r,
        };
        let (msg, reply): (String, fn(String) -> Reply) = match result {
            Ok(applied) => {
                self.revision = applied.revision.clone();
                let mut detail = applied.detail.clone();
                if let Some(v) = &done.verification {
                    detail = join_detail(&detail, &format!("verify: {}", v.detail));
                }
                if let Some(r) = &done.retried {
                    detail = join_detail(&format!("retried after a conflict: {r}"), &detail);
                }
                // A write that was past its point of no return when the
                // rollback came finished: it landed, and the rollback
                // follows it.
                if f.change.action == Action::Rollback
                    && let Some((tries, waiting)) = self.retry_landed()
                {
                    detail = join_detail(&detail, &tries);
                    f.replies.extend(waiting);
                }
                let journaled = self.journal_outcome(&f, WriteOutcome::Ok, Some(&detail), None);
                self.applied(&f, applied.split);
                if f.change.action == Action::Rollback
                    && applied.split == Split::ZERO
                    && f.origin != Origin::Drill
                {
                    // Scaling green down (where configured) follows the
                    // rollback on a task of its own: never before it. A
                    // drill's rollback leaves green as it was.
                    self.start_chore(super::chores::Chore::AfterRollback, f.origin, None);
                }
                self.notice_written(&f, Ok(applied.split));
                let mut msg = format!(
                    "{} {} → {} applied in {ms} ms ({detail})",
                    f.change.action,
                    show(f.change.from),
                    applied.split,
                );
                if let Err(e) = journaled {
                    msg.push_str(&format!("; NOT JOURNALED: {e}"));
                }
                self.event(EventLevel::Traffic, msg.clone());
                if f.change.action == Action::Rollback {
                    self.rollback_landed(&f);
                    // Taken by the router: reported now; what the data
                    // plane serves is checked on a task of its own.
                    self.start_verify(applied.split);
                }
                if preempted {
                    (format!("{msg}; preempted by rollback"), Err)
                } else {
                    (msg, Ok)
                }
            }
            Err(WriteFailure {
                error: RouterError::Cancelled,
                ..
            }) if preempted => {
                let _ = self.journal_outcome(
                    &f,
                    WriteOutcome::Preempted,
                    None,
                    Some("cancelled by rollback at a safe point; nothing changed"),
                );
                let msg = format!(
                    "{} {} → {} preempted by rollback after {ms} ms; nothing changed",
                    f.change.action,
                    show(f.change.from),
                    f.change.to
                );
                self.event(EventLevel::Warn, msg.clone());
                ("preempted by rollback".to_string(), Err)
            }
            Err(WriteFailure {
                error: RouterError::Conflict(who),
                maybe_applied: false,
                ..
            }) => {
                let _ = self.journal_outcome(&f, WriteOutcome::Conflict, None, Some(&who));
                let msg = format!(
                    "{} {} → {} not made: the router changed since it was read ({who}); re-reading, not retrying",
                    f.change.action,
                    show(f.change.from),
                    f.change.to
                );
                self.event(EventLevel::Error, msg.clone());
                self.notice_written(
                    &f,
                    Err(format!("the router changed since it was read ({who})")),
                );
                self.revision = None;
                self.after_failure(&f);
                (msg, Err)
            }
            Err(failure) => {
                let maybe_applied = failure.maybe_applied;
                let error = failure.text();
                let outcome = if maybe_applied {
                    WriteOutcome::Unverified
                } else {
                    WriteOutcome::Failed
                };
                let _ = self.journal_outcome(&f, outcome, None, Some(&error));
                let loud = if maybe_applied {
                    "UNVERIFIED (traffic may have moved)"
                } else {
                    "failed, previous split still in force"
                };
                let msg = format!(
                    "{} {} → {} {loud} after {ms} ms: {error}",
                    f.change.action,
                    show(f.change.from),
                    f.change.to
                );
                self.event(EventLevel::Error, msg.clone());
                self.notice_written(&f, Err(error));
                if maybe_applied {
                    self.revision = None;
                }
                self.after_failure(&f);
                (msg, Err)
            }
        };
        for tx in f.replies {
            self.answer(Some(tx), reply(msg.clone()));
        }
        self.run_queued_rollback();
    }

    /// After a write that did not land as asked: learn what is really in
    /// force rather than assume, and keep the autopilot from retrying at once.
    pub(super) fn after_failure(&mut self, f: &InFlight) {
        if f.origin == Origin::Autopilot {
            self.autopilot_after = Some(now() + self.retry_after());
        }
        self.reconcile = true;
        self.start_read();
    }

    /// How long the autopilot waits after a failed write.
    pub(super) fn retry_after(&self) -> Duration {
        self.config.source.interval.max(Duration::from_secs(2))
    }

    /// The router confirmed `split`: move the phase and its clocks.
    pub(super) fn applied(&mut self, f: &InFlight, split: Split) {
        let t = now();
        self.state.split_read_at = Some(t);
        self.state.router_error = None;
        self.enter_split(split, t);
        // A drill rehearses: green did not fail, and its raise is no
        // decision to trust green again.
        if f.origin == Origin::Drill {
            return;
        }
        self.update_rollback_memory(f, split);
        if f.change.action == Action::Rollback {
            let reason = f.reason.clone().unwrap_or_else(|| "rollback".into());
            self.state.phase = Phase::RolledBack {
                reason: reason.clone(),
            };
            if self.options.autopilot {
                self.state.outcome = Some(Outcome::RolledBack { reason });
            }
        }
    }

    /// A rollback the engine starts on its own (a breach, the progress
    /// deadline, an unfinished rollback found on start): said loudly, and
    /// journaled with the readings behind it.
    pub(super) fn roll_back_automatically(
        &mut self,
        origin: Origin,
        reason: String,
        readings: Vec<ReadingRecord>,
    ) {
        self.event(EventLevel::Error, reason.clone());
        let mut order = WriteOrder::new(Action::Rollback, Split::ZERO, origin);
        order.reason = Some(reason);
        order.readings = readings;
        order.data_wall = self.state.snapshot.as_ref().map(|s| s.wall);
        self.start_write(order);
    }
}

fn join_detail(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}; {b}"),
    }
}
