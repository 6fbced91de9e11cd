//! The engine: owns the cutover, receives [`Command`]s over mpsc, publishes
//! [`State`] over `watch`. No terminal code here.

pub mod command;
pub mod guardrail;
pub mod journal;
mod journal_lines;
pub mod memory;
pub mod observed;
pub mod plan;
pub mod state;
pub mod task;

use tokio::sync::{mpsc, oneshot, watch};

pub use command::{Command, Origin, Reply, Request};
pub use memory::RolledBackMemory;
pub use state::{Event, EventLevel, Gate, Outcome, PendingChange, Phase, PlanView, State};
pub use task::{EngineOptions, spawn};

/// What front ends hold: a way to send commands and a view of the state.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<Request>,
    state: watch::Receiver<State>,
}

impl EngineHandle {
    pub fn new(commands: mpsc::Sender<Request>, state: watch::Receiver<State>) -> Self {
        EngineHandle { commands, state }
    }

    /// A receiver of every published state.
    pub fn state(&self) -> watch::Receiver<State> {
        self.state.clone()
    }

    /// Sends a command without waiting: never blocks, never awaits the
    /// network. Fails only when the engine is gone or its queue is full.
    pub fn send(&self, origin: Origin, command: Command) -> Result<(), String> {
        self.commands
            .try_send(Request {
                command,
                origin,
                reply: None,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => "engine busy: command queue full".to_string(),
                mpsc::error::TrySendError::Closed(_) => "engine stopped".to_string(),
            })
    }

    /// Sends a command and waits until it is applied and journaled.
    pub async fn call(&self, origin: Origin, command: Command) -> Reply {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Request {
                command,
                origin,
                reply: Some(tx),
            })
            .await
            .map_err(|_| "engine stopped".to_string())?;
        rx.await
            .map_err(|_| "engine stopped before answering".to_string())?
    }
}
