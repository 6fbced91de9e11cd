//! Histogram maths: merging cumulative buckets, taking deltas between two
//! polls, and the quantile estimate Prometheus' `histogram_quantile` makes.
//! Pure functions only, so they can be checked against hand-computed values.

use std::cmp::Ordering;

/// One cumulative bucket: how many observations were `<= le`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub le: f64,
    pub count: f64,
}

impl Bucket {
    pub fn new(le: f64, count: f64) -> Self {
        Bucket { le, count }
    }
}

/// Sorts buckets by bound and sums those with the same bound. This is how
/// pods and label sets are added up: `sum by (le)`.
pub fn merge(buckets: impl IntoIterator<Item = Bucket>) -> Vec<Bucket> {
    let mut all: Vec<Bucket> = buckets.into_iter().collect();
    all.sort_by(|a, b| a.le.total_cmp(&b.le));
    let mut out: Vec<Bucket> = Vec::with_capacity(all.len());
    for b in all {
        match out.last_mut() {
            Some(last) if last.le.total_cmp(&b.le) == Ordering::Equal => last.count += b.count,
            _ => out.push(b),
        }
    }
    out
}

/// The count at bound `le` in sorted, merged buckets; 0 when the bound is
/// absent (a series that did not exist yet had counted nothing).
pub fn count_at(buckets: &[Bucket], le: f64) -> f64 {
    buckets
        .binary_search_by(|b| b.le.total_cmp(&le))
        .map_or(0.0, |i| buckets[i].count)
}

/// `now - base` per bound of `now`, both sorted and merged.
pub fn delta(now: &[Bucket], base: &[Bucket]) -> Vec<Bucket> {
    now.iter()
        .map(|b| Bucket::new(b.le, b.count - count_at(base, b.le)))
        .collect()
}

/// True when any bound of `prev` counts less in `now`: a counter went
/// backwards (a restart, or a series that disappeared).
pub fn went_down(now: &[Bucket], prev: &[Bucket]) -> bool {
    prev.iter().any(|p| count_at(now, p.le) < p.count)
}

/// The outcome of a quantile estimate. Prometheus answers NaN for the three
/// non-value cases; we keep them apart so the screen can say which.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantile {
    Value(f64),
    /// The `+Inf` bucket counted nothing: no requests in the window.
    NoObservations,
    /// There is no `+Inf` bucket, so the total is unknown.
    NoInfBucket,
    /// Only the `+Inf` bucket: no finite bound to interpolate to.
    TooFewBuckets,
    /// The rank falls in the `+Inf` bucket: the quantile is at least this
    /// highest finite `le`. (Prometheus answers the bound itself, which can
    /// hide a breach above it.)
    AboveHighest(f64),
}

/// Estimates quantile `q` (0..=1) from cumulative buckets in any order,
/// following Prometheus' `bucketQuantile` (promql/quantile.go, 2.x):
/// rank = q × total; the first bucket whose cumulative count reaches the rank
/// holds the quantile, interpolated linearly between its lower bound (the
/// previous `le`, or 0 for the first bucket when its `le` is positive) and
/// its `le`; a rank in the `+Inf` bucket answers the highest finite `le`.
pub fn quantile(q: f64, buckets: &[Bucket]) -> Quantile {
    if q < 0.0 {
        return Quantile::Value(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Quantile::Value(f64::INFINITY);
    }
    let mut b = merge(buckets.iter().copied());
    match b.last() {
        Some(last) if last.le == f64::INFINITY => {}
        _ => return Quantile::NoInfBucket,
    }
    // Scrapes are not atomic, so a higher bucket can read lower than the one
    // below it; Prometheus lifts it to keep the counts cumulative.
    let mut max = f64::NEG_INFINITY;
    for bucket in &mut b {
        if bucket.count > max {
            max = bucket.count;
        } else {
            bucket.count = max;
        }
    }
    if b.len() < 2 {
        return Quantile::TooFewBuckets;
    }
    let total = b[b.len() - 1].count;
    if total == 0.0 || total.is_nan() {
        return Quantile::NoObservations;
    }
    let mut rank = q * total;
    // Search the finite buckets only; none reaching the rank means +Inf.
    let finite = &b[..b.len() - 1];
    let i = finite.partition_point(|x| x.count < rank);
    if i == finite.len() {
        return Quantile::AboveHighest(finite[finite.len() - 1].le);
    }
    if i == 0 && b[0].le <= 0.0 {
        return Quantile::Value(b[0].le);
    }
    let (mut start, end, mut count) = (0.0, b[i].le, b[i].count);
    if i > 0 {
        start = b[i - 1].le;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    Quantile::Value(start + (end - start) * (rank / count))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    fn h(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs.iter().map(|&(le, c)| Bucket::new(le, c)).collect()
    }

    fn value(q: Quantile) -> f64 {
        match q {
            Quantile::Value(v) => v,
            other => panic!("expected a value, got {other:?}"),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn interpolates_inside_a_middle_bucket() {
        // 100 requests: 50 ≤ 0.1, 90 ≤ 0.5, 98 ≤ 1, 100 ≤ 2.5.
        // rank 99 lands in (1, 2.5]: 1 + 1.5 × (99 − 98) / (100 − 98) = 1.75.
        let b = h(&[
            (0.1, 50.0),
            (0.5, 90.0),
            (1.0, 98.0),
            (2.5, 100.0),
            (INF, 100.0),
        ]);
        assert!(close(value(quantile(0.99, &b)), 1.75));
        // The median: rank 50 is exactly the first bucket's count.
        assert!(close(value(quantile(0.5, &b)), 0.1));
    }

    #[test]
    fn everything_in_the_first_bucket_interpolates_from_zero() {
        // rank 9.9 of 10, all ≤ 0.2: 0 + 0.2 × 9.9/10 = 0.198.
        let b = h(&[(0.2, 10.0), (0.5, 10.0), (INF, 10.0)]);
        assert!(close(value(quantile(0.99, &b)), 0.198));
    }

    #[test]
    fn first_bucket_with_non_positive_bound_returns_the_bound() {
        let b = h(&[(0.0, 10.0), (1.0, 10.0), (INF, 10.0)]);
        assert_eq!(value(quantile(0.99, &b)), 0.0);
    }

    #[test]
    fn rank_exactly_on_a_boundary_returns_that_bound() {
        // 200 requests, 198 ≤ 0.25: rank 198 = the bucket's count → 0.25.
        let b = h(&[(0.1, 100.0), (0.25, 198.0), (0.5, 200.0), (INF, 200.0)]);
        assert!(close(value(quantile(0.99, &b)), 0.25));
    }

    #[test]
    fn rank_in_the_inf_bucket_is_above_the_highest_finite_bound() {
        // 100 requests, only 90 ≤ 1: rank 99 is beyond every finite bound.
        // Prometheus would answer 1.0; we say "at least 1.0".
        let b = h(&[(0.5, 50.0), (1.0, 90.0), (INF, 100.0)]);
        assert_eq!(quantile(0.99, &b), Quantile::AboveHighest(1.0));
    }

    #[test]
    fn buckets_out_of_order_are_sorted_first() {
        let sorted = h(&[
            (0.1, 50.0),
            (0.5, 90.0),
            (1.0, 98.0),
            (2.5, 100.0),
            (INF, 100.0),
        ]);
        let shuffled = h(&[
            (INF, 100.0),
            (1.0, 98.0),
            (0.1, 50.0),
            (2.5, 100.0),
            (0.5, 90.0),
        ]);
        assert_eq!(quantile(0.99, &shuffled), quantile(0.99, &sorted));
    }

    #[test]
    fn zero_total_is_no_observations() {
        let b = h(&[(0.1, 0.0), (1.0, 0.0), (INF, 0.0)]);
        assert_eq!(quantile(0.99, &b), Quantile::NoObservations);
    }

    #[test]
    fn missing_inf_and_too_few_buckets() {
        assert_eq!(
            quantile(0.99, &h(&[(0.1, 5.0), (1.0, 9.0)])),
            Quantile::NoInfBucket
        );
        assert_eq!(quantile(0.99, &[]), Quantile::NoInfBucket);
        assert_eq!(quantile(0.99, &h(&[(INF, 9.0)])), Quantile::TooFewBuckets);
    }

    #[test]
    fn non_monotonic_counts_are_lifted_like_prometheus() {
        // 0.5 reads 40 below 0.1's 50 (a torn scrape): treated as 50, so the
        // rank 99 lands in (1, +Inf] → at least the highest finite bound, 1.
        let b = h(&[(0.1, 50.0), (0.5, 40.0), (1.0, 60.0), (INF, 100.0)]);
        assert_eq!(quantile(0.99, &b), Quantile::AboveHighest(1.0));
        // q = 0.5, rank 50 = the lifted 0.1 bucket → 0.1.
        assert!(close(value(quantile(0.5, &b)), 0.1));
    }

    #[test]
    fn out_of_range_q() {
        let b = h(&[(1.0, 1.0), (INF, 1.0)]);
        assert_eq!(value(quantile(-0.1, &b)), f64::NEG_INFINITY);
        assert_eq!(value(quantile(1.1, &b)), f64::INFINITY);
    }

    #[test]
    fn merge_sums_equal_bounds_across_pods() {
        let m = merge(h(&[
            (1.0, 3.0),
            (INF, 4.0),
            (1.0, 2.0),
            (0.5, 1.0),
            (INF, 6.0),
        ]));
        assert_eq!(m, h(&[(0.5, 1.0), (1.0, 5.0), (INF, 10.0)]));
    }

    #[test]
    fn delta_treats_new_bounds_as_starting_from_zero() {
        let base = h(&[(1.0, 5.0), (INF, 10.0)]);
        let now = h(&[(0.5, 2.0), (1.0, 8.0), (INF, 20.0)]);
        assert_eq!(
            delta(&now, &base),
            h(&[(0.5, 2.0), (1.0, 3.0), (INF, 10.0)])
        );
    }

    #[test]
    fn went_down_detects_resets_and_vanished_bounds() {
        let prev = h(&[(1.0, 5.0), (INF, 10.0)]);
        assert!(!went_down(&h(&[(1.0, 5.0), (INF, 11.0)]), &prev));
        assert!(went_down(&h(&[(1.0, 1.0), (INF, 2.0)]), &prev));
        assert!(went_down(&h(&[(INF, 12.0)]), &prev));
    }
}
