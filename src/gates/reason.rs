//! Why a smoke check or a command gate holds a raise of green's traffic,
//! as data; `Display` gives the words the cockpit and `status` show.

use std::fmt;
use std::time::Duration;

use super::status::secs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckReason {
    /// `smoke NAME: running 3s`
    SmokeRunning { name: String, running: Duration },
    /// `smoke NAME: not run yet (s runs it)`
    SmokeNotRun { name: String },
    /// `smoke NAME failed: REASON`
    SmokeFailed { name: String, reason: String },
    /// `running NAME 10s`
    CommandRunning { name: String, running: Duration },
    /// `NAME failed: REASON (o shows its output)`
    CommandFailed { name: String, reason: String },
    /// `NAME: not run yet at 50 % (s runs it)`: no run at this split
    /// since it last changed.
    CommandNotRun { name: String, at: u8 },
}

impl fmt::Display for CheckReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckReason::SmokeRunning { name, running } => {
                write!(f, "smoke {name}: running {}", secs(*running))
            }
            CheckReason::SmokeNotRun { name } => write!(f, "smoke {name}: not run yet (s runs it)"),
            CheckReason::SmokeFailed { name, reason } => write!(f, "smoke {name} failed: {reason}"),
            CheckReason::CommandRunning { name, running } => {
                write!(f, "running {name} {}", secs(*running))
            }
            CheckReason::CommandFailed { name, reason } => {
                write!(f, "{name} failed: {reason} (o shows its output)")
            }
            CheckReason::CommandNotRun { name, at } => {
                write!(f, "{name}: not run yet at {at} % (s runs it)")
            }
        }
    }
}
