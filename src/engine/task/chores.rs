//! Router chores that move no traffic: scaling green down after a rollback
//! (where the router is configured to) and retiring blue after the standby
//! window. Each runs on a task of its own, so it never delays a traffic
//! change, and each result is journaled as a `control` record and said as
//! an event.

use tokio::sync::{mpsc, oneshot};

use super::job::Finished;
use super::{Engine, SHUTDOWN_GRACE, WRITE_TIMEOUT};

use crate::engine::action::WriteOutcome;
use crate::engine::command::{Origin, Reply};
use crate::engine::journal::RecordAction;
use crate::engine::journal::RecordKind;
use crate::engine::reply::{Done, Refusal};
use crate::engine::state::{EventLevel, Phase};
use crate::model::Split;
use crate::router::RouterError;

/// Which chore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chore {
    /// After a rollback landed: `TrafficRouter::after_rollback`.
    AfterRollback,
    /// The confirmed `decommission blue` action.
    DecommissionBlue,
}

impl Chore {
    /// The journal's `action`.
    fn action(self) -> RecordAction {
        match self {
            Chore::AfterRollback => RecordAction::ScaleDownGreen,
            Chore::DecommissionBlue => RecordAction::DecommissionBlue,
        }
    }
}

/// What a chore's task reports.
#[derive(Debug)]
pub(super) struct ChoreDone {
    chore: Chore,
    origin: Origin,
    /// `Ok(None)`: the router had nothing to do.
    result: Result<Option<String>, RouterError>,
    reply: Option<oneshot::Sender<Reply>>,
}

impl Engine {
    pub(super) fn start_chore(
        &mut self,
        chore: Chore,
        origin: Origin,
        reply: Option<oneshot::Sender<Reply>>,
    ) {
        let workload = self.jobs.workload.clone();
        // Every chore's answer counts: each is journaled.
        self.jobs.chores.add(async move {
            let work = async {
                match chore {
                    Chore::AfterRollback => workload.after_rollback().await,
                    Chore::DecommissionBlue => workload.decommission_blue().await.map(Some),
                }
            };
            let result = match tokio::time::timeout(WRITE_TIMEOUT, work).await {
                Ok(r) => r,
                Err(_) => Err(RouterError::Unavailable(format!(
                    "no answer within {}",
                    crate::format::span(WRITE_TIMEOUT)
                ))),
            };
            ChoreDone {
                chore,
                origin,
                result,
                reply,
            }
        });
    }

    pub(super) fn on_chore(&mut self, done: ChoreDone) {
        let ChoreDone {
            chore,
            origin,
            result,
            reply,
        } = done;
        let (level, text, r) = match (chore, result) {
            (_, Ok(None)) => return self.answer(reply, Ok(Done::NothingToDo)),
            (Chore::AfterRollback, Ok(Some(what))) => (
                EventLevel::Info,
                format!("after the rollback: {what}"),
                Ok(what),
            ),
            (Chore::DecommissionBlue, Ok(Some(what))) => {
                self.state.blue_decommissioned = true;
                (
                    EventLevel::Info,
                    format!("blue decommissioned: {what}"),
                    Ok(what),
                )
            }
            (Chore::AfterRollback, Err(e)) => (
                EventLevel::Error,
                format!("after the rollback, scaling green down FAILED: {e} (traffic is on blue)"),
                Err(e.to_string()),
            ),
            (Chore::DecommissionBlue, Err(e)) => (
                EventLevel::Error,
                format!("decommission blue FAILED: {e}"),
                Err(e.to_string()),
            ),
        };
        let mut rec = self.record(RecordKind::Control, origin, chore.action());
        rec.outcome = Some(if r.is_ok() {
            WriteOutcome::Ok
        } else {
            WriteOutcome::Failed
        });
        rec.detail = Some(match &r {
            Ok(what) | Err(what) => what.clone(),
        });
        let journaled = self.append(&rec);
        let text = match journaled {
            Ok(()) => text,
            Err(e) => format!("{text}; NOT JOURNALED: {e}"),
        };
        self.event(level, text);
        self.answer(reply, r.map(Done::Chore).map_err(Refusal::ChoreFailed));
    }

    /// At shutdown: a chore in flight (the scale-down that a one-shot
    /// `rollback` starts once traffic is on blue) is given the shutdown's
    /// grace to answer, so that its result is journaled rather than lost
    /// with the process; one still running then is said, not waited for.
    pub(super) async fn finish_chores(
        &mut self,
        chores: &mut mpsc::UnboundedReceiver<Finished<ChoreDone>>,
    ) {
        let until = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while self.jobs.chores.pending() {
            match tokio::time::timeout_at(until, chores.recv()).await {
                Ok(Some(done)) => {
                    if let Some(c) = self.jobs.chores.finish(done) {
                        self.on_chore(c);
                    }
                }
                _ => {
                    let text = format!(
                        "stopped with a chore still running after {} (scaling green down or \
                         retiring blue): its result is not journaled; the router shows its state",
                        crate::format::span(SHUTDOWN_GRACE)
                    );
                    self.event(EventLevel::Warn, text);
                    break;
                }
            }
        }
    }

    /// `decommission blue`: refused unless green has had all traffic since
    /// a promotion whose standby window is over, on a router that scales.
    pub(super) fn decommission_blue(
        &mut self,
        origin: Origin,
        reply: Option<oneshot::Sender<Reply>>,
    ) {
        let refuse = if !self.jobs.workload.can_decommission_blue() {
            Some(Refusal::CannotDecommission(self.router.kind().to_string()))
        } else if self.state.phase != Phase::Promoted
            || self.state.traffic.split != Some(Split::FULL)
        {
            Some(Refusal::NotPromoted)
        } else if self.lane.writing() || self.jobs.chores.pending() {
            Some(Refusal::ChangeInFlight)
        } else if self.state.blue_decommissioned {
            Some(Refusal::AlreadyDecommissioned)
        } else {
            let wall = self.options.wall.now();
            match self.state.clock.standby_until {
                Some(until) if until > wall => Some(Refusal::Standby(
                    until.duration_since(wall).unwrap_or_default(),
                )),
                _ => None,
            }
        };
        if let Some(why) = refuse {
            return self.answer(reply, Err(why));
        }
        self.event(EventLevel::Info, "decommission blue: scaling blue to 0");
        self.start_chore(Chore::DecommissionBlue, origin, reply);
    }
}
