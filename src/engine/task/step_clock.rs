//! The step clock: when the current step was reached (the progress
//! deadline counts from there), since when the split has been in force
//! (data from before it cannot judge it), and how long the autopilot holds
//! off after a failed write. Pure: every time is passed in.

use std::time::{Duration, Instant};

pub(super) struct StepClock {
    /// When the current step was reached (for the progress deadline).
    step_entered: Instant,
    /// When the split last changed: data whose window starts earlier mixes
    /// in the previous split and cannot open the gate or pass the bake.
    split_since: Instant,
    /// The autopilot waits until then after a failed write (no tight retry).
    autopilot_after: Option<Instant>,
}

impl StepClock {
    pub(super) fn new(now: Instant) -> StepClock {
        StepClock {
            step_entered: now,
            split_since: now,
            autopilot_after: None,
        }
    }

    /// A split is in force from `now`: a new step, and nothing held.
    pub(super) fn enter(&mut self, now: Instant) {
        self.step_entered = now;
        self.split_since = now;
        self.autopilot_after = None;
    }

    /// The first read: the step and split start now; a hold stays.
    pub(super) fn first_read(&mut self, now: Instant) {
        self.step_entered = now;
        self.split_since = now;
    }

    /// A resume with `left` of a `waited` dwell (or bake) to go: the time
    /// spent paused does not count toward the progress deadline.
    pub(super) fn resume(&mut self, now: Instant, waited: Duration, left: Duration) {
        self.step_entered = now.checked_sub(waited.saturating_sub(left)).unwrap_or(now);
    }

    pub(super) fn split_since(&self) -> Instant {
        self.split_since
    }

    /// True when the step has waited `waited_for` and then `deadline`
    /// more (a zero deadline is none).
    pub(super) fn past_deadline(
        &self,
        now: Instant,
        waited_for: Duration,
        deadline: Duration,
    ) -> bool {
        !deadline.is_zero() && now.duration_since(self.step_entered) > waited_for + deadline
    }

    /// The autopilot moves nothing before `until`.
    pub(super) fn hold_autopilot(&mut self, until: Instant) {
        self.autopilot_after = Some(until);
    }

    pub(super) fn autopilot_held(&self, now: Instant) -> bool {
        self.autopilot_after.is_some_and(|t| now < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// A clock whose step and split start at the returned instant.
    fn started() -> (Instant, StepClock) {
        let t0 = Instant::now();
        (t0, StepClock::new(t0))
    }

    #[test]
    fn the_deadline_counts_from_the_step_and_a_pause_does_not_count() {
        let (t0, mut c) = started();
        assert!(!c.past_deadline(t0 + 15 * S, 10 * S, 5 * S));
        assert!(c.past_deadline(t0 + 16 * S, 10 * S, 5 * S));
        assert!(!c.past_deadline(t0 + 99 * S, 10 * S, Duration::ZERO));
        // Paused at t0+4 with 6 s of dwell left, resumed at t0+100.
        c.resume(t0 + 100 * S, 10 * S, 6 * S);
        assert!(!c.past_deadline(t0 + 111 * S, 10 * S, 5 * S));
        assert!(c.past_deadline(t0 + 112 * S, 10 * S, 5 * S));
    }

    #[test]
    fn a_hold_ends_at_its_time_and_with_a_new_split() {
        let (t0, mut c) = started();
        c.hold_autopilot(t0 + 2 * S);
        assert!(c.autopilot_held(t0 + S));
        assert!(!c.autopilot_held(t0 + 2 * S));
        c.hold_autopilot(t0 + 2 * S);
        c.first_read(t0 + S);
        assert!(c.autopilot_held(t0 + S), "the first read keeps a hold");
        c.enter(t0 + S);
        assert!(!c.autopilot_held(t0 + S));
        assert_eq!(c.split_since(), t0 + S);
    }
}
