//! Router writes: journaled intent, the write on a task of its own
//! (conditional on the revision last read, cancellable at the router's safe
//! points), preemption by a rollback, the outcome, and the phase it leads to.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::chores::Chore;
use super::lane::{Admit, Decision, InFlight, WriteOrder};
use super::write_task::{WriteDone, WriteFailure, write_task};
use super::{Engine, PREEMPT_DEADLINE, reading_record};
use crate::engine::action::{Action, WriteOutcome};
use crate::engine::clock::now;
use crate::engine::command::{Origin, Reply};
use crate::engine::journal::{ReadingRecord, RecordKind};
use crate::engine::reply::{Change, Done, Landed, Refusal, show};
use crate::engine::state::{EventLevel, Outcome, PendingChange, Phase, Verified};
use crate::model::Split;
use crate::router::{Applied, RouterError, Verification, WriteRequest};

impl Engine {
    /// Journals the intent, then hands the write to a task of its own.
    /// Nothing else starts while a write is in flight; a rollback cancels
    /// the write in flight and goes ahead once that write has stopped at a
    /// safe point (or after [`PREEMPT_DEADLINE`]).
    pub(super) fn start_write(&mut self, order: WriteOrder) {
        let rollback = order.action == Action::Rollback;
        // A rollback already failing is the same rollback: try it again
        // now rather than decide (and journal) a second one.
        if rollback && self.lane.retry().is_some() {
            match self.lane.rollback_in_flight() {
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
        match self.lane.admit(order, now()) {
            Admit::Begin(order) => self.begin_write(order, now(), Vec::new()),
            // Callers check `ready_for_write` first; keep the write.
            Admit::Refused(order) => self.answer(order.reply, Err(Refusal::Busy)),
            // Already waiting to roll back: it waits with it.
            Admit::Joined => {}
            Admit::Preempting(change) => {
                let text = format!(
                    "{change} cancelled by rollback; waiting up to {}s for it to stop safely",
                    PREEMPT_DEADLINE.as_secs()
                );
                self.event(EventLevel::Warn, text);
            }
        }
        self.report_killed(killed, "killed by rollback");
    }

    /// The write in flight did not reach a safe point in time: abandon it
    /// (journaled) and roll back anyway.
    pub(super) fn abandon_preempted(&mut self) {
        if let Some(f) = self.lane.abandon() {
            self.state.traffic.pending = None;
            let why = format!(
                "abandoned: no safe point within {}s of the rollback",
                PREEMPT_DEADLINE.as_secs()
            );
            let _ = self.journal_outcome(&f, WriteOutcome::Abandoned, None, Some(&why));
            self.event(
                EventLevel::Error,
                format!("{} {why}; rolling back anyway", f.change.change()),
            );
            for tx in f.replies {
                self.answer(Some(tx), Err(Refusal::Preempted));
            }
        }
        self.run_queued_rollback();
    }

    fn run_queued_rollback(&mut self) {
        if let Some(q) = self.lane.take_queued() {
            self.begin_write(q.order, q.asked, q.joined);
        }
    }

    fn begin_write(
        &mut self,
        mut order: WriteOrder,
        started: Instant,
        joined: Vec<oneshot::Sender<Reply>>,
    ) {
        let rollback = order.action == Action::Rollback;
        let from = self.state.traffic.split;
        // Writing past another process's lock is always a forced act.
        if let Some(held) = &self.options.forced_past {
            order.decision.forced = true;
            order.decision.reason = Some(match order.decision.reason.take() {
                Some(r) => format!("{r} (forced: {held})"),
                None => format!("forced: {held}"),
            });
        }
        if let Err(e) = self.journal_intent(&mut order, from) {
            if !rollback {
                self.answer(order.reply, Err(Refusal::JournalNotMoved(e)));
                return;
            }
            // A rollback is never blocked, not even by the journal.
            self.event(EventLevel::Error, format!("{e}; rolling back anyway"));
        }
        let (task, cancel) = self.spawn_write(order.to, self.lane.revision(), rollback);
        let WriteOrder {
            action,
            to,
            decision,
            reply,
            ..
        } = order;
        let Decision {
            origin,
            ref reason,
            forced,
        } = decision;
        let change = PendingChange {
            from,
            to,
            started,
            action,
        };
        self.say_write(&change, origin, reason.as_deref(), forced);
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
        let f = InFlight {
            readings: self.green_readings(),
            replies: reply.into_iter().chain(joined).collect(),
            ..InFlight::new(task, cancel, change, decision)
        };
        self.track_write(f);
    }

    /// The write is on its way: shown as pending, and in the lane.
    pub(super) fn track_write(&mut self, f: InFlight) {
        self.state.traffic.pending = Some(f.change.clone());
        self.lane.begin(f);
    }

    /// The intent line, before the router is touched. Every decision keeps
    /// the readings it was taken on, for the report; an automatic one
    /// brings those that triggered it.
    fn journal_intent(
        &mut self,
        order: &mut WriteOrder,
        from: Option<Split>,
    ) -> Result<(), String> {
        let mut rec = self.record(RecordKind::Intent, order.decision.origin, order.action);
        rec.from = from.map(Split::green);
        rec.to = Some(order.to.green());
        rec.reason = order.decision.reason.clone();
        rec.forced = order.decision.forced;
        rec.evidence = self.evidence.e_values();
        let readings = std::mem::take(&mut order.readings);
        rec.readings = if readings.is_empty() {
            self.state
                .guard
                .judgements
                .iter()
                .map(reading_record)
                .collect()
        } else {
            readings
        };
        rec.detail = order
            .data_wall
            .map(|w| format!("data measured at {}", humantime::format_rfc3339_millis(w)));
        self.append(&rec)
    }

    /// Hands a write of `to` to a task of its own; the token cancels it.
    pub(super) fn spawn_write(
        &self,
        to: Split,
        expected: Option<crate::router::Revision>,
        rollback: bool,
    ) -> (tokio::task::JoinHandle<WriteDone>, CancellationToken) {
        let cancel = CancellationToken::new();
        let request = WriteRequest {
            split: to,
            expected,
            cancel: cancel.clone(),
        };
        let task = tokio::spawn(write_task(self.router.clone(), request, rollback));
        (task, cancel)
    }

    /// The change as an event: who asked, and why.
    fn say_write(
        &mut self,
        change: &PendingChange,
        origin: Origin,
        reason: Option<&str>,
        forced: bool,
    ) {
        let verb = if forced {
            format!("{} (forced)", change.action)
        } else {
            change.action.to_string()
        };
        let (from, to) = (show(change.from), change.to);
        self.event(
            EventLevel::Traffic,
            match reason {
                // An auto-rollback's reason already says who.
                Some(r) if r.starts_with(origin.name()) => format!("{verb} {from} → {to}: {r}"),
                Some(r) => format!("{verb} {from} → {to} by {}: {r}", origin.name()),
                None => format!("{verb} {from} → {to} by {}", origin.name()),
            },
        );
    }

    pub(super) fn on_written(&mut self, result: Result<WriteDone, tokio::task::JoinError>) {
        let Some(mut f) = self.lane.finish() else {
            return;
        };
        self.state.traffic.pending = None;
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
        let WriteDone {
            result,
            verification,
            retried,
        } = done;
        if let Some(v) = &verification
            && let Some(served) = v.served
        {
            self.state.traffic.verified = Some(Verified {
                served,
                at: now(),
                detail: v.detail.clone(),
            });
        }
        let preempted = self.lane.preempting();
        let reply = match result {
            // A rollback that did not land is retried until it does: its
            // callers wait for the landing.
            Err(failure) if f.change.action == Action::Rollback => {
                self.rollback_try_failed(f, failure.text(), failure.maybe_applied);
                return;
            }
            Ok(applied) => {
                let landed = self.write_landed(&mut f, applied, verification, retried, ms);
                if preempted {
                    Err(Refusal::LandedThenPreempted(landed))
                } else {
                    Ok(Done::Landed(landed))
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
                    "{} preempted by rollback after {ms} ms; nothing changed",
                    f.change.change()
                );
                self.event(EventLevel::Warn, msg);
                Err(Refusal::Preempted)
            }
            Err(failure) => Err(self.write_failed(&f, failure, ms)),
        };
        for tx in f.replies {
            self.answer(Some(tx), reply.clone());
        }
        self.run_queued_rollback();
    }

    /// The router confirmed the write: journaled, applied, said, and (for
    /// a rollback) checked against the data plane on a task of its own.
    fn write_landed(
        &mut self,
        f: &mut InFlight,
        applied: Applied,
        verification: Option<Verification>,
        retried: Option<String>,
        ms: u128,
    ) -> Landed {
        self.lane.set_revision(applied.revision.clone());
        let mut detail = applied.detail.clone();
        if let Some(v) = &verification {
            detail = join_detail(&detail, &format!("verify: {}", v.detail));
        }
        if let Some(r) = &retried {
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
        let journaled = self.journal_outcome(f, WriteOutcome::Ok, Some(&detail), None);
        self.applied(f, applied.split);
        if f.change.action == Action::Rollback
            && applied.split == Split::ZERO
            && f.decision.origin != Origin::Drill
        {
            // Scaling green down (where configured) follows the
            // rollback on a task of its own: never before it. A
            // drill's rollback leaves green as it was.
            self.start_chore(Chore::AfterRollback, f.decision.origin, None);
        }
        self.notice_written(f, Ok(applied.split));
        let landed = Landed {
            change: Change {
                to: applied.split,
                ..f.change.change()
            },
            ms,
            detail,
            unjournaled: journaled.err(),
        };
        self.event(EventLevel::Traffic, landed.to_string());
        if f.change.action == Action::Rollback {
            self.rollback_landed(f);
            // Taken by the router: reported now; what the data
            // plane serves is checked on a task of its own.
            self.start_verify(applied.split);
        }
        landed
    }

    /// The write did not land: journaled, said, and the router re-read.
    fn write_failed(&mut self, f: &InFlight, failure: WriteFailure, ms: u128) -> Refusal {
        let change = f.change.change();
        let (refusal, outcome, error) = match failure {
            WriteFailure {
                error: RouterError::Conflict(who),
                maybe_applied: false,
                ..
            } => {
                let error = format!("the router changed since it was read ({who})");
                let _ = self.journal_outcome(f, WriteOutcome::Conflict, None, Some(&who));
                (
                    Refusal::Conflict { change, who },
                    WriteOutcome::Conflict,
                    error,
                )
            }
            failure => {
                let unverified = failure.maybe_applied;
                let error = failure.text();
                let outcome = if unverified {
                    WriteOutcome::Unverified
                } else {
                    WriteOutcome::Failed
                };
                let _ = self.journal_outcome(f, outcome, None, Some(&error));
                let refusal = Refusal::Failed {
                    change,
                    unverified,
                    ms,
                    error: error.clone(),
                };
                (refusal, outcome, error)
            }
        };
        self.event(EventLevel::Error, refusal.to_string());
        self.notice_written(f, Err(error));
        if outcome != WriteOutcome::Failed {
            // A conflict or an unconfirmed write: the revision is not ours.
            self.lane.set_revision(None);
        }
        self.after_failure(f);
        refusal
    }

    /// After a write that did not land as asked: learn what is really in
    /// force rather than assume, and keep the autopilot from retrying at once.
    pub(super) fn after_failure(&mut self, f: &InFlight) {
        if f.decision.origin == Origin::Autopilot {
            self.clock.hold_autopilot(now() + self.retry_after());
        }
        self.lane.reconcile_next_read();
        self.start_read();
    }

    /// How long the autopilot waits after a failed write.
    pub(super) fn retry_after(&self) -> Duration {
        self.config.source.interval.max(Duration::from_secs(2))
    }

    /// The router confirmed `split`: move the phase and its clocks.
    pub(super) fn applied(&mut self, f: &InFlight, split: Split) {
        let t = now();
        self.state.traffic.split_read_at = Some(t);
        self.state.traffic.router_error = None;
        self.enter_split(split, t);
        // A drill rehearses: green did not fail, and its raise is no
        // decision to trust green again.
        if f.decision.origin == Origin::Drill {
            return;
        }
        self.update_rollback_memory(f, split);
        if f.change.action == Action::Rollback {
            let reason = f.decision.rollback_reason();
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
        order.decision.reason = Some(reason);
        order.readings = readings;
        order.data_wall = self.state.guard.snapshot.as_ref().map(|s| s.wall);
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
