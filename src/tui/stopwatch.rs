//! Notices a stop from outside (`kill -STOP`, then `kill -CONT`). A
//! SIGSTOP cannot be caught, so the only signs are the SIGCONT that ends
//! it and a gap in the 1 s tick. The two arrive in either order after a
//! resume, so each is remembered until the other comes. Pure: instants in.

use std::time::{Duration, Instant};

/// A gap in the tick longer than this, with a SIGCONT beside it, is a stop
/// worth reporting.
pub const UNSEEN_STOP: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct StopWatch {
    last_tick: Instant,
    gap: Option<Duration>,
    continued: bool,
}

impl StopWatch {
    pub fn new(now: Instant) -> StopWatch {
        StopWatch {
            last_tick: now,
            gap: None,
            continued: false,
        }
    }

    /// The 1 s tick fired. Returns how long the process was stopped, once,
    /// when a SIGCONT has been seen too.
    pub fn tick(&mut self, now: Instant) -> Option<Duration> {
        self.see_gap(now);
        self.take()
    }

    /// SIGCONT arrived. Returns how long the process was stopped, once,
    /// when the gap is known.
    pub fn continued(&mut self, now: Instant) -> Option<Duration> {
        self.continued = true;
        self.see_gap(now);
        self.take()
    }

    /// Forgets what was seen: after our own stop (Ctrl-Z, SIGTSTP), which
    /// is reported on its own, and whose SIGCONT follows.
    pub fn reset(&mut self, now: Instant) {
        *self = StopWatch::new(now);
    }

    fn see_gap(&mut self, now: Instant) {
        let gap = now.saturating_duration_since(self.last_tick);
        self.last_tick = now;
        if gap > UNSEEN_STOP {
            self.gap = Some(self.gap.map_or(gap, |g| g.max(gap)));
        }
    }

    fn take(&mut self) -> Option<Duration> {
        if self.continued
            && let Some(gap) = self.gap.take()
        {
            self.continued = false;
            return Some(gap);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_stop_is_reported_once_whichever_comes_first() {
        let t = Instant::now();
        // SIGCONT first.
        let mut w = StopWatch::new(t);
        assert_eq!(w.continued(t + 5 * S), Some(5 * S));
        assert_eq!(w.tick(t + 5 * S + S / 10), None);
        // The tick first: the gap waits for the SIGCONT.
        let mut w = StopWatch::new(t);
        assert_eq!(w.tick(t + 5 * S), None);
        assert_eq!(w.continued(t + 5 * S + S / 100), Some(5 * S));
        assert_eq!(w.tick(t + 6 * S), None);
    }

    #[test]
    fn a_slow_tick_alone_or_our_own_stop_says_nothing() {
        let t = Instant::now();
        let mut w = StopWatch::new(t);
        assert_eq!(w.tick(t + 3 * S), None);
        w.reset(t + 10 * S);
        assert_eq!(w.continued(t + 10 * S + S / 10), None);
        // A short stop is not worth a note.
        assert_eq!(w.tick(t + 11 * S), None);
    }
}
