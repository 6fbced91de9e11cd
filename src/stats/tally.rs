//! From the sources' cumulative tallies to the tests' counters: a ratio's
//! requests and events as they are, a histogram's requests and requests
//! slower than a bound (a bucket edge near blue's p99 or the SLO), a
//! mean's count and sum. Two consecutive snapshots' tallies of both
//! colours give one [`Step`]: the increments of that poll, or why there
//! are none.

use crate::model::Tally;

use super::histogram::{self, Bucket};
use super::increments::{Counts, Cumulative, Moments, Step};

/// The cumulative counters a tally gives the count test. A histogram
/// needs `bound` (one of its edges, in the metric's unit); without it, or
/// when the bound is not an edge, there is nothing to count.
pub fn counts(t: &Tally, bound: Option<f64>) -> Option<Counts> {
    match t {
        Tally::Counts { requests, events } => Some(Counts {
            requests: *requests,
            events: *events,
        }),
        Tally::Buckets { count, buckets, .. } => {
            let slow = histogram::over_bound(&edges(buckets), *count, bound?)?;
            Some(Counts {
                requests: *count,
                events: slow,
            })
        }
        Tally::Moments { .. } => None,
    }
}

/// The cumulative count and sum a mean's tally gives the test of means
/// (no sum of squares: its spread comes from the batch means).
pub fn moments(t: &Tally) -> Option<Moments> {
    match t {
        Tally::Moments { count, sum } => Some(Moments {
            count: *count,
            sum: *sum,
            sum_sq: None,
        }),
        Tally::Counts { .. } | Tally::Buckets { .. } => None,
    }
}

/// Requests counted by a tally so far.
pub fn requests(t: &Tally) -> f64 {
    match t {
        Tally::Counts { requests, .. } => *requests,
        Tally::Buckets { count, .. } | Tally::Moments { count, .. } => *count,
    }
}

fn edges(buckets: &[(f64, f64)]) -> Vec<Bucket> {
    buckets
        .iter()
        .map(|&(le, count)| Bucket { le, count })
        .collect()
}

/// The bound for a histogram's slow-request count: the lowest edge that
/// holds a share `q` of blue's requests between `since` (e.g. blue's tally
/// when green got its first traffic; `None`: since blue started) and `now`.
/// `None` for a ratio, or without requests in that span.
pub fn slow_bound(now: &Tally, since: Option<&Tally>, q: f64) -> Option<f64> {
    let Tally::Buckets { count, buckets, .. } = now else {
        return None;
    };
    let (count, buckets) = match since {
        Some(Tally::Buckets {
            count: c0,
            buckets: b0,
            ..
        }) => {
            let before = |le: f64| b0.iter().find(|(l, _)| *l == le).map_or(0.0, |(_, n)| *n);
            let spread = buckets.iter().map(|&(le, n)| (le, n - before(le)));
            (count - c0, spread.collect::<Vec<_>>())
        }
        _ => (*count, buckets.clone()),
    };
    histogram::bound_near(&edges(&buckets), count, q)
}

/// One colour pair's tallies: `[blue, green]`, as a snapshot gives them.
pub type Pair<'a> = [Option<&'a Tally>; 2];

/// What one poll adds to the count test of a metric: the increments of
/// both colours between the `earlier` snapshot and `now`. No data for a
/// colour now is [`Step::NoData`]; none before (the first poll, or after
/// a gap the caller did not bridge) is [`Step::Baseline`]; a total that
/// fell (a pod restarted) is [`Step::Reset`] for both.
pub fn increments(earlier: Pair, now: Pair, bound: Option<f64>) -> Step<Counts> {
    let of = |t: Option<&Tally>| t.and_then(|t| counts(t, bound));
    let (Some(blue), Some(green)) = (of(now[0]), of(now[1])) else {
        return Step::NoData;
    };
    let (Some(blue_0), Some(green_0)) = (of(earlier[0]), of(earlier[1])) else {
        return Step::Baseline;
    };
    match (blue.delta(&blue_0), green.delta(&green_0)) {
        (Some(blue), Some(green)) => Step::Increment { blue, green },
        _ => Step::Reset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(requests: f64, events: f64) -> Tally {
        Tally::Counts { requests, events }
    }

    /// A latency histogram in ms: `n` requests, `fast` of them within
    /// 250 ms, `ok` within 1000 ms.
    fn hist(n: f64, fast: f64, ok: f64) -> Tally {
        Tally::Buckets {
            count: n,
            buckets: vec![(250.0, fast), (1000.0, ok), (f64::INFINITY, n)],
            sum: None,
        }
    }

    fn inc(blue: (f64, f64), green: (f64, f64)) -> Step<Counts> {
        let c = |(requests, events)| Counts { requests, events };
        Step::Increment {
            blue: c(blue),
            green: c(green),
        }
    }

    #[test]
    fn error_counts_are_differences_of_the_totals() {
        let (b0, g0) = (counted(1000.0, 5.0), counted(10.0, 0.0));
        let (b1, g1) = (counted(1750.0, 9.0), counted(260.0, 3.0));
        assert_eq!(
            increments([Some(&b0), Some(&g0)], [Some(&b1), Some(&g1)], None),
            inc((750.0, 4.0), (250.0, 3.0))
        );
    }

    #[test]
    fn slow_requests_are_counted_over_an_edge() {
        // 200 requests, 150 within 250 ms, 196 within 1 s: 4 over 1 s
        let t = hist(200.0, 150.0, 196.0);
        assert_eq!(counts(&t, Some(1000.0)), Some(counted_c(200.0, 4.0)));
        assert_eq!(counts(&t, Some(250.0)), Some(counted_c(200.0, 50.0)));
        // between edges, or no bound: nothing to count
        assert_eq!(counts(&t, Some(500.0)), None);
        assert_eq!(counts(&t, None), None);
        let (b0, g0) = (hist(1000.0, 900.0, 990.0), hist(0.0, 0.0, 0.0));
        let (b1, g1) = (hist(1300.0, 1170.0, 1287.0), hist(100.0, 60.0, 90.0));
        // blue: 300 more, 3 more over 1 s; green: 100, 10 over 1 s
        assert_eq!(
            increments([Some(&b0), Some(&g0)], [Some(&b1), Some(&g1)], Some(1000.0)),
            inc((300.0, 3.0), (100.0, 10.0))
        );
    }

    fn counted_c(requests: f64, events: f64) -> Counts {
        Counts { requests, events }
    }

    #[test]
    fn the_bound_sits_at_blues_p99_over_the_span() {
        // since start: 0.99 × 200 = 198 > 196 within 1 s: past the last
        // finite edge, so 1000
        assert_eq!(
            slow_bound(&hist(200.0, 150.0, 196.0), None, 0.99),
            Some(1000.0)
        );
        assert_eq!(
            slow_bound(&hist(200.0, 150.0, 196.0), None, 0.7),
            Some(250.0)
        );
        // since a later point: 100 requests, 99 within 250 ms
        let since = hist(100.0, 51.0, 97.0);
        assert_eq!(
            slow_bound(&hist(200.0, 150.0, 196.0), Some(&since), 0.99),
            Some(250.0)
        );
        assert_eq!(slow_bound(&counted(10.0, 1.0), None, 0.99), None);
        assert_eq!(slow_bound(&hist(0.0, 0.0, 0.0), None, 0.99), None);
    }

    #[test]
    fn a_means_tally_gives_moments_and_no_counts() {
        let m = Tally::Moments {
            count: 200.0,
            sum: 50_000.0,
        };
        assert_eq!(
            moments(&m),
            Some(Moments {
                count: 200.0,
                sum: 50_000.0,
                sum_sq: None
            })
        );
        assert_eq!(counts(&m, Some(100.0)), None);
        assert_eq!(moments(&counted(10.0, 1.0)), None);
        assert_eq!([requests(&m), requests(&counted(10.0, 1.0))], [200.0, 10.0]);
    }

    #[test]
    fn no_data_baseline_and_reset() {
        let (b, g) = (counted(100.0, 1.0), counted(10.0, 0.0));
        assert_eq!(
            increments([Some(&b), Some(&g)], [Some(&b), None], None),
            Step::NoData
        );
        assert_eq!(
            increments([None, Some(&g)], [Some(&b), Some(&g)], None),
            Step::Baseline
        );
        // green's total fell: a pod restarted, the span is lost for both
        let fell = counted(4.0, 0.0);
        assert_eq!(
            increments([Some(&b), Some(&g)], [Some(&b), Some(&fell)], None),
            Step::Reset
        );
        assert_eq!(
            increments([Some(&b), Some(&g)], [Some(&b), Some(&g)], None),
            inc((0.0, 0.0), (0.0, 0.0))
        );
    }
}
