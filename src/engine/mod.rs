//! The engine: owns the cutover, receives [`Command`]s over mpsc, publishes
//! [`State`] over `watch`. No terminal code here.

pub mod action;
pub mod clock;
pub mod command;
pub mod gate_reason;
pub mod guardrail;
pub mod journal;
pub mod journal_file;
pub mod journal_lines;
pub mod journal_read;
pub mod journal_words;
pub mod journal_writer;
pub mod last_rollback;
pub mod memory;
pub mod notice;
pub mod observed;
pub mod plan;
pub mod reply;
pub mod sampling;
pub mod state;
pub mod task;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

pub use action::{Action, WriteOutcome};
pub use clock::WallClock;
pub use command::{Command, Origin, Reply, Request};
pub use memory::RolledBackMemory;
pub use notice::{Notice, NoticeReceiver, NoticeSender};
pub use reply::{Change, Done, Landed, Refusal};
pub use state::{
    Event, EventLevel, Gate, Observed, Outcome, PendingChange, Phase, PlanView, RollbackRetry,
    RollbackTimes, State, ToZero, Verified, Verifying, rollback_figure,
};
pub use task::{EngineOptions, spawn};

/// What front ends hold: a way to send commands and a view of the state.
///
/// The state is published as an `Arc`: a front end clones the `Arc` out of
/// the receiver and drops the borrow at once, so a terminal or a pipe that
/// stalls while drawing it never holds the engine up.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<Request>,
    /// Rollbacks only: nothing else is ever sent here, so a burst of other
    /// commands can never fill the path a rollback takes. Unbounded because
    /// rollbacks are rare and each is handled at once (a second joins the
    /// first).
    rollbacks: mpsc::UnboundedSender<Request>,
    state: watch::Receiver<Arc<State>>,
}

impl EngineHandle {
    pub fn new(
        commands: mpsc::Sender<Request>,
        rollbacks: mpsc::UnboundedSender<Request>,
        state: watch::Receiver<Arc<State>>,
    ) -> Self {
        EngineHandle {
            commands,
            rollbacks,
            state,
        }
    }

    /// A receiver of every published state.
    pub fn state(&self) -> watch::Receiver<Arc<State>> {
        self.state.clone()
    }

    /// The latest published state, without holding any borrow.
    pub fn current(&self) -> Arc<State> {
        self.state.borrow().clone()
    }

    /// Sends a command without waiting: never blocks, never awaits the
    /// network. A rollback always goes through (its own lane); anything
    /// else fails when the engine is gone or its queue is full.
    pub fn send(&self, origin: Origin, command: Command) -> Result<(), String> {
        let req = Request {
            command,
            origin,
            reply: None,
        };
        if matches!(req.command, Command::Rollback { .. }) {
            return self
                .rollbacks
                .send(req)
                .map_err(|_| "engine stopped".to_string());
        }
        self.commands.try_send(req).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => "engine busy: command queue full".to_string(),
            mpsc::error::TrySendError::Closed(_) => "engine stopped".to_string(),
        })
    }

    /// Sends a command and waits until it is applied and journaled. A
    /// rollback takes its own lane and never waits for queue space.
    pub async fn call(&self, origin: Origin, command: Command) -> Reply {
        let (tx, rx) = oneshot::channel();
        let req = Request {
            command,
            origin,
            reply: Some(tx),
        };
        let sent = if matches!(req.command, Command::Rollback { .. }) {
            self.rollbacks.send(req).is_ok()
        } else {
            self.commands.send(req).await.is_ok()
        };
        if !sent {
            return Err(Refusal::EngineStopped);
        }
        rx.await.map_err(|_| Refusal::NoAnswer)?
    }
}
