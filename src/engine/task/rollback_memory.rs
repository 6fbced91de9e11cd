//! The rollback remembered: set when a rollback lands, restored from the
//! journal on start, forgotten when traffic is forced back to green or
//! green's configured version changes. While it holds, raising green's
//! traffic needs force (see `gate_check`) and the autopilot does nothing.

use std::time::{Duration, SystemTime};

use super::Engine;
use super::lane::InFlight;

use crate::engine::action::Action;
use crate::engine::clock::now;
use crate::engine::journal::Journal;
use crate::engine::memory::RolledBackMemory;
use crate::engine::state::{EventLevel, Outcome, Phase};
use crate::format::{age, clock_utc};
use crate::model::Split;

/// `4m10s ago (12:03:55 UTC)`, against the engine's wall clock `wall`.
fn when(at: SystemTime, wall: SystemTime) -> String {
    let ago = wall.duration_since(at).unwrap_or_default();
    format!("{} ago ({})", age(ago), clock_utc(at))
}

impl Engine {
    /// On spawn: takes over what the journal remembers, unless the green
    /// now configured is not the one that was rolled back.
    pub(super) fn restore_rollback_memory(&mut self) {
        if let Some(e) = self.journal.recovery.unreadable.clone() {
            self.event(
                EventLevel::Error,
                format!("journal unreadable: {e}; an earlier rollback would not be known"),
            );
        }
        let Some(m) = self.journal.recovery.rolled_back.clone() else {
            return;
        };
        let configured = self.config.service.green_version.clone();
        if m.superseded_by(configured.as_deref()) {
            self.event(
                EventLevel::Info,
                format!(
                    "green_version is now {}: the rollback of {} {} ({}) no longer holds",
                    configured.unwrap_or_default(),
                    m.describe_green(),
                    when(m.at, self.options.wall.now()),
                    m.reason
                ),
            );
            return;
        }
        self.state.phase = Phase::RolledBack {
            reason: m.reason.clone(),
        };
        self.state.rollback.rolled_back = Some(m);
    }

    /// The first read, when a rollback is remembered. Returns true when it
    /// has said all there is to say (0 %: the phase stays rolled back).
    pub(super) fn first_read_after_rollback(&mut self, split: Split) -> bool {
        let Some(m) = self.state.rollback.rolled_back.clone() else {
            return false;
        };
        let what = format!(
            "{} was rolled back {}: {}",
            m.describe_green(),
            when(m.at, self.options.wall.now()),
            m.reason
        );
        if self.options.autopilot {
            // The autopilot never sends traffic back to a green that failed.
            self.state.outcome = Some(Outcome::HeldAfterRollback {
                reason: format!(
                    "{what}. Not advancing: deploy a new green and change [service] green_version, or move traffic by hand with `cutover set N --force`"
                ),
            });
        }
        if split.green() == 0 {
            self.state.phase = Phase::RolledBack {
                reason: m.reason.clone(),
            };
            self.event(
                EventLevel::Warn,
                format!("router reports 0 %: {what}; raising green's traffic needs force"),
            );
            return true;
        }
        self.event(
            EventLevel::Warn,
            format!("router reports {split}, yet {what}; raising green's traffic needs force"),
        );
        false
    }

    /// A rollback was decided (its intent journaled): remembered from now
    /// on, whether it lands, fails or is interrupted.
    pub(super) fn remember_rollback(&mut self, reason: Option<&str>) {
        self.state.rollback.rolled_back = Some(RolledBackMemory {
            at: self.options.wall.now(),
            reason: reason.unwrap_or("rollback").to_string(),
            green_version: self.config.service.green_version.clone(),
        });
    }

    /// The router went to 0 % behind our back: when the journal says that
    /// was a rollback (another process's `cutover rollback`, forced or
    /// not), it is remembered as ours would be, and the autopilot stops
    /// with the rolled-back outcome instead of advancing again.
    pub(super) fn learn_outside_rollback(&mut self) {
        let recovery = match Journal::recover(self.journal.path()) {
            Ok(r) => r,
            Err(e) => {
                self.event(
                    EventLevel::Error,
                    format!("journal unreadable ({e}): cannot tell whether that was a rollback; nothing advances on its own"),
                );
                self.clock.hold_autopilot(now() + Duration::from_secs(3600));
                return;
            }
        };
        let Some(m) = recovery.rolled_back else {
            return;
        };
        if m.superseded_by(self.config.service.green_version.as_deref()) {
            return;
        }
        let what = format!(
            "the journal says {} was rolled back {}: {}",
            m.describe_green(),
            when(m.at, self.options.wall.now()),
            m.reason
        );
        self.event(
            EventLevel::Error,
            format!("{what}; raising green's traffic needs force, and nothing advances on its own"),
        );
        self.state.phase = Phase::RolledBack {
            reason: m.reason.clone(),
        };
        if self.options.autopilot {
            self.state.outcome = Some(Outcome::RolledBack {
                reason: format!("rolled back outside this process: {}", m.reason),
            });
        }
        self.state.rollback.rolled_back = Some(m);
    }

    /// A write landed at `split`: a rollback is remembered; traffic raised
    /// on green again (only ever by force) ends the memory.
    pub(super) fn update_rollback_memory(&mut self, f: &InFlight, split: Split) {
        if f.change.action == Action::Rollback {
            self.state.rollback.rolled_back = Some(RolledBackMemory {
                at: self.options.wall.now(),
                reason: f.decision.rollback_reason(),
                green_version: self.config.service.green_version.clone(),
            });
            return;
        }
        let raised = f
            .change
            .from
            .is_none_or(|from| split.green() > from.green());
        if raised && self.state.rollback.rolled_back.take().is_some() {
            self.event(
                EventLevel::Info,
                "green has traffic again (forced): the earlier rollback no longer holds",
            );
        }
    }
}
