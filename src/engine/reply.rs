//! The engine's answers as types: what was done, or why a command was
//! refused or did not land. Front ends print them through `Display`, which
//! gives the words the cockpit has always said; code and tests match on
//! the variants, never on the words.

use std::fmt;
use std::time::Duration;

use crate::model::Split;

use super::action::Action;
use super::gate_reason::{GateReason, joined};
use crate::gates::CheckReason;

/// The engine's answer: `Ok` once the change is applied and journaled,
/// `Err` when it was refused or failed.
pub type Reply = Result<Done, Refusal>;

/// A traffic change, as messages name it: `advance 1% → 5%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    pub from: Option<Split>,
    pub to: Split,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} → {}", self.action, show(self.from), self.to)
    }
}

/// A split, or `?` when it is not known.
pub fn show(s: Option<Split>) -> String {
    s.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
}

/// A traffic change the router confirmed: `set 0% → 30% applied in 12 ms
/// (detail)`, with a journal failure appended when the outcome line could
/// not be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Landed {
    /// `to` is the split the router confirmed.
    pub change: Change,
    pub ms: u128,
    pub detail: String,
    pub unjournaled: Option<String>,
}

impl fmt::Display for Landed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} applied in {} ms ({})",
            self.change, self.ms, self.detail
        )?;
        if let Some(e) = &self.unjournaled {
            write!(f, "; NOT JOURNALED: {e}")?;
        }
        Ok(())
    }
}

/// What was done.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// `Shutdown` taken: the engine stops.
    Stopping,
    /// A note journaled.
    Noted(String),
    /// A read-only cockpit's note: shown, not journaled (the journal is
    /// someone else's).
    NoteShown(String),
    /// How an alert went, journaled; the text says it.
    Alert(String),
    /// The lost terminal journaled: `terminal lost at N %; then`.
    TerminalLost(String),
    /// Auto-rollback armed or disarmed; `changed` is false when it
    /// already was (nothing journaled).
    Armed {
        armed: bool,
        changed: bool,
    },
    /// The plan held: the dwell clock (or the bake's) stopped.
    Paused {
        bake: bool,
    },
    Resumed,
    /// Checks started by `s`, by name (some may say they already run).
    ChecksStarted(Vec<String>),
    /// A rollback with nothing to do: all traffic is already on blue.
    AlreadyAtZero,
    /// A traffic change the router confirmed.
    Landed(Landed),
    /// A chore (scaling, decommissioning) the router did: its word.
    Chore(String),
    /// A chore with nothing to do.
    NothingToDo,
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Done::Stopping => f.write_str("stopping"),
            Done::Noted(text) => write!(f, "noted: {text}"),
            Done::NoteShown(text) => write!(f, "note (read-only, not journaled): {text}"),
            Done::Alert(text) | Done::TerminalLost(text) | Done::Chore(text) => f.write_str(text),
            Done::Armed { armed, changed } => f.write_str(match (armed, changed) {
                (true, true) => "auto-rollback armed",
                (false, true) => "auto-rollback DISARMED",
                (true, false) => "auto-rollback already armed",
                (false, false) => "auto-rollback already disarmed",
            }),
            Done::Paused { bake: false } => {
                f.write_str("paused: dwell clock and autopilot stopped")
            }
            Done::Paused { bake: true } => f.write_str("paused: bake clock stopped"),
            Done::Resumed => f.write_str("resumed"),
            Done::ChecksStarted(names) => write!(f, "running {}", names.join(", ")),
            Done::AlreadyAtZero => f.write_str("already at 0 %: all traffic is on blue"),
            Done::Landed(l) => l.fmt(f),
            Done::NothingToDo => f.write_str("nothing to do"),
        }
    }
}

/// Why a command was refused, or did not land.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A read-only cockpit moves no traffic.
    ReadOnly,
    /// A read-only cockpit keeps auto-rollback off.
    ReadOnlyArming,
    /// A read-only cockpit runs no checks.
    ReadOnlyChecks,
    /// A rollback is failing: only a rollback is accepted until it lands.
    RollbackFailing {
        tries: u32,
        error: String,
    },
    /// A traffic change is in flight (only a rollback preempts it).
    InFlight(Change),
    /// A write was asked for while one is in flight.
    Busy,
    /// A chore or a traffic change is in flight.
    ChangeInFlight,
    /// Pausing waits for the traffic change in flight.
    PauseInFlight,
    /// The router has not answered yet.
    SplitUnknown,
    /// Already at the split asked for.
    AlreadyAt(Split),
    /// The router cannot set this split.
    CannotSet {
        router: String,
        to: Split,
        can: String,
    },
    /// The plan has no step after 100 %.
    NothingToAdvance,
    /// Nothing to pause or resume in this phase (its name).
    NothingToPause(&'static str),
    /// The gate is closed for reasons force cannot pass.
    GateHard(Vec<GateReason>),
    /// The gate is closed; force passes it.
    GateClosed(Vec<GateReason>),
    /// Promoting a green that was rolled back needs force.
    PromoteRolledBack {
        green: String,
        reason: String,
    },
    /// Promote waits for the checks configured before 100 %.
    PromoteWaits(Vec<CheckReason>),
    /// `s` with no checks configured.
    NoChecks,
    /// `s` with no check due at this split.
    NoChecksDue(Split),
    /// The router (its kind) cannot scale blue.
    CannotDecommission(String),
    /// Decommissioning needs a promotion with all traffic on green.
    NotPromoted,
    AlreadyDecommissioned,
    /// Blue is the standby for this much longer.
    Standby(Duration),
    /// The journal could not be written: what the journal said.
    Journal(String),
    /// The journal could not take the intent: no traffic moved.
    JournalNotMoved(String),
    /// A rollback preempted the write (nothing changed).
    Preempted,
    /// The write landed, but a rollback waiting on it follows.
    LandedThenPreempted(Landed),
    /// The router changed since it was read: nothing written.
    Conflict {
        change: Change,
        who: String,
    },
    /// The write failed (`unverified`: traffic may have moved).
    Failed {
        change: Change,
        unverified: bool,
        ms: u128,
        error: String,
    },
    /// The engine stopped with the rollback not landed: what it said.
    NotLanded(String),
    /// A chore (scaling) failed: the router's error.
    ChoreFailed(String),
    /// The engine is gone.
    EngineStopped,
    /// The engine stopped after taking the command, before answering.
    NoAnswer,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::ReadOnly => f.write_str("read-only: this cockpit moves no traffic"),
            Refusal::ReadOnlyArming => f.write_str("read-only: auto-rollback stays off"),
            Refusal::ReadOnlyChecks => f.write_str("read-only: this cockpit runs no checks"),
            Refusal::RollbackFailing { tries, error } => write!(
                f,
                "the rollback has not landed yet (ROLLBACK FAILED — retrying, {tries} tries: {error}); only a rollback is accepted until it lands"
            ),
            Refusal::InFlight(c) => {
                write!(f, "busy: {c} is in flight; roll back to preempt it")
            }
            Refusal::Busy => f.write_str("busy: a traffic change is in flight"),
            Refusal::ChangeInFlight => f.write_str("busy: a change is in flight"),
            Refusal::PauseInFlight => {
                f.write_str("a traffic change is in flight; pause once it lands")
            }
            Refusal::SplitUnknown => f.write_str("split unknown: the router has not answered yet"),
            Refusal::AlreadyAt(s) => write!(f, "already at {s}"),
            Refusal::CannotSet { router, to, can } => {
                write!(f, "the {router} router cannot set {to}: it can set {can}")
            }
            Refusal::NothingToAdvance => f.write_str("already at 100 %: nothing to advance"),
            Refusal::NothingToPause(phase) => write!(f, "nothing to pause while {phase}"),
            Refusal::GateHard(reasons) => f.write_str(&joined(reasons)),
            Refusal::GateClosed(reasons) => {
                write!(f, "gate closed: {} (force to override)", joined(reasons))
            }
            Refusal::PromoteRolledBack { green, reason } => write!(
                f,
                "{green} was rolled back ({reason}): promoting it needs force: `:set 100` and confirm, or `cutover set 100 --force`"
            ),
            Refusal::PromoteWaits(reasons) => write!(
                f,
                "promote waits for the gates: {}; force: `:set 100` and confirm, or `cutover set 100 --force`",
                joined(reasons)
            ),
            Refusal::Journal(e) | Refusal::NotLanded(e) | Refusal::ChoreFailed(e) => f.write_str(e),
            Refusal::JournalNotMoved(e) => write!(f, "{e}; traffic not moved"),
            Refusal::Preempted => f.write_str("preempted by rollback"),
            Refusal::LandedThenPreempted(l) => write!(f, "{l}; preempted by rollback"),
            Refusal::Conflict { change, who } => write!(
                f,
                "{change} not made: the router changed since it was read ({who}); re-reading, not retrying"
            ),
            Refusal::Failed {
                change,
                unverified,
                ms,
                error,
            } => {
                let loud = if *unverified {
                    "UNVERIFIED (traffic may have moved)"
                } else {
                    "failed, previous split still in force"
                };
                write!(f, "{change} {loud} after {ms} ms: {error}")
            }
            Refusal::EngineStopped => f.write_str("engine stopped"),
            Refusal::NoAnswer => f.write_str("engine stopped before answering"),
            Refusal::NoChecks
            | Refusal::NoChecksDue(_)
            | Refusal::CannotDecommission(_)
            | Refusal::NotPromoted
            | Refusal::AlreadyDecommissioned
            | Refusal::Standby(_) => self.fmt_chores(f),
        }
    }
}

impl Refusal {
    /// The words of the refusals of `s` and of decommissioning.
    fn fmt_chores(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoChecks => {
                f.write_str("no checks are configured ([[gates.smoke]], [[gates.command]])")
            }
            Refusal::NoChecksDue(from) => write!(
                f,
                "none due at {from}: smoke checks run at 0 %, and no command gate names a step above {from}"
            ),
            Refusal::CannotDecommission(router) => {
                write!(
                    f,
                    "the {router} router cannot scale blue: retire it by hand"
                )
            }
            Refusal::NotPromoted => {
                f.write_str("decommission blue only after a promotion, with all traffic on green")
            }
            Refusal::AlreadyDecommissioned => f.write_str("blue is already decommissioned"),
            Refusal::Standby(left) => write!(
                f,
                "blue is the standby for {} more: decommission after the standby window",
                crate::format::span(*left)
            ),
            // Worded by `Display` itself.
            other => write!(f, "{other:?}"),
        }
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_are_the_cockpits() {
        let change = Change {
            action: Action::Advance,
            from: Split::new(1),
            to: Split::new(5).unwrap(),
        };
        assert_eq!(
            Refusal::InFlight(change).to_string(),
            "busy: advance 1% → 5% is in flight; roll back to preempt it"
        );
        let landed = Landed {
            change: Change {
                from: None,
                ..change
            },
            ms: 12,
            detail: "reloaded".into(),
            unjournaled: Some("disk full".into()),
        };
        assert_eq!(
            Done::Landed(landed.clone()).to_string(),
            "advance ? → 5% applied in 12 ms (reloaded); NOT JOURNALED: disk full"
        );
        assert_eq!(
            Refusal::LandedThenPreempted(landed).to_string(),
            "advance ? → 5% applied in 12 ms (reloaded); NOT JOURNALED: disk full; preempted by rollback"
        );
        assert_eq!(
            Refusal::GateClosed(vec![GateReason::Dwell {
                left: Duration::from_secs(3)
            }])
            .to_string(),
            "gate closed: dwell: 00:03 left (force to override)"
        );
        assert_eq!(
            Done::Armed {
                armed: false,
                changed: true
            }
            .to_string(),
            "auto-rollback DISARMED"
        );
    }
}
