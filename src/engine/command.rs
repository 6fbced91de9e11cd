//! What front ends ask of the engine.

use tokio::sync::oneshot;

use crate::model::Split;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Move to the next plan step; `force` passes a closed gate (journaled
    /// as forced).
    Advance { force: bool },
    /// Move to the previous plan step (0 % before the first).
    StepBack,
    /// Set an arbitrary split (`:set 30`). Raising green's traffic passes
    /// the same gate as an advance; `force` passes a closed gate (journaled
    /// as forced). Lowering it is never gated.
    SetSplit {
        split: Split,
        reason: Option<String>,
        force: bool,
    },
    /// Set 0 % now, preempting any write in flight. Never gated.
    Rollback { reason: String },
    /// Flip to 100 % now, skipping the remaining steps (like
    /// `argo rollouts promote --full`).
    Promote,
    /// Hold or resume the plan (stops the dwell clock and the autopilot).
    TogglePause,
    /// Arm or disarm auto-rollback.
    SetArmed(bool),
    /// Write a free-form note to the journal.
    Note(String),
    /// Retire blue (scale it to 0): only when promoted and the standby
    /// window is over, on routers that can scale. Moves no traffic.
    DecommissionBlue,
    /// Run the smoke checks (green at 0 %) and the command gates still
    /// ahead of the current split, now (`s`, `:smoke`).
    RunChecks,
    /// How an alert went (sent by the alert task): an event, and a journal
    /// line of kind `alert`. `text` never holds the webhook's secret parts.
    AlertResult { delivered: bool, text: String },
    /// The cockpit lost its terminal: journal `terminal lost at N %`
    /// followed by `then` (what the process does next), and alert.
    TerminalLost { then: String },
    /// Stop the engine. Never moves traffic.
    Shutdown,
}

impl Command {
    /// True for commands that can move traffic, or change what serves it
    /// (refused in read-only mode).
    pub fn moves_traffic(&self) -> bool {
        matches!(
            self,
            Command::Advance { .. }
                | Command::StepBack
                | Command::SetSplit { .. }
                | Command::Rollback { .. }
                | Command::Promote
                | Command::DecommissionBlue
        )
    }
}

/// Who asked; written to the journal beside `$USER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Tui,
    Cli,
    Autopilot,
    AutoRollback,
    /// The alert task reporting how a webhook call went.
    Alerts,
    /// `cutover drill`: a rehearsal. Its raise skips the gate (it is the
    /// point of the drill), and its rollback is measured like a real one
    /// but never remembered as green having failed.
    Drill,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::Tui => "tui",
            Origin::Cli => "cli",
            Origin::Autopilot => "autopilot",
            Origin::AutoRollback => "auto-rollback",
            Origin::Alerts => "alerts",
            Origin::Drill => "drill",
        }
    }
}

pub use super::reply::Reply;

#[derive(Debug)]
pub struct Request {
    pub command: Command,
    pub origin: Origin,
    pub reply: Option<oneshot::Sender<Reply>>,
}
