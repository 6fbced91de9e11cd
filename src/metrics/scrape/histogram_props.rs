//! `quantile` against a reference written from Prometheus' own
//! `bucketQuantile` (promql/quantile.go, 2.x), over histograms of every
//! shape: bounds in any order, repeated (pods summed by `le`), negative or
//! zero, counts that dip (a scrape that is not atomic), an empty or a
//! missing `+Inf` bucket, and `q` inside and outside 0..=1.

use proptest::prelude::*;

use super::histogram::{Bucket, Quantile, quantile};

/// Prometheus' answer, step by step as quantile.go takes it; NaN where it
/// answers NaN.
fn reference(q: f64, input: &[(f64, f64)]) -> f64 {
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let mut sorted = input.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    if sorted.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // coalesceBuckets: one bucket per bound, counts added.
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for (le, count) in sorted {
        match buckets.last_mut() {
            Some(last) if last.0 == le => last.1 += count,
            _ => buckets.push((le, count)),
        }
    }
    // ensureMonotonic: a count below the one before it is raised to it.
    for i in 1..buckets.len() {
        if buckets[i].1 < buckets[i - 1].1 {
            buckets[i].1 = buckets[i - 1].1;
        }
    }
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // sort.Search over all but the +Inf bucket, written as a scan.
    let last = buckets.len() - 1;
    let b = (0..last).find(|&i| buckets[i].1 >= rank).unwrap_or(last);
    if b == last {
        return buckets[last - 1].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let (mut start, end, mut count) = (0.0, buckets[b].0, buckets[b].1);
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

/// What Prometheus would print for our answer: the kinds of "no value"
/// are NaN there, and a rank in `+Inf` answers the highest finite bound.
fn as_prometheus(q: Quantile) -> f64 {
    match q {
        Quantile::Value(v) | Quantile::AboveHighest(v) => v,
        Quantile::NoObservations | Quantile::NoInfBucket | Quantile::TooFewBuckets => f64::NAN,
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// A bound: a few fixed ones (so they repeat and merge), any finite one,
/// or `+Inf`.
fn bound() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::sample::select(vec![-1.0, 0.0, 0.005, 0.1, 0.25, 1.0, 2.5, 10.0]),
        2 => -100.0..1e4f64,
        1 => Just(f64::INFINITY),
    ]
}

/// Buckets as a scrape gives them: mostly cumulative counts in bound
/// order with a `+Inf` bucket, shuffled; sometimes any counts at all.
fn histogram() -> impl Strategy<Value = Vec<(f64, f64)>> {
    let cumulative = (
        prop::collection::vec((bound(), 0u32..50), 0..10),
        any::<bool>(),
    )
        .prop_map(|(mut v, with_inf)| {
            if with_inf {
                v.push((f64::INFINITY, 0));
            }
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut total = 0.0;
            v.into_iter()
                .map(|(le, add)| {
                    total += f64::from(add);
                    (le, total)
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle();
    let any_counts = prop::collection::vec((bound(), (0u32..1000).prop_map(f64::from)), 0..10);
    prop_oneof![4 => cumulative, 1 => any_counts]
}

fn q() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => 0.0..=1.0f64,
        1 => prop::sample::select(vec![0.0, 0.5, 0.9, 0.99, 1.0]),
        1 => -2.0..3.0f64,
    ]
}

proptest! {
    #[test]
    fn quantile_answers_as_prometheus_does(q in q(), h in histogram()) {
        let buckets: Vec<Bucket> = h.iter().map(|&(le, c)| Bucket::new(le, c)).collect();
        let ours = as_prometheus(quantile(q, &buckets));
        let theirs = reference(q, &h);
        prop_assert!(same(ours, theirs), "q={q} {h:?}: ours {ours}, Prometheus {theirs}");
    }

    /// Within the finite bounds the estimate never leaves the bucket that
    /// holds the rank, so it lies between the lowest and highest bound.
    #[test]
    fn a_value_lies_within_the_bounds(q in 0.0..=1.0f64, h in histogram()) {
        let buckets: Vec<Bucket> = h.iter().map(|&(le, c)| Bucket::new(le, c)).collect();
        if let Quantile::Value(v) = quantile(q, &buckets) {
            let finite = h.iter().map(|b| b.0).filter(|le| le.is_finite());
            let lo = finite.clone().fold(0.0f64, f64::min);
            let hi = finite.fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(v.is_nan() || (lo <= v && v <= hi), "q={q} {h:?}: {v} outside {lo}..={hi}");
        }
    }
}
