//! What a latency histogram's buckets give the tests: requests over a bound
//! (a count, for "p99 regressed") and an estimate of the sum of squares
//! (for the test of means where the server exports no such counter).

use super::increments::Counts;

/// One cumulative bucket: requests with a value at most `le`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub le: f64,
    pub count: f64,
}

fn same_edge(a: f64, b: f64) -> bool {
    a.is_finite() && b.is_finite() && (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Requests over `bound`: `count − bucket{le = bound}`. `None` when `bound`
/// is not one of the edges (a bound between edges cannot be counted).
pub fn over_bound(buckets: &[Bucket], count: f64, bound: f64) -> Option<f64> {
    let b = buckets.iter().find(|b| same_edge(b.le, bound))?;
    Some((count - b.count).max(0.0))
}

/// Requests and requests over `bound` from cumulative buckets alone (the
/// `+Inf` bucket is the count): the slow-request count test's counters.
pub fn slow_counts(buckets: &[Bucket], bound: f64) -> Option<Counts> {
    let total = buckets.iter().find(|b| b.le == f64::INFINITY)?.count;
    Some(Counts {
        requests: total,
        events: over_bound(buckets, total, bound)?,
    })
}

/// The bound for the slow-request count: the lowest finite edge holding at
/// least a share `q` of the requests (e.g. 0.99 on blue's buckets when green
/// gets its first traffic). `None` without requests or finite edges.
pub fn bound_near(buckets: &[Bucket], count: f64, q: f64) -> Option<f64> {
    if count <= 0.0 {
        return None;
    }
    let mut finite = buckets.iter().filter(|b| b.le.is_finite());
    let first_enough = finite.clone().find(|b| b.count >= q * count);
    // Past the last finite edge: the last edge is the best that can be counted.
    first_enough.or_else(|| finite.next_back()).map(|b| b.le)
}

/// An estimate of the sum of squares of the values in a histogram (bucket
/// increments), each value taken at its bucket's midpoint; the top bucket
/// (`+Inf`) at its lower edge. Slightly overstates the spread within wide
/// buckets, which only makes the test of means more cautious.
pub fn sum_sq_estimate(buckets: &[Bucket]) -> f64 {
    let mut lower = 0.0;
    let mut below = 0.0;
    let mut total = 0.0;
    for b in buckets {
        let k = (b.count - below).max(0.0);
        let mid = if b.le.is_finite() {
            (lower + b.le) / 2.0
        } else {
            lower
        };
        total += k * mid * mid;
        below = b.count.max(below);
        if b.le.is_finite() {
            lower = b.le;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist() -> Vec<Bucket> {
        [(100.0, 50.0), (250.0, 90.0), (500.0, 99.0), (1000.0, 100.0)]
            .into_iter()
            .chain([(f64::INFINITY, 102.0)])
            .map(|(le, count)| Bucket { le, count })
            .collect()
    }

    #[test]
    fn counts_over_an_edge() {
        // 102 requests, 99 at most 500 ms: 3 over 500 ms
        assert_eq!(over_bound(&hist(), 102.0, 500.0), Some(3.0));
        assert_eq!(over_bound(&hist(), 102.0, 1000.0), Some(2.0));
        assert_eq!(over_bound(&hist(), 102.0, 300.0), None);
        assert_eq!(
            slow_counts(&hist(), 500.0),
            Some(Counts {
                requests: 102.0,
                events: 3.0
            })
        );
        assert_eq!(slow_counts(&hist()[..4], 500.0), None);
    }

    #[test]
    fn picks_the_edge_at_blues_p99() {
        // 0.99 × 102 = 100.98: first edge with at least that many is +Inf,
        // so the last finite edge, 1000
        assert_eq!(bound_near(&hist(), 102.0, 0.99), Some(1000.0));
        // 0.9 × 102 = 91.8: 500 holds 99
        assert_eq!(bound_near(&hist(), 102.0, 0.9), Some(500.0));
        assert_eq!(bound_near(&hist(), 0.0, 0.9), None);
    }

    #[test]
    fn sum_of_squares_at_midpoints() {
        // 50 at 50, 40 at 175, 9 at 375, 1 at 750, 2 at 1000 (top bucket):
        // 50·2500 + 40·30625 + 9·140625 + 562500 + 2·1e6 = 5,178,125
        assert_eq!(sum_sq_estimate(&hist()), 5_178_125.0);
    }
}
