//! The step clock of the published state: when the current step's dwell,
//! the bake and blue's standby end.

use std::time::{Duration, Instant, SystemTime};

/// The plan's timers; all `None` while no step is running.
#[derive(Debug, Clone, Default)]
pub struct StepClock {
    /// When the current step's dwell ends (`None` outside a canary step or
    /// when paused; see `dwell_left` then).
    pub dwell_until: Option<Instant>,
    /// The dwell (or, at 100 %, the bake) remaining when paused.
    pub dwell_left: Option<Duration>,
    /// When the bake window at 100 % ends.
    pub bake_until: Option<Instant>,
    /// When blue stops being kept as a standby (wall clock: it outlives us).
    pub standby_until: Option<SystemTime>,
}

impl StepClock {
    /// Stops the running dwell (with `bake`, the bake) at `now`, keeping
    /// what remains in `dwell_left` for the resume.
    pub fn pause(&mut self, now: Instant, bake: bool) {
        let until = if bake {
            self.bake_until.take()
        } else {
            self.dwell_until.take()
        };
        self.dwell_left = until.map(|u| u.saturating_duration_since(now));
    }
}
