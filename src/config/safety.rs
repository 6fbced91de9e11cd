//! `[safety]`: what the cockpit does when the ground moves under it: the
//! terminal goes away, or a rollback cannot land at once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;

/// What a cockpit does when its terminal is lost (an SSH drop, a killed
/// tmux session): the input reaches end of file or SIGHUP arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TerminalLoss {
    /// Go on headless: auto-rollback stays as it was armed, nothing
    /// advances, and the process can be taken over by a new cockpit.
    #[default]
    Guard,
    /// Journal, alert, release the journal and exit (129).
    Exit,
    /// Roll back first, then exit.
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyConfig {
    /// What happens when the cockpit's terminal is lost.
    pub on_terminal_loss: TerminalLoss,
    /// How long a cockpit that lost its terminal guards the cutover before
    /// it exits on its own (traffic stays where it is).
    #[serde(with = "duration")]
    pub guard_for: Duration,
    /// How long a one-shot `cutover rollback` keeps retrying a rollback that
    /// fails before it gives up and says what state the router is in.
    #[serde(with = "duration")]
    pub rollback_retry_for: Duration,
}

impl Default for SafetyConfig {
    fn default() -> SafetyConfig {
        SafetyConfig {
            on_terminal_loss: TerminalLoss::Guard,
            guard_for: Duration::from_secs(3600),
            rollback_retry_for: Duration::from_secs(60),
        }
    }
}
