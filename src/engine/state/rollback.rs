//! The rollback part of the published state: whether green was rolled
//! back, the last rollback's measured times, and one still being retried.

use std::time::{Duration, Instant, SystemTime};

use crate::engine::memory::RolledBackMemory;

/// A rollback that has not landed: the engine retries it with backoff for
/// as long as it runs, and nothing raises green's traffic meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackRetry {
    /// When the rollback was decided (the key, the command, the breach).
    pub decided: Instant,
    /// Tries so far, the first included.
    pub tries: u32,
    /// Why the last try did not land.
    pub reason: String,
    /// When the next try starts; `None` while one is in flight.
    pub next_at: Option<Instant>,
}

/// The measured time of the last rollback that landed (this run only).
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackTimes {
    /// When it was decided (the key, the command, the breach): both
    /// intervals start here.
    pub decided: Instant,
    /// The same moment on the wall clock, for reports.
    pub decided_wall: SystemTime,
    /// Decision to the router's confirmation (its write and verify).
    pub to_router: Duration,
    /// Decision to the first observed split showing green at zero.
    pub to_zero: ToZero,
    /// `[plan] rollback_sla`, if set.
    pub sla: Option<Duration>,
    /// A rehearsal by `cutover drill`, not a rollback of a failed green.
    pub drill: bool,
    pub reason: String,
}

/// A rollback's time to the traffic showing green at zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ToZero {
    /// Not seen yet, and waited for (the engine gives up, saying so, a few
    /// windows after the decision).
    Awaiting,
    /// Seen this long after the decision.
    Seen(Duration),
    /// Not seen, and not waited for: the source cannot tell (no request
    /// rates), or the wait ended.
    NotSeen,
}

impl ToZero {
    /// The measured time, once seen.
    pub fn seen(self) -> Option<Duration> {
        match self {
            ToZero::Seen(d) => Some(d),
            ToZero::Awaiting | ToZero::NotSeen => None,
        }
    }

    pub fn awaiting(self) -> bool {
        self == ToZero::Awaiting
    }
}

impl RollbackTimes {
    /// Over the SLA: shown as a warning. `None` without an SLA.
    pub fn over_sla(&self) -> Option<bool> {
        self.sla.map(|sla| self.to_router > sla)
    }
}

/// A measured rollback time: `412 ms` below ten seconds, else a span
/// (`12s`).
pub fn rollback_figure(d: Duration) -> String {
    crate::format::millis(d)
}

/// Rollbacks as the state knows them.
#[derive(Debug, Clone, Default)]
pub struct Rollbacks {
    /// Green was rolled back (in this run or, per the journal, an earlier
    /// one): raising its traffic needs force until green's version changes.
    pub rolled_back: Option<RolledBackMemory>,
    /// The last rollback's measured times (a drill's too).
    pub last: Option<RollbackTimes>,
    /// A rollback that failed and is being retried until it lands.
    pub failed: Option<RollbackRetry>,
}
