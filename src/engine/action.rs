//! The traffic changes the engine makes and how each can end, as enums:
//! the journal and the messages take their words from here, and nothing
//! compares strings to find out what a change was.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A traffic change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Advance,
    StepBack,
    Set,
    Rollback,
    Promote,
}

impl Action {
    /// The word in the journal's `action` field and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Action::Advance => "advance",
            Action::StepBack => "step back",
            Action::Set => "set",
            Action::Rollback => "rollback",
            Action::Promote => "promote",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a traffic change ended (the journal's `outcome` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOutcome {
    /// The router confirmed the new split.
    Ok,
    /// Refused; the previous split is still in force.
    Failed,
    /// The router took the write but did not confirm it: traffic may have
    /// moved.
    Unverified,
    /// The router's state changed since it was read; nothing was written.
    Conflict,
    /// A rollback cancelled it; the journal's detail says where it stopped.
    Preempted,
    /// The engine stopped, or gave up waiting for a safe point, while the
    /// write was in flight.
    Abandoned,
}

impl WriteOutcome {
    pub fn name(self) -> &'static str {
        match self {
            WriteOutcome::Ok => "ok",
            WriteOutcome::Failed => "failed",
            WriteOutcome::Unverified => "unverified",
            WriteOutcome::Conflict => "conflict",
            WriteOutcome::Preempted => "preempted",
            WriteOutcome::Abandoned => "abandoned",
        }
    }
}

impl fmt::Display for WriteOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
