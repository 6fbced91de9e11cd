//! The cumulative totals behind a metric, summed over a colour's pods as
//! they stand now: what the sequential tests take increments of between
//! polls. Only ratios (requests and events, or a mean's count and sum)
//! and histograms (buckets) can be tested; gauges, rates and costs give
//! none. Pure.

use crate::metricspec::{Formula, MetricSpec, Selector};
use crate::model::Tally;

use super::evaluate::Inputs;
use super::histogram::merge;

/// The tally of `spec` over the colour's current pod totals, `None` when
/// it cannot be tested or its series are absent from every pod.
pub fn tally(spec: &MetricSpec, x: &Inputs) -> Option<Tally> {
    let formula = spec.compute.formula.as_ref()?;
    match formula {
        Formula::Ratio {
            numerator,
            denominator,
            unit,
            ..
        } if formula.is_mean() => Some(Tally::Moments {
            count: summed(x, denominator)?,
            // No sum yet is not a sum of 0 over the requests counted.
            sum: spec.shown(summed(x, numerator)?, *unit),
        }),
        Formula::Ratio {
            numerator,
            denominator,
            complement,
            ..
        } => {
            let requests = summed(x, denominator)?;
            // A numerator no pod has yet counted nothing (as the ratio reads it).
            let counted = summed(x, numerator).unwrap_or(0.0);
            let events = if *complement {
                (requests - counted).max(0.0)
            } else {
                counted
            };
            Some(Tally::Counts { requests, events })
        }
        Formula::Quantile {
            histogram, unit, ..
        } => {
            let i = x.watch.histogram(histogram);
            let all = x.current.iter().filter_map(|p| p.histograms[i].as_deref());
            let merged = merge(all.flatten().copied());
            let count = merged.iter().find(|b| b.le == f64::INFINITY)?.count;
            let buckets = merged
                .iter()
                .map(|b| (spec.shown(b.le, *unit), b.count))
                .collect();
            // A sum only when every pod exports one: a partial sum would
            // fall or jump as pods come and go.
            let sums: Option<Vec<f64>> = x.current.iter().map(|p| p.sums[i]).collect();
            Some(Tally::Buckets {
                count,
                buckets,
                sum: sums.map(|s| spec.shown(s.iter().sum(), *unit)),
            })
        }
        Formula::Rate { .. } | Formula::Gauge { .. } | Formula::Cost(_) => None,
    }
}

/// The counters' current values summed over pods; `None` when no pod has
/// any of them.
fn summed(x: &Inputs, counters: &[Selector]) -> Option<f64> {
    counters
        .iter()
        .flat_map(|s| {
            let i = x.watch.counter(s);
            x.current.iter().filter_map(move |p| p.counters[i])
        })
        .reduce(|a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::super::watch::testing::{Names, sel};
    use super::super::watch::{PodTotals, Watch};
    use super::super::window::Progress;
    use super::*;
    use crate::metricspec::Unit;
    use crate::model::Color;

    /// Each spec's tally over pods whose pages are `bodies`.
    fn tallies(specs: &[MetricSpec], bodies: &[&str]) -> Vec<Option<Tally>> {
        let watch = Watch::new(specs);
        let pods: Vec<PodTotals> = bodies
            .iter()
            .map(|b| watch.read("u", b).unwrap().totals)
            .collect();
        let x = Inputs {
            watch: &watch,
            color: Color::Green,
            current: &pods,
            progress: &Progress::Baseline,
        };
        specs.iter().map(|s| tally(s, &x)).collect()
    }

    const POD_A: &str = "# TYPE lat histogram\n\
        lat_bucket{le=\"0.1\"} 90\nlat_bucket{le=\"0.5\"} 99\nlat_bucket{le=\"+Inf\"} 100\n\
        lat_sum 12\nlat_count 100\n\
        req{code=\"200\"} 97\nreq{code=\"500\"} 2\nreq{code=\"503\"} 1\nq 0.9\n";
    const POD_B: &str = "# TYPE lat histogram\n\
        lat_bucket{le=\"0.1\"} 10\nlat_bucket{le=\"0.5\"} 15\nlat_bucket{le=\"+Inf\"} 20\n\
        lat_sum 5\nlat_count 20\n\
        req{code=\"200\"} 20\nq 0.8\n";

    #[test]
    fn ratios_count_and_histograms_bucket_summed_over_pods() {
        let mut specs = Names::new("lat", "req", "q").specs();
        let test = crate::stats::TestConfig::new(0.01, crate::stats::MinEffect::Relative(0.3));
        specs[0].test = test.ok();
        let t = tallies(&specs, &[POD_A, POD_B]);
        // p99 in ms: the buckets' bounds in ms, counts summed by le.
        assert_eq!(
            t[0],
            Some(Tally::Buckets {
                count: 120.0,
                buckets: vec![(100.0, 100.0), (500.0, 114.0), (f64::INFINITY, 120.0)],
                // 12 s + 5 s, in ms
                sum: Some(17000.0),
            })
        );
        // 120 requests, 3 of them 5xx; pod B has no error series yet.
        assert_eq!(
            t[1],
            Some(Tally::Counts {
                requests: 120.0,
                events: 3.0
            })
        );
        // A gauge cannot be tested.
        assert_eq!(t[2], None);
    }

    #[test]
    fn without_a_test_no_sum_is_read() {
        let specs = Names::new("lat", "req", "q").specs();
        match &tallies(&specs, &[POD_A])[0] {
            Some(Tally::Buckets { count, sum, .. }) => assert_eq!((*count, *sum), (100.0, None)),
            other => panic!("{other:?}"),
        }
    }

    /// Today's three, the second a ratio of `numerator` over `denominator`
    /// in `unit` (shown in ms, or as a share).
    fn with_ratio(
        numerator: &str,
        denominator: &str,
        complement: bool,
        unit: Unit,
    ) -> Vec<MetricSpec> {
        let mut specs = Names::new("lat", "req", "q").specs();
        if unit == Unit::Seconds {
            specs[1].unit = Unit::Millis;
        }
        specs[1].compute.formula = Some(Formula::Ratio {
            numerator: vec![sel(numerator)],
            denominator: vec![sel(denominator)],
            complement,
            unit,
        });
        specs
    }

    #[test]
    fn a_mean_sums_its_count_and_sum_in_the_metrics_unit() {
        let specs = with_ratio("lat_sum", "lat_count", false, Unit::Seconds);
        let t = tallies(&specs, &[POD_A, POD_B]);
        // 120 requests, 12 s + 5 s of them, in ms
        assert_eq!(
            t[1],
            Some(Tally::Moments {
                count: 120.0,
                sum: 17000.0
            })
        );
        // a count without its sum is no tally
        assert_eq!(tallies(&specs, &["lat_count 3\n"])[1], None);
    }

    #[test]
    fn a_complement_counts_what_the_numerator_does_not() {
        let specs = with_ratio(r#"req{code="200"}"#, "req", true, Unit::Ratio);
        let t = tallies(&specs, &[POD_A, POD_B]);
        assert_eq!(
            t[1],
            Some(Tally::Counts {
                requests: 120.0,
                events: 3.0
            })
        );
    }

    #[test]
    fn absent_series_give_no_tally() {
        let specs = Names::new("lat", "req", "q").specs();
        assert_eq!(tallies(&specs, &["q 0.9\n"]), [None, None, None]);
        let mut rate = specs[1].clone();
        rate.compute.formula = Some(Formula::Rate {
            counters: vec![sel("req")],
            unit: Unit::TokensPerSec,
        });
        assert_eq!(tallies(&[rate], &[POD_A]), [None]);
    }
}
