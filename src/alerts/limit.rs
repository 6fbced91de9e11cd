//! Breach alerts, rate-limited per metric. The engine hands over the first
//! poll of each run of breaches; a metric that breaches one poll in three
//! starts a run every third poll, which would page twenty times a minute.
//! Per webhook, a metric is alerted at most once per `interval`; a run
//! with a metric not alerted recently still goes out. Pure: the caller
//! passes the time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct BreachLimit {
    interval: Duration,
    /// When each metric was last alerted.
    last: HashMap<String, Instant>,
    /// Breach alerts held back since the last one sent.
    held: usize,
}

impl BreachLimit {
    pub fn new(interval: Duration) -> BreachLimit {
        BreachLimit {
            interval,
            last: HashMap::new(),
            held: 0,
        }
    }

    /// Whether a run of breaches of `metrics` starting at `now` is alerted:
    /// yes when one of them was not alerted within the interval. Every
    /// metric of an alert that goes out is stamped, so it waits its
    /// interval too. `Some(n)`: send, and `n` runs were held back since
    /// the last alert; `None`: hold this one back.
    pub fn admit(&mut self, metrics: &[String], now: Instant) -> Option<usize> {
        let recent = |m: &String| {
            self.last
                .get(m)
                .is_some_and(|at| now.saturating_duration_since(*at) < self.interval)
        };
        if !metrics.is_empty() && metrics.iter().all(recent) {
            self.held += 1;
            return None;
        }
        for m in metrics {
            self.last.insert(m.clone(), now);
        }
        Some(std::mem::take(&mut self.held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::strings;

    #[test]
    fn a_flapping_metric_is_alerted_once_per_interval() {
        let t0 = Instant::now();
        let mut l = BreachLimit::new(Duration::from_secs(300));
        assert_eq!(l.admit(&strings(&["error_rate"]), t0), Some(0));
        // A new run every 300 ms for a minute: all held back.
        for i in 1..200 {
            let t = t0 + Duration::from_millis(300 * i);
            assert_eq!(l.admit(&strings(&["error_rate"]), t), None);
        }
        // Another metric is news.
        let t = t0 + Duration::from_secs(61);
        assert_eq!(l.admit(&strings(&["error_rate", "p99_ms"]), t), Some(199));
        // Both were stamped at 61 s: held until 361 s, alerted after.
        let held = l.admit(&strings(&["error_rate"]), t0 + Duration::from_secs(301));
        assert_eq!(held, None);
        let again = l.admit(&strings(&["error_rate"]), t0 + Duration::from_secs(362));
        assert_eq!(again, Some(1));
        let other = l.admit(&strings(&["p99_ms"]), t0 + Duration::from_secs(363));
        assert_eq!(other, Some(0));
        let soon = l.admit(&strings(&["p99_ms"]), t0 + Duration::from_secs(364));
        assert_eq!(soon, None);
    }

    #[test]
    fn a_zero_interval_sends_every_run() {
        let t0 = Instant::now();
        let mut l = BreachLimit::new(Duration::ZERO);
        assert_eq!(l.admit(&strings(&["quality"]), t0), Some(0));
        assert_eq!(l.admit(&strings(&["quality"]), t0), Some(0));
    }
}
