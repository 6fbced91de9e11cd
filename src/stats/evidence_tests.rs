//! The evidence set: levels, restarts, findings, the gate's countdown.

use super::*;
use crate::stats::means::MIN_BATCHES;

fn cfg(alpha: f64, effect: &str) -> TestConfig {
    TestConfig::new(alpha, MinEffect::parse(effect).unwrap()).unwrap()
}

fn c(requests: f64, events: f64) -> Option<Counts> {
    Some(Counts { requests, events })
}

fn set() -> EvidenceSet {
    EvidenceSet::new(vec![
        Judged::counts("error rate", cfg(0.01, "+0.5pt")),
        Judged::means("quality", cfg(0.01, "0.03"), false),
        Judged::untestable("quality score", cfg(0.01, "0.03"), false, "gauge"),
    ])
}

/// Blue at 0.5 % errors and green at `green_rate`, `polls` polls of
/// `per_poll` requests at green's share `rho`, on cumulative counters that
/// start at `start` (blue, green).
fn feed(
    j: &mut Judged,
    start: (Counts, Counts),
    polls: u32,
    per_poll: f64,
    rho: f64,
    green_rate: f64,
) -> (Counts, Counts) {
    let (mut b, mut g) = start;
    for _ in 0..polls {
        b.requests += per_poll * (1.0 - rho);
        b.events += per_poll * (1.0 - rho) * 0.005;
        g.requests += per_poll * rho;
        g.events += per_poll * rho * green_rate;
        j.observe_counts(Some(b), Some(g));
    }
    (b, g)
}

/// An evidence set judging only the error rate, with `effect` as its
/// smallest effect worth finding.
fn error_rate_only(effect: &str) -> EvidenceSet {
    EvidenceSet::new(vec![Judged::counts("error rate", cfg(0.01, effect))])
}

/// [`feed`] from counters that start at zero, with that zero as baseline.
fn feed_from_zero(
    j: &mut Judged,
    polls: u32,
    per_poll: f64,
    rho: f64,
    green_rate: f64,
) -> (Counts, Counts) {
    j.observe_counts(c(0.0, 0.0), c(0.0, 0.0));
    let zero = (Counts::default(), Counts::default());
    feed(j, zero, polls, per_poll, rho, green_rate)
}

#[test]
fn alpha_is_split_across_the_testable_metrics() {
    let s = set();
    // two testable metrics (the gauge is not judged): 0.01 / 2
    assert_eq!(s.metrics()[0].level(), 0.005);
    assert_eq!(s.metrics()[1].level(), 0.005);
    assert_eq!(bonferroni(0.01, 3), 0.01 / 3.0);
    assert_eq!(bonferroni(0.01, 0), 0.01);
}

#[test]
fn a_gauge_is_not_testable() {
    let s = set();
    assert_eq!(
        s.metrics()[2].finding(None),
        Finding::NotTestable { why: "gauge" }
    );
}

#[test]
fn a_doubled_error_rate_is_found_and_stays_found() {
    let mut s = error_rate_only("+0.25pt");
    let j = s.get_mut("error rate").unwrap();
    // 25 % of 1,000 req/s, 5 s polls: 1.0 % on green against 0.5 %
    let end = feed_from_zero(j, 24, 5_000.0, 0.25, 0.01);
    let Finding::Worse { e_value } = j.finding(None) else {
        panic!("{:?}", j.finding(None));
    };
    assert!(e_value >= 100.0, "{e_value}");
    assert_eq!(s.worse().len(), 1);
    // a better stretch after the decision does not undo it
    let j = s.get_mut("error rate").unwrap();
    feed(j, end, 50, 5_000.0, 0.25, 0.0);
    assert!(matches!(j.finding(None), Finding::Worse { .. }));
}

#[test]
fn evidence_carries_across_steps_and_restarts_only_for_a_new_green() {
    let mut s = error_rate_only("+0.5pt");
    assert!(!s.green_is("green-v2"));
    let j = s.get_mut("error rate").unwrap();
    // 1 % then 5 %: green somewhat worse (0.8 %), not yet decided
    let at = feed_from_zero(j, 6, 5_000.0, 0.01, 0.008);
    let e1 = j.e_value();
    feed(j, at, 1, 5_000.0, 0.05, 0.008);
    assert_ne!(j.e_value(), 1.0);
    assert_eq!(j.last_share(), Some(0.05));
    let e2 = j.e_value();
    assert_ne!(e1, e2);
    // the same green again: nothing restarts
    assert!(!s.green_is("green-v2"));
    assert_eq!(s.metrics()[0].e_value(), e2);
    // a new green: E = 1, no share, no baseline
    assert!(s.green_is("green-v3"));
    assert_eq!(s.metrics()[0].e_value(), 1.0);
    assert_eq!(s.metrics()[0].last_share(), None);
}

#[test]
fn the_gate_counts_down_to_no_regression() {
    let mut s = error_rate_only("+0.5pt");
    // no blue rate yet: cannot say
    assert_eq!(s.still_needed(Some(0.05)), None);
    let j = s.get_mut("error rate").unwrap();
    let at = feed_from_zero(j, 1, 20_000.0, 0.05, 0.005);
    let first = s.still_needed(None).unwrap().green_requests;
    assert!(first > 1_000.0, "{first}");
    let j = s.get_mut("error rate").unwrap();
    feed(j, at, 60, 20_000.0, 0.05, 0.005);
    assert!(matches!(
        s.metrics()[0].finding(None),
        Finding::NoRegression { .. }
    ));
    assert_eq!(s.still_needed(None), Some(Needed::none()));
}

#[test]
fn means_wait_for_the_burn_in_and_for_batches_without_a_spread() {
    let mut s = set();
    let m = |n: f64, mean: f64| {
        Some(Moments {
            count: n,
            sum: n * mean,
            sum_sq: Some(n * (mean * mean + 0.01)),
        })
    };
    let j = s.get_mut("quality").unwrap();
    j.observe_moments(m(0.0, 0.0), m(0.0, 0.0));
    j.observe_moments(m(1000.0, 0.85), m(40.0, 0.85));
    assert_eq!(
        j.finding(None),
        Finding::BurnIn {
            green_requests: 60.0,
            polls: 0.0
        }
    );
    // the gate cannot pass during the burn-in
    assert_eq!(s.still_needed(Some(0.05)), None);
    let j = s.get_mut("quality").unwrap();
    let no_sq = |n: f64| {
        Some(Moments {
            count: n,
            sum: n * 0.85,
            sum_sq: None,
        })
    };
    // without a sum of squares the spread comes from the polls' batch
    // means, and each increment so far is one: 3 of them
    j.observe_moments(no_sq(2000.0), no_sq(200.0));
    j.observe_moments(no_sq(3000.0), no_sq(300.0));
    assert_eq!(
        j.finding(None),
        Finding::BurnIn {
            green_requests: 0.0,
            polls: MIN_BATCHES - 3.0
        }
    );
}

#[test]
fn a_lower_quality_is_found() {
    let mut s = set();
    let j = s.get_mut("quality").unwrap();
    let m = |n: f64, mean: f64| {
        Some(Moments {
            count: n,
            sum: n * mean,
            sum_sq: Some(n * (mean * mean + 0.01)),
        })
    };
    j.observe_moments(m(0.0, 0.0), m(0.0, 0.0));
    // 2,000 requests each at 0.85 ± 0.1 and 0.80 ± 0.1
    j.observe_moments(m(2000.0, 0.85), m(2000.0, 0.80));
    assert!(
        matches!(j.finding(None), Finding::Worse { .. }),
        "{:?}",
        j.finding(None)
    );
    // higher quality on green is no alarm, however clear
    let mut s = set();
    let j = s.get_mut("quality").unwrap();
    j.observe_moments(m(0.0, 0.0), m(0.0, 0.0));
    j.observe_moments(m(2000.0, 0.80), m(2000.0, 0.85));
    assert!(!matches!(j.finding(None), Finding::Worse { .. }));
}
