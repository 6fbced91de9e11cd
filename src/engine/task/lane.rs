//! The write lane: the one router write in flight, a rollback queued
//! behind the write it preempted, a failing rollback's retry, the router's
//! revision as last read or written, the write generation, and whether the
//! next read is to be adopted as the truth. It decides; the engine applies
//! what it decides (journal, events, answers).

use std::time::{Instant, SystemTime};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::PREEMPT_DEADLINE;
use super::rollback_retry::Retry;
use super::write_task::WriteDone;
use crate::engine::action::Action;
use crate::engine::command::{Origin, Reply};
use crate::engine::journal::ReadingRecord;
use crate::engine::reply::Change;
use crate::engine::state::PendingChange;
use crate::model::Split;
use crate::router::Revision;

/// Who decided on a write, why, and whether past the gate: carried from
/// the order to the write in flight and, for a rollback that fails, to
/// each of its retries.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Decision {
    pub(super) origin: Origin,
    pub(super) reason: Option<String>,
    pub(super) forced: bool,
}

impl Decision {
    /// Decided by `origin`, with no reason given and not forced.
    pub(super) fn by(origin: Origin) -> Decision {
        Decision {
            origin,
            reason: None,
            forced: false,
        }
    }

    /// The reason a rollback is remembered and shown by: the one given,
    /// else `rollback`.
    pub(super) fn rollback_reason(&self) -> String {
        self.reason.clone().unwrap_or_else(|| "rollback".into())
    }
}

/// A router write in flight.
pub(super) struct InFlight {
    pub(super) task: JoinHandle<WriteDone>,
    /// Cancelled when a rollback preempts this write; the router stops at
    /// its next safe point.
    pub(super) cancel: CancellationToken,
    pub(super) change: PendingChange,
    pub(super) decision: Decision,
    /// Green's readings when the write was decided, for the alert.
    pub(super) readings: Vec<String>,
    /// Everyone waiting for this write (a second `r` joins the rollback in
    /// flight rather than restarting it).
    pub(super) replies: Vec<oneshot::Sender<Reply>>,
    /// A retry of a rollback that did not land: it has no intent line of
    /// its own, and its failure is journaled only when the reason changes.
    pub(super) retry: bool,
}

impl InFlight {
    /// A write just handed to its task: nobody waiting yet.
    pub(super) fn new(
        task: JoinHandle<WriteDone>,
        cancel: CancellationToken,
        change: PendingChange,
        decision: Decision,
    ) -> InFlight {
        InFlight {
            task,
            cancel,
            change,
            decision,
            readings: Vec::new(),
            replies: Vec::new(),
            retry: false,
        }
    }
}

/// A rollback waiting for the write it preempted to reach a safe point.
pub(super) struct QueuedRollback {
    pub(super) order: WriteOrder,
    /// Callers of later rollbacks that joined this one.
    pub(super) joined: Vec<oneshot::Sender<Reply>>,
    /// When it was asked for: its measured time starts here, wait included.
    pub(super) asked: Instant,
    /// When the write in flight is abandoned if it has not stopped.
    deadline: Instant,
}

/// What `start_write` is asked to do.
pub(super) struct WriteOrder {
    pub(super) action: Action,
    pub(super) to: Split,
    pub(super) decision: Decision,
    /// The readings behind an automatic decision.
    pub(super) readings: Vec<ReadingRecord>,
    /// The wall time of the data behind an automatic decision.
    pub(super) data_wall: Option<SystemTime>,
    pub(super) reply: Option<oneshot::Sender<Reply>>,
}

impl WriteOrder {
    pub(super) fn new(action: Action, to: Split, origin: Origin) -> WriteOrder {
        WriteOrder {
            action,
            to,
            decision: Decision::by(origin),
            readings: Vec::new(),
            data_wall: None,
            reply: None,
        }
    }
}

/// What the lane decided about a new write.
pub(super) enum Admit {
    /// Nothing in flight: begin it now.
    Begin(WriteOrder),
    /// Not a rollback, and a write is in flight: refused.
    Refused(WriteOrder),
    /// A rollback joined the one already waiting for a safe point.
    Joined,
    /// The write in flight (this change) was cancelled; the rollback waits
    /// for its safe point, until [`PREEMPT_DEADLINE`].
    Preempting(Change),
}

/// What woke the lane.
pub(super) enum LaneWake {
    /// The write a rollback preempted did not stop in time.
    PreemptDeadline,
    Written(Result<WriteDone, tokio::task::JoinError>),
}

#[derive(Default)]
pub(super) struct WriteLane {
    inflight: Option<InFlight>,
    queued: Option<QueuedRollback>,
    /// A rollback that did not land, retried until it does.
    retry: Option<Retry>,
    /// The router's revision as last read or written: every write expects
    /// it, so a change made by someone else is never overwritten blindly.
    revision: Option<Revision>,
    /// Bumped when a write starts and ends: a read that started in an older
    /// generation may predate the write and is thrown away.
    generation: u64,
    /// After a failed or unverified write, the next read is the truth and
    /// is adopted without calling it an outside change.
    reconcile: bool,
}

impl WriteLane {
    /// A write is in flight.
    pub(super) fn writing(&self) -> bool {
        self.inflight.is_some()
    }

    /// A rollback waits for the write it preempted.
    pub(super) fn preempting(&self) -> bool {
        self.queued.is_some()
    }

    /// A write in flight or a rollback waiting: no other work starts.
    pub(super) fn busy(&self) -> bool {
        self.writing() || self.preempting()
    }

    /// A rollback is on its way (in flight or waiting for a safe point).
    pub(super) fn rolling_back(&self) -> bool {
        self.preempting()
            || self
                .in_flight()
                .is_some_and(|f| f.change.action == Action::Rollback)
    }

    pub(super) fn in_flight(&self) -> Option<&InFlight> {
        self.inflight.as_ref()
    }

    /// The rollback in flight, which later rollbacks join.
    pub(super) fn rollback_in_flight(&mut self) -> Option<&mut InFlight> {
        self.inflight
            .as_mut()
            .filter(|f| f.change.action == Action::Rollback)
    }

    /// Decides what becomes of `order` asked for at `now`.
    pub(super) fn admit(&mut self, order: WriteOrder, now: Instant) -> Admit {
        let Some(f) = &mut self.inflight else {
            return Admit::Begin(order);
        };
        if order.action != Action::Rollback {
            return Admit::Refused(order);
        }
        if let Some(q) = &mut self.queued {
            q.joined.extend(order.reply);
            return Admit::Joined;
        }
        f.cancel.cancel();
        self.queued = Some(QueuedRollback {
            order,
            joined: Vec::new(),
            asked: now,
            deadline: now + PREEMPT_DEADLINE,
        });
        Admit::Preempting(f.change.change())
    }

    /// The write is on its way.
    pub(super) fn begin(&mut self, f: InFlight) {
        self.generation += 1;
        self.inflight = Some(f);
    }

    /// The write in flight ended (or is given up on).
    pub(super) fn finish(&mut self) -> Option<InFlight> {
        let f = self.inflight.take()?;
        self.generation += 1;
        Some(f)
    }

    /// The write in flight did not stop in time: aborted, and the revision
    /// it may have changed forgotten.
    pub(super) fn abandon(&mut self) -> Option<InFlight> {
        let f = self.finish()?;
        f.task.abort();
        self.revision = None;
        Some(f)
    }

    /// The rollback that waited, now free to go.
    pub(super) fn take_queued(&mut self) -> Option<QueuedRollback> {
        self.queued.take()
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    pub(super) fn revision(&self) -> Option<Revision> {
        self.revision.clone()
    }

    pub(super) fn set_revision(&mut self, revision: Option<Revision>) {
        self.revision = revision;
    }

    /// The next read is the truth after a change that did not land as asked.
    pub(super) fn reconcile_next_read(&mut self) {
        self.reconcile = true;
    }

    pub(super) fn take_reconcile(&mut self) -> bool {
        std::mem::take(&mut self.reconcile)
    }

    pub(super) fn retry(&self) -> Option<&Retry> {
        self.retry.as_ref()
    }

    pub(super) fn retry_mut(&mut self) -> Option<&mut Retry> {
        self.retry.as_mut()
    }

    pub(super) fn retry_or(&mut self, first: impl FnOnce() -> Retry) -> &mut Retry {
        self.retry.get_or_insert_with(first)
    }

    pub(super) fn take_retry(&mut self) -> Option<Retry> {
        self.retry.take()
    }

    /// Waits for the write in flight, or forever when there is none.
    pub(super) async fn written(&mut self) -> Result<WriteDone, tokio::task::JoinError> {
        match &mut self.inflight {
            Some(f) => (&mut f.task).await,
            None => std::future::pending().await,
        }
    }

    /// Waits for what the lane waits for: a queued rollback's deadline
    /// (first), or the write in flight; forever when neither.
    pub(super) async fn wake(&mut self) -> LaneWake {
        let deadline = self.queued.as_ref().map(|q| q.deadline);
        let preempt_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = preempt_deadline => LaneWake::PreemptDeadline,
            r = self.written() => LaneWake::Written(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::clock::now;

    fn in_flight(action: Action) -> InFlight {
        let change = PendingChange {
            from: Some(Split::ZERO),
            to: Split::new(5).unwrap(),
            started: now(),
            action,
        };
        let task = tokio::spawn(std::future::pending());
        InFlight::new(
            task,
            CancellationToken::new(),
            change,
            Decision::by(Origin::Tui),
        )
    }

    #[tokio::test]
    async fn a_rollback_preempts_the_write_in_flight_and_later_ones_join_it() {
        let mut lane = WriteLane::default();
        let order = || WriteOrder::new(Action::Rollback, Split::ZERO, Origin::Tui);
        assert!(matches!(lane.admit(order(), now()), Admit::Begin(_)));
        lane.begin(in_flight(Action::Advance));
        let cancel = lane.in_flight().unwrap().cancel.clone();
        let advance = WriteOrder::new(Action::Advance, Split::FULL, Origin::Tui);
        assert!(matches!(lane.admit(advance, now()), Admit::Refused(_)));
        assert!(!cancel.is_cancelled());
        let Admit::Preempting(change) = lane.admit(order(), now()) else {
            panic!("not preempting");
        };
        assert_eq!(change.action, Action::Advance);
        assert!(cancel.is_cancelled() && lane.rolling_back());
        assert!(matches!(lane.admit(order(), now()), Admit::Joined));
        let generation = lane.generation();
        let f = lane.abandon().unwrap();
        assert_eq!(f.change.action, Action::Advance);
        assert_eq!(lane.generation(), generation + 1);
        assert!(!lane.writing() && lane.preempting());
        assert!(lane.take_queued().is_some_and(|q| q.joined.is_empty()));
        assert!(!lane.busy());
    }

    #[tokio::test]
    async fn every_write_bumps_the_generation_twice_and_abandoning_forgets_the_revision() {
        let mut lane = WriteLane::default();
        lane.set_revision(Some(Revision("7".into())));
        lane.begin(in_flight(Action::Set));
        assert_eq!(lane.generation(), 1);
        assert!(lane.finish().is_some());
        assert_eq!(lane.generation(), 2);
        assert_eq!(lane.revision(), Some(Revision("7".into())));
        lane.begin(in_flight(Action::Set));
        lane.abandon();
        assert_eq!(lane.revision(), None);
        lane.reconcile_next_read();
        assert!(lane.take_reconcile() && !lane.take_reconcile());
    }
}
