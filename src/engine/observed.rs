//! The split the traffic shows: green's request rate over both colours',
//! next to the split the router reports, and a tracker that marks a
//! disagreement only when it has lasted a whole window. Pure: times come
//! in as arguments.

use std::time::{Duration, Instant};

use crate::model::{Snapshot, Split};

/// Green's share of the requests, in percent, from both colours' rates.
/// `None` when a rate is unknown or nothing was served at all: no traffic
/// shows no split.
pub fn observed_split(blue_rps: Option<f64>, green_rps: Option<f64>) -> Option<f64> {
    let (b, g) = (blue_rps?, green_rps?);
    if !(b.is_finite() && g.is_finite()) || b < 0.0 || g < 0.0 || b + g <= 0.0 {
        return None;
    }
    Some(100.0 * g / (b + g))
}

/// [`observed_split`] of a snapshot.
pub fn of_snapshot(s: &Snapshot) -> Option<f64> {
    observed_split(s.blue.rps, s.green.rps)
}

/// Where the router and the traffic stand with each other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agreement {
    /// Nothing to compare: no router split or no observed split.
    Unknown,
    /// Within the margin.
    Agree,
    /// Beyond the margin since `since`, not yet for a whole window.
    Drifting { since: Instant },
    /// Beyond the margin for at least a whole window: shown marked, and an
    /// event once when it starts.
    Disagree { since: Instant },
}

/// Tracks disagreement between the router's split and the observed one.
#[derive(Debug, Clone)]
pub struct DisagreementTracker {
    /// Percentage points the observed split may differ from the router's.
    margin: f64,
    /// How long a disagreement must last to be marked.
    window: Duration,
    state: Agreement,
    /// The router split the current streak is measured against.
    router: Option<Split>,
}

impl DisagreementTracker {
    pub fn new(margin: f64, window: Duration) -> Self {
        DisagreementTracker {
            margin,
            window,
            state: Agreement::Unknown,
            router: None,
        }
    }

    pub fn state(&self) -> Agreement {
        self.state
    }

    /// Feeds one comparison. Returns true exactly when a disagreement has
    /// just become marked (for the event log).
    ///
    /// A change of the router's split restarts the streak: rates over a
    /// window still show the old split for up to that window. Missing data
    /// also restarts it: a gap proves nothing either way.
    pub fn update(&mut self, now: Instant, router: Option<Split>, observed: Option<f64>) -> bool {
        let changed = router != self.router;
        self.router = router;
        let (Some(r), Some(o)) = (router, observed) else {
            self.state = Agreement::Unknown;
            return false;
        };
        if (o - f64::from(r.green())).abs() <= self.margin {
            self.state = Agreement::Agree;
            return false;
        }
        let since = match self.state {
            Agreement::Drifting { since } | Agreement::Disagree { since } if !changed => since,
            _ => now,
        };
        let was_marked = matches!(self.state, Agreement::Disagree { .. }) && !changed;
        self.state = if now.saturating_duration_since(since) >= self.window {
            Agreement::Disagree { since }
        } else {
            Agreement::Drifting { since }
        };
        !was_marked && matches!(self.state, Agreement::Disagree { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn green_share_of_the_rates() {
        assert_eq!(observed_split(Some(75.0), Some(25.0)), Some(25.0));
        assert_eq!(observed_split(Some(0.0), Some(10.0)), Some(100.0));
        assert_eq!(observed_split(Some(0.0), Some(0.0)), None);
        assert_eq!(observed_split(None, Some(1.0)), None);
        assert_eq!(observed_split(Some(f64::NAN), Some(1.0)), None);
    }

    #[test]
    fn marked_only_after_a_whole_window() {
        let t0 = Instant::now();
        let s = |n| Split::new(n);
        let mut t = DisagreementTracker::new(5.0, Duration::from_secs(30));
        assert!(!t.update(t0, s(25), Some(27.0)));
        assert_eq!(t.state(), Agreement::Agree);
        assert!(!t.update(t0 + Duration::from_secs(1), s(25), Some(40.0)));
        assert!(matches!(t.state(), Agreement::Drifting { .. }));
        assert!(!t.update(t0 + Duration::from_secs(20), s(25), Some(40.0)));
        assert!(t.update(t0 + Duration::from_secs(31), s(25), Some(40.0)));
        assert!(matches!(t.state(), Agreement::Disagree { .. }));
        // Marked once, not on every poll.
        assert!(!t.update(t0 + Duration::from_secs(32), s(25), Some(40.0)));
        assert!(matches!(t.state(), Agreement::Disagree { .. }));
    }

    #[test]
    fn a_router_change_or_a_gap_restarts_the_streak() {
        let t0 = Instant::now();
        let s = |n| Split::new(n);
        let mut t = DisagreementTracker::new(5.0, Duration::from_secs(10));
        t.update(t0, s(5), Some(0.0));
        // The router moved: the rates still show the old split for a while.
        t.update(t0 + Duration::from_secs(8), s(25), Some(5.0));
        assert!(!t.update(t0 + Duration::from_secs(12), s(25), Some(5.0)));
        assert!(matches!(t.state(), Agreement::Drifting { .. }));
        t.update(t0 + Duration::from_secs(13), s(25), None);
        assert_eq!(t.state(), Agreement::Unknown);
        assert!(!t.update(t0 + Duration::from_secs(14), s(25), Some(5.0)));
        assert!(t.update(t0 + Duration::from_secs(24), s(25), Some(5.0)));
    }
}
