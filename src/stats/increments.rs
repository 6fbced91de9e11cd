//! Increments between polls from cumulative counters.
//!
//! A poll's windowed rate overlaps the previous poll's window, so tests
//! consume what was added between two polls instead. Both colours' increments
//! must cover the same span (the count test compares them), so the two are
//! tracked as a pair: a colour without data holds both baselines, and a
//! counter that went down (a restart) gives no increment for either.

/// Cumulative counters that can be subtracted: `delta` is `None` when any
/// component went down (a reset) or is not a finite number.
pub trait Cumulative: Clone {
    fn delta(&self, earlier: &Self) -> Option<Self>;
}

fn grew(now: f64, earlier: f64) -> Option<f64> {
    let d = now - earlier;
    (now.is_finite() && earlier.is_finite() && d >= 0.0).then_some(d)
}

/// Requests and events (errors, schema failures, requests over a latency
/// bound) of one colour, as counted since its process started.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Counts {
    pub requests: f64,
    pub events: f64,
}

impl Cumulative for Counts {
    fn delta(&self, earlier: &Self) -> Option<Self> {
        Some(Counts {
            requests: grew(self.requests, earlier.requests)?,
            events: grew(self.events, earlier.events)?,
        })
    }
}

/// Count, sum and (where the server exports it, or it is estimated from
/// buckets) sum of squares of a per-request value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    pub count: f64,
    pub sum: f64,
    pub sum_sq: Option<f64>,
}

impl Cumulative for Moments {
    fn delta(&self, earlier: &Self) -> Option<Self> {
        let sum_sq = match (self.sum_sq, earlier.sum_sq) {
            (Some(a), Some(b)) => Some(grew(a, b)?),
            _ => None,
        };
        // A sum of values that may be negative can go down without a
        // reset; the count cannot, so the count alone tells a restart.
        let count = grew(self.count, earlier.count)?;
        let sum = self.sum - earlier.sum;
        sum.is_finite().then_some(Moments { count, sum, sum_sq })
    }
}

impl Moments {
    /// Adds another span's moments (the running totals since green's start).
    pub fn add(&mut self, other: &Moments) {
        self.count += other.count;
        self.sum += other.sum;
        self.sum_sq = self.sum_sq.zip(other.sum_sq).map(|(a, b)| a + b);
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count)
    }

    /// The sample variance (n − 1 in the denominator), when the sum of
    /// squares is known and there are at least two values.
    pub fn variance(&self) -> Option<f64> {
        let sq = self.sum_sq?;
        if self.count < 2.0 {
            return None;
        }
        let mean = self.sum / self.count;
        Some(((sq - self.count * mean * mean) / (self.count - 1.0)).max(0.0))
    }
}

/// What one poll gave a pair of cumulative readings.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<T> {
    /// Both colours' increments since the last poll that had both.
    Increment { blue: T, green: T },
    /// The first reading: a baseline, nothing to add yet.
    Baseline,
    /// A colour had no data: nothing is added, and the next increment
    /// spans the gap.
    NoData,
    /// A counter went down (a process restarted): the span is lost for both
    /// colours, and counting resumes from the new values.
    Reset,
}

/// The last reading of both colours that the next increment starts from.
#[derive(Debug, Clone, Default)]
pub struct PairTracker<T> {
    last: Option<(T, T)>,
}

impl<T: Cumulative> PairTracker<T> {
    pub fn new() -> PairTracker<T> {
        PairTracker { last: None }
    }

    /// Takes one poll's cumulative readings (`None`: no data for that
    /// colour) and says what they add.
    pub fn poll(&mut self, blue: Option<T>, green: Option<T>) -> Step<T> {
        let (Some(blue), Some(green)) = (blue, green) else {
            return Step::NoData;
        };
        let Some((last_blue, last_green)) = self.last.replace((blue.clone(), green.clone())) else {
            return Step::Baseline;
        };
        match (blue.delta(&last_blue), green.delta(&last_green)) {
            (Some(blue), Some(green)) => Step::Increment { blue, green },
            _ => Step::Reset,
        }
    }

    /// Forgets the baseline (green's identity changed).
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(requests: f64, events: f64) -> Option<Counts> {
        Some(Counts { requests, events })
    }

    /// The step that adds `(requests, events)` for blue and for green.
    fn increment(blue: (f64, f64), green: (f64, f64)) -> Step<Counts> {
        let counts = |(requests, events)| Counts { requests, events };
        Step::Increment {
            blue: counts(blue),
            green: counts(green),
        }
    }

    /// A tracker whose first poll (blue 100 requests / 1 event, green 10 / 0)
    /// was its baseline.
    fn baselined() -> PairTracker<Counts> {
        let mut t = PairTracker::new();
        assert_eq!(t.poll(c(100.0, 1.0), c(10.0, 0.0)), Step::Baseline);
        t
    }

    #[test]
    fn increments_are_differences_of_counters() {
        let mut t = baselined();
        assert_eq!(
            t.poll(c(1100.0, 6.0), c(60.0, 2.0)),
            increment((1000.0, 5.0), (50.0, 2.0))
        );
    }

    #[test]
    fn a_gap_adds_nothing_and_the_next_increment_spans_it() {
        let mut t = baselined();
        assert_eq!(t.poll(c(600.0, 3.0), None), Step::NoData);
        assert_eq!(t.poll(None, None), Step::NoData);
        // blue's increment starts where green's does, at the last poll with both
        assert_eq!(
            t.poll(c(1100.0, 6.0), c(60.0, 2.0)),
            increment((1000.0, 5.0), (50.0, 2.0))
        );
    }

    #[test]
    fn a_reset_of_either_colour_loses_the_span_for_both() {
        let mut t = PairTracker::new();
        t.poll(c(100.0, 1.0), c(10.0, 3.0));
        // green restarted: its error counter went down
        assert_eq!(t.poll(c(200.0, 2.0), c(12.0, 1.0)), Step::Reset);
        assert_eq!(
            t.poll(c(300.0, 2.0), c(20.0, 1.0)),
            increment((100.0, 0.0), (8.0, 0.0))
        );
        assert_eq!(t.poll(c(f64::NAN, 2.0), c(30.0, 1.0)), Step::Reset);
    }

    #[test]
    fn moments_subtract_and_give_mean_and_variance() {
        let earlier = Moments {
            count: 2.0,
            sum: 3.0,
            sum_sq: Some(5.0),
        };
        // values 1, 2 then 3, 4, 5 added
        let now = Moments {
            count: 5.0,
            sum: 15.0,
            sum_sq: Some(55.0),
        };
        let d = now.delta(&earlier).unwrap();
        assert_eq!(
            d,
            Moments {
                count: 3.0,
                sum: 12.0,
                sum_sq: Some(50.0)
            }
        );
        // mean of 3, 4, 5 is 4; variance ((1 + 0 + 1) / 2) = 1
        assert_eq!(d.mean(), Some(4.0));
        assert_eq!(d.variance(), Some(1.0));
        // a count that went down is a restart, a sum that went down is not
        let restarted = Moments {
            count: 1.0,
            sum: 20.0,
            sum_sq: Some(400.0),
        };
        assert_eq!(restarted.delta(&now), None);
        let negative = Moments {
            count: 6.0,
            sum: 10.0,
            sum_sq: None,
        };
        assert_eq!(negative.delta(&now).unwrap().sum, -5.0);
    }
}
