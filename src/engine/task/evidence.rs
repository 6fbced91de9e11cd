//! The evidence part: every metric with `test = { alpha, min_effect }`
//! judged green against blue on each poll's tallies, and what the
//! evidence says for the screen, `status --json` and auto-rollback.
//!
//! Evidence runs for as long as green is the same build: a step of the
//! plan only changes the share, which the test reads from each increment.
//! A new `[service] green_version` starts it again.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::SourceKind;
use crate::engine::state::EvidenceView;
use crate::metricspec::{CloudWatch, MetricSpec};
use crate::model::{Snapshot, Tally};
use crate::stats::{EvidenceSet, Judged, Needed, tally, text};

/// The share of blue's requests under the slow-request bound of a
/// histogram: blue's p99.
const SLOW_QUANTILE: f64 = 0.99;

/// What a tested metric's tallies feed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// The count test: a ratio's events, or a histogram's requests slower
    /// than `bound`, fixed when green first gets traffic so that the count
    /// it feeds never changes its meaning.
    Counts { histogram: bool, bound: Option<f64> },
    /// The test of means: a mean's count and sum.
    Means,
    /// Nothing: a gauge, shown as not testable.
    None,
}

/// One tested metric: where its tallies are, and how they are counted.
struct Tested {
    /// Its place in the config's order (a snapshot's tallies are in it).
    index: usize,
    id: String,
    rollback: bool,
    kind: Kind,
}

/// The engine's evidence, one [`Judged`] per tested metric.
pub(super) struct Evidence {
    set: EvidenceSet,
    /// In the order of `set.metrics()`.
    tested: Vec<Tested>,
}

impl Evidence {
    /// From the specs with a test: a test of means on a mean per request,
    /// a count test on a share or a histogram, and a metric no test can
    /// judge shown as not testable. All of them share α (Bonferroni).
    pub(super) fn new(metrics: &[Arc<MetricSpec>], source: &SourceKind) -> Evidence {
        let mut judged = Vec::new();
        let mut tested = Vec::new();
        for (index, spec) in metrics.iter().enumerate() {
            let Some(config) = spec.test else { continue };
            let (label, worse) = (&spec.label, spec.higher_is_worse());
            let (j, kind) = match kind(spec, source) {
                Err(why) => (Judged::untestable(label, config, worse, why), Kind::None),
                Ok(Kind::Means) => (Judged::means(label, config, worse), Kind::Means),
                Ok(counts) => (Judged::counts(label, config), counts),
            };
            judged.push(j);
            tested.push(Tested {
                index,
                id: spec.id.clone(),
                rollback: spec.rollback,
                kind,
            });
        }
        Evidence {
            set: EvidenceSet::new(judged),
            tested,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.tested.is_empty()
    }

    /// One poll's cumulative tallies into every test; `green` names the
    /// green being judged (another one restarts the evidence).
    pub(super) fn observe(&mut self, snap: &Snapshot, green: &str) {
        if self.set.green_is(green) {
            for t in &mut self.tested {
                if let Kind::Counts { bound, .. } = &mut t.kind {
                    *bound = None;
                }
            }
        }
        for (t, judged) in self.tested.iter_mut().zip(0..) {
            let (blue, green) = (snap.blue.tally(t.index), snap.green.tally(t.index));
            let name = self.set.metrics()[judged].name.clone();
            let Some(j) = self.set.get_mut(&name) else {
                continue;
            };
            match &mut t.kind {
                Kind::Counts { histogram, bound } => {
                    let served = green.is_some_and(|g| tally::requests(g) > 0.0);
                    if *histogram && bound.is_none() && served {
                        *bound = blue.and_then(|b| tally::slow_bound(b, None, SLOW_QUANTILE));
                    }
                    let counts = |x: Option<&Tally>| x.and_then(|x| tally::counts(x, *bound));
                    j.observe_counts(counts(blue), counts(green));
                }
                Kind::Means => {
                    let moments = |x: Option<&Tally>| x.and_then(tally::moments);
                    j.observe_moments(moments(blue), moments(green));
                }
                Kind::None => {}
            }
        }
    }

    /// What each tested metric's evidence says now, keyed by metric id;
    /// `green_rps` turns the requests still needed into time.
    pub(super) fn views(&self, green_rps: Option<f64>) -> Vec<EvidenceView> {
        self.judged()
            .map(|(t, j)| {
                let finding = j.finding(None);
                EvidenceView {
                    id: t.id.clone(),
                    text: text::describe(j, &finding, green_rps),
                    e_value: j.e_value(),
                    finding,
                }
            })
            .collect()
    }

    /// Why to roll back on evidence: every metric that rolls back on which
    /// green is significantly worse, in the user's words; `None`: none.
    pub(super) fn rollback_reason(&self) -> Option<String> {
        let why: Vec<String> = self
            .judged()
            .filter(|(t, j)| t.rollback && j.is_worse())
            .map(|(_, j)| text::describe(j, &j.finding(None), None))
            .collect();
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// What `[gates] evidence = "no regression"` waits for: the most green
    /// requests any tested metric still needs at its last share.
    pub(super) fn still_needed(&self) -> Option<Needed> {
        self.set.still_needed(None)
    }

    /// The e-values now, keyed by metric id, for the journal's decisions.
    pub(super) fn e_values(&self) -> BTreeMap<String, f64> {
        self.judged()
            .filter(|(_, j)| j.is_testable())
            .map(|(t, j)| (t.id.clone(), j.e_value()))
            .collect()
    }

    /// The level each of those is tested at (α after the Bonferroni
    /// split), keyed as [`Evidence::e_values`]: the journal's samples keep
    /// it so the report draws the line each must cross.
    pub(super) fn levels(&self) -> BTreeMap<String, f64> {
        self.judged()
            .filter(|(_, j)| j.is_testable())
            .map(|(t, j)| (t.id.clone(), j.level()))
            .collect()
    }

    fn judged(&self) -> impl Iterator<Item = (&Tested, &Judged)> {
        self.tested.iter().zip(self.set.metrics())
    }
}

/// How `spec` is tested on `source`, or why no test can judge it there.
///
/// A gauge (or a rate or a cost) counts no requests; a metric with a
/// PromQL query of its own gets no counters from Prometheus (its formula's
/// counters may carry other labels than the query's colours); on
/// CloudWatch only a ratio of two sums is counts (the source adds up its
/// minutes), a statistic over the window is not. The scrape and demo
/// sources count from the formula. A mean per request takes the test of
/// means: on CloudWatch by its ratio's unit, elsewhere by its formula's.
fn kind(spec: &MetricSpec, source: &SourceKind) -> Result<Kind, &'static str> {
    let counts = |histogram| Kind::Counts {
        histogram,
        bound: None,
    };
    if let SourceKind::CloudWatch(_) = source {
        return match &spec.compute.cloudwatch {
            Some(cw @ CloudWatch::Ratio { .. }) if cw.is_mean() => Ok(Kind::Means),
            Some(CloudWatch::Ratio { .. }) => Ok(counts(false)),
            Some(CloudWatch::Stat { .. }) => Err("a CloudWatch statistic counts no requests"),
            Some(CloudWatch::Alarms) => Err("gauge"),
            None => Err("CloudWatch does not read it"),
        };
    }
    if !spec.testable() {
        return Err("gauge");
    }
    if matches!(source, SourceKind::Prometheus(_)) && spec.compute.tally_queries().is_none() {
        return Err("a query of its own names no counters");
    }
    if spec.is_mean() {
        return Ok(Kind::Means);
    }
    Ok(counts(matches!(
        spec.compute.formula,
        Some(crate::metricspec::Formula::Quantile { .. })
    )))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant, SystemTime};

    use super::*;
    use crate::metricspec::{Unit, preset};
    use crate::model::{ColorReadings, NoData};
    use crate::stats::{Finding, MinEffect, TestConfig};

    /// The `http` preset (p99, error rate, quality) with a test on the
    /// error rate and on quality (a gauge: not testable).
    fn specs(error_rate_rolls_back: bool) -> Vec<Arc<MetricSpec>> {
        let cfg = TestConfig::new(0.01, MinEffect::Points(0.25)).unwrap();
        let mut specs = preset::specs("http", 0).unwrap();
        for s in &mut specs {
            if s.id != "p99_ms" {
                s.test = Some(cfg);
            }
            if s.id == "error_rate" {
                s.rollback = error_rate_rolls_back;
            }
        }
        specs.into_iter().map(Arc::new).collect()
    }

    fn readings(requests: f64, errors: f64) -> ColorReadings {
        let mut r = ColorReadings::no_data(3, NoData::Baseline);
        r.tallies = vec![
            None,
            Some(Tally::Counts {
                requests,
                events: errors,
            }),
            None,
        ];
        r
    }

    /// `t` seconds at 750 requests per second on blue (0.5 % errors) and
    /// 250 on green (`green_errors`).
    fn snap(t: f64, green_errors: f64) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            wall: SystemTime::now(),
            window: Duration::from_secs(5),
            blue: readings(750.0 * t, (750.0 * t * 0.005).floor()),
            green: readings(250.0 * t, (250.0 * t * green_errors).floor()),
        }
    }

    /// The polls of the seconds `secs`, one a second.
    fn run(e: &mut Evidence, green_errors: f64, secs: std::ops::Range<u32>) {
        for t in secs {
            e.observe(&snap(f64::from(t), green_errors), "v2");
        }
    }

    #[test]
    fn a_query_of_its_own_on_prometheus_is_not_testable() {
        let mut own: Vec<MetricSpec> = specs(true).iter().map(|s| (**s).clone()).collect();
        own[1].compute.query = Some(crate::metricspec::Query {
            template: "my_errors{colour=\"$color\"}".into(),
            unit: crate::metricspec::Unit::Ratio,
        });
        let own: Vec<Arc<MetricSpec>> = own.into_iter().map(Arc::new).collect();
        let why = |source: &SourceKind| {
            let e = Evidence::new(&own, source);
            match e.views(None)[0].finding {
                Finding::NotTestable { why } => Some(why),
                _ => None,
            }
        };
        let prometheus = SourceKind::Prometheus(crate::config::PrometheusConfig::new("http://p"));
        assert_eq!(
            why(&prometheus),
            Some("a query of its own names no counters")
        );
        // The scrape and demo sources count from the formula.
        assert_eq!(why(&SourceKind::Demo), None);
    }

    #[test]
    fn on_cloudwatch_a_ratio_of_sums_is_tested_and_a_statistic_is_not() {
        let cloudwatch = SourceKind::CloudWatch(toml::from_str("blue = {}\ngreen = {}").unwrap());
        let with = |cw: CloudWatch| {
            let mut spec = (*specs(true)[1]).clone();
            spec.compute = crate::metricspec::Compute {
                cloudwatch: Some(cw),
                ..Default::default()
            };
            let e = Evidence::new(&[Arc::new(spec)], &cloudwatch);
            let kind = e.tested[0].kind;
            let why = match e.views(None)[0].finding {
                Finding::NotTestable { why } => Some(why),
                _ => None,
            };
            (kind, why)
        };
        let ratio = |unit| CloudWatch::Ratio {
            namespace: None,
            numerator: vec!["Errors".into()],
            denominator: vec!["Invocations".into()],
            unit,
        };
        let counts = Kind::Counts {
            histogram: false,
            bound: None,
        };
        assert_eq!(with(ratio(Unit::Ratio)), (counts, None));
        // A duration summed over invocations: a mean per request.
        assert_eq!(with(ratio(Unit::Millis)), (Kind::Means, None));
        let p99 = CloudWatch::Stat {
            namespace: None,
            metric: "Duration".into(),
            stat: "p99".into(),
            unit: Unit::Millis,
        };
        assert_eq!(
            with(p99),
            (
                Kind::None,
                Some("a CloudWatch statistic counts no requests")
            )
        );
        assert_eq!(with(CloudWatch::Alarms), (Kind::None, Some("gauge")));
    }

    #[test]
    fn a_doubled_error_rate_is_a_reason_to_roll_back() {
        let mut e = Evidence::new(&specs(true), &SourceKind::Demo);
        run(&mut e, 0.01, 0..120);
        let views = e.views(Some(250.0));
        let ids: Vec<&str> = views.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["error_rate", "quality"]);
        assert!(
            matches!(views[0].finding, Finding::Worse { .. }),
            "{views:?}"
        );
        assert!(matches!(views[1].finding, Finding::NotTestable { .. }));
        assert!(
            e.rollback_reason()
                .is_some_and(|r| r.contains("error rate"))
        );
        // the gauge carries no e-value into the journal
        let e_values = e.e_values();
        assert_eq!(e_values.keys().collect::<Vec<_>>(), ["error_rate"]);
        assert!(e_values["error_rate"] >= 100.0);
    }

    #[test]
    fn no_reason_on_equal_rates_or_a_metric_that_does_not_roll_back() {
        let mut e = Evidence::new(&specs(true), &SourceKind::Demo);
        run(&mut e, 0.005, 0..120);
        assert!(!matches!(e.views(None)[0].finding, Finding::Worse { .. }));
        assert_eq!(e.rollback_reason(), None);
        let mut e = Evidence::new(&specs(false), &SourceKind::Demo);
        run(&mut e, 0.01, 0..120);
        assert!(matches!(e.views(None)[0].finding, Finding::Worse { .. }));
        assert_eq!(e.rollback_reason(), None);
    }

    #[test]
    fn a_new_green_starts_the_evidence_again() {
        let mut e = Evidence::new(&specs(true), &SourceKind::Demo);
        run(&mut e, 0.01, 0..120);
        e.observe(&snap(120.0, 0.01), "v3");
        assert_eq!(e.rollback_reason(), None);
        assert_eq!(e.e_values()["error_rate"], 1.0);
    }

    #[test]
    fn the_requests_still_needed_count_down_to_none() {
        let mut e = Evidence::new(&specs(true), &SourceKind::Demo);
        assert_eq!(e.still_needed(), None, "no share before any increment");
        run(&mut e, 0.005, 0..10);
        let early = e.still_needed().expect("a countdown");
        assert!(early.green_requests > 0.0);
        run(&mut e, 0.005, 10..70);
        let later = e.still_needed().expect("a countdown");
        assert!(
            later.green_requests < early.green_requests,
            "{later:?} {early:?}"
        );
        run(&mut e, 0.005, 70..3_600);
        assert!(e.still_needed().is_some_and(|n| n.is_done()));
    }

    /// A histogram: `requests`, `slow` of them over 100 ms.
    fn buckets(requests: f64, slow: f64) -> Option<Tally> {
        Some(Tally::Buckets {
            count: requests,
            buckets: vec![(100.0, requests - slow), (f64::INFINITY, requests)],
            sum: None,
        })
    }

    #[test]
    fn a_histogram_counts_requests_over_blues_p99_fixed_when_green_starts() {
        let cfg = TestConfig::new(0.01, MinEffect::Points(0.5)).unwrap();
        let mut specs = preset::specs("http", 0).unwrap();
        specs[0].test = Some(cfg);
        let p99 = specs[0].id.clone();
        let mut e = Evidence::new(
            &specs.into_iter().map(Arc::new).collect::<Vec<_>>(),
            &SourceKind::Demo,
        );
        let mut poll = |t: f64, green_slow: f64| {
            let mut s = snap(t, 0.005);
            s.blue.tallies[0] = buckets(750.0 * t, (750.0 * t * 0.005).floor());
            s.green.tallies[0] = buckets(250.0 * t, (250.0 * t * green_slow).floor());
            e.observe(&s, "v2");
        };
        for t in 0..120 {
            poll(f64::from(t), 0.05);
        }
        assert_eq!(
            e.tested[0].kind,
            Kind::Counts {
                histogram: true,
                bound: Some(100.0)
            }
        );
        let views = e.views(None);
        assert_eq!(views[0].id, p99);
        assert!(
            matches!(views[0].finding, Finding::Worse { .. }),
            "{views:?}"
        );
    }

    /// The `http` preset with a test on the error rate and on a mean TTFT
    /// in ms from `lat_sum` / `lat_count` in seconds, in place of p99.
    fn with_a_mean() -> Vec<Arc<MetricSpec>> {
        let mut specs: Vec<MetricSpec> = specs(true).iter().map(|s| (**s).clone()).collect();
        let mean = &mut specs[0];
        mean.id = "ttft_mean_ms".into();
        mean.label = "TTFT mean".into();
        mean.compute.formula = Some(crate::metricspec::Formula::Ratio {
            numerator: vec![crate::testing::parsed("lat_sum")],
            denominator: vec![crate::testing::parsed("lat_count")],
            complement: false,
            unit: crate::metricspec::Unit::Seconds,
        });
        mean.test = Some(TestConfig::new(0.01, MinEffect::Relative(0.3)).unwrap());
        specs.into_iter().map(Arc::new).collect()
    }

    /// Polls 0..`polls`, one a second: blue 750 requests a second with a
    /// mean TTFT of 300 ms, green 250 with `green_ms`; each poll's means
    /// are 30 ms above or below, in turn (the spread the batch means see).
    fn run_means(e: &mut Evidence, green_ms: f64, polls: u32, green: &str) {
        let (mut blue_sum, mut green_sum) = (0.0, 0.0);
        for t in 0..polls {
            let wobble = if t % 2 == 0 { 30.0 } else { -30.0 };
            let mut s = snap(f64::from(t), 0.005);
            let moments = |count: f64, sum: f64| Some(Tally::Moments { count, sum });
            s.blue.tallies[0] = moments(750.0 * f64::from(t), blue_sum);
            s.green.tallies[0] = moments(250.0 * f64::from(t), green_sum);
            e.observe(&s, green);
            blue_sum += 750.0 * (300.0 + wobble);
            green_sum += 250.0 * (green_ms + wobble);
        }
    }

    #[test]
    fn a_slower_mean_is_judged_by_the_test_of_means_and_rolls_back() {
        let mut e = Evidence::new(&with_a_mean(), &SourceKind::Demo);
        assert!(matches!(e.tested[0].kind, Kind::Means));
        // the mean, the error rate and the gauge: two judged, α / 2 each
        let levels: Vec<f64> = e.set.metrics().iter().map(Judged::level).collect();
        assert_eq!(levels, [0.005, 0.005, 0.005]);
        run_means(&mut e, 400.0, 5, "v2");
        // the baseline and 4 batches: 6 more polls before the spread is known
        assert_eq!(
            e.views(None)[0].finding,
            Finding::BurnIn {
                green_requests: 0.0,
                polls: 6.0
            }
        );
        assert_eq!(e.rollback_reason(), None);
        let mut e = Evidence::new(&with_a_mean(), &SourceKind::Demo);
        run_means(&mut e, 400.0, 30, "v2");
        let views = e.views(None);
        assert_eq!(views[0].id, "ttft_mean_ms");
        assert!(
            matches!(views[0].finding, Finding::Worse { .. }),
            "{views:?}"
        );
        let why = e.rollback_reason().unwrap_or_default();
        assert!(why.starts_with("green's TTFT mean is higher"), "{why}");
        assert!(e.e_values()["ttft_mean_ms"] >= 200.0);
        // a new green starts it again
        run_means(&mut e, 400.0, 1, "v3");
        assert_eq!(e.e_values()["ttft_mean_ms"], 1.0);
        assert_eq!(e.rollback_reason(), None);
    }

    #[test]
    fn an_equal_mean_is_no_reason() {
        let mut e = Evidence::new(&with_a_mean(), &SourceKind::Demo);
        run_means(&mut e, 300.0, 120, "v2");
        let views = e.views(Some(250.0));
        assert!(
            matches!(
                views[0].finding,
                Finding::Inconclusive { .. } | Finding::NoRegression { .. }
            ),
            "{views:?}"
        );
        assert!(e.e_values()["ttft_mean_ms"] < 1.0);
        assert_eq!(e.rollback_reason(), None);
    }
}
