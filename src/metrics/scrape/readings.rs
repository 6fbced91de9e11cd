//! From totals and deltas to the readings of one colour, one per spec in
//! the specs' order, each in the spec's own unit. Pure: the network and the
//! clock stay in `mod.rs`.

use crate::metricspec::{Formula, MetricSpec, Selector};
use crate::model::{ColorReadings, NoData, Reading};

use super::evaluate::{self, Inputs};
use super::window::Progress;

/// The counters a colour's request rate (`rps`, the observed split) comes
/// from: the denominator of `error_rate`, else of the first ratio, else the
/// weight of a gauge.
pub fn request_counters(specs: &[MetricSpec]) -> Option<Vec<Selector>> {
    let formulas = || specs.iter().filter_map(|s| s.compute.formula.as_ref());
    let denominator = |f: &Formula| match f {
        Formula::Ratio { denominator, .. } => Some(denominator.clone()),
        _ => None,
    };
    crate::metricspec::find(specs, "error_rate")
        .and_then(|s| s.compute.formula.as_ref())
        .and_then(denominator)
        .or_else(|| formulas().find_map(denominator))
        .or_else(|| {
            formulas().find_map(|f| match f {
                Formula::Gauge {
                    weight: Some(w), ..
                } => Some(vec![w.clone()]),
                _ => None,
            })
        })
}

/// The readings of one colour whose targets all answered. Values of
/// formulas that count requests, from fewer than the spec's
/// `min_requests`, are not judged.
pub fn color_readings(
    specs: &[MetricSpec],
    x: &Inputs,
    requests: Option<&[Selector]>,
) -> ColorReadings {
    let d = match x.progress {
        Progress::Delta(d) => Some(d),
        _ => None,
    };
    let counted = d.zip(requests).and_then(|(d, r)| x.increase(d, r));
    let metrics = specs
        .iter()
        .map(|spec| {
            let Some(f) = &spec.compute.formula else {
                return Reading::NoData(NoData::NotConfigured);
            };
            let r = reading(spec, f, evaluate::formula(f, x));
            // The colour's request count holds every formula alike (as the
            // three always were); a formula's own series only stand in
            // where the specs name no request counter.
            let n = match requests {
                Some(_) => counted,
                None => evaluate::own_count(f, x),
            };
            match (r, n) {
                (Reading::Value(_), Some(n))
                    if f.counts_requests() && n < spec.min_requests as f64 =>
                {
                    Reading::NoData(NoData::FewRequests(n as u64, spec.min_requests))
                }
                (r, _) => r,
            }
        })
        .collect();
    ColorReadings {
        metrics,
        rps: d
            .filter(|d| d.span.as_secs_f64() > 0.0)
            .and_then(|d| counted.map(|n| n / d.span.as_secs_f64())),
        up: true,
        pods_up: None,
        warnings: Vec::new(),
        alarms: Vec::new(),
        span: d.map_or(std::time::Duration::ZERO, |d| d.span),
        tallies: specs.iter().map(|s| super::tally::tally(s, x)).collect(),
    }
}

/// An outcome in the formula's unit as a reading in the spec's.
fn reading(spec: &MetricSpec, f: &Formula, outcome: evaluate::Outcome) -> Reading {
    match outcome {
        Ok(v) => Reading::Value(spec.shown(v, f.unit())),
        Err(NoData::AboveRange(le)) => {
            Reading::NoData(NoData::AboveRange(spec.shown(le, f.unit())))
        }
        Err(why) => Reading::NoData(why),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::evaluate::weighted_mean;
    use super::super::histogram::Bucket;
    use super::super::watch::testing::Names;
    use super::super::watch::{PodTotals, Watch};
    use super::super::window::{CounterDelta, Deltas};
    use super::*;
    use crate::config::LatencyUnit;
    use crate::metricspec::Unit;
    use crate::model::Color;

    /// Today's three: `None` leaves the quality gauge unconfigured.
    fn series() -> Option<Names> {
        Some(Names::new("lat", "req", "q"))
    }

    /// Today's signature over the three specs: p99 and error rate judged
    /// from `min_requests`, the histogram in `unit`.
    fn color_readings(
        cur: &[PodTotals],
        progress: &Progress,
        names: &Option<Names>,
        unit: LatencyUnit,
        min_requests: u64,
    ) -> ColorReadings {
        let mut specs = Names::new("lat", "req", "q").specs();
        if let Some(Formula::Quantile { unit: u, .. }) = &mut specs[0].compute.formula
            && unit == LatencyUnit::Milliseconds
        {
            *u = Unit::Millis;
        }
        specs[0].min_requests = min_requests;
        specs[1].min_requests = min_requests;
        if names.is_none() {
            specs[2].compute.formula = None;
        }
        let watch = Watch::new(&specs);
        let x = Inputs {
            watch: &watch,
            color: Color::Green,
            current: cur,
            progress,
        };
        super::color_readings(&specs, &x, request_counters(&specs).as_deref())
    }

    fn pod(quality: Option<Vec<f64>>) -> PodTotals {
        PodTotals {
            sums: vec![None],
            histograms: vec![Some(vec![Bucket::new(f64::INFINITY, 1.0)])],
            counters: vec![Some(1.0), Some(0.0)],
            gauges: vec![quality],
        }
    }

    fn deltas(pod_requests: Vec<Option<f64>>) -> Progress {
        let requests = pod_requests.iter().flatten().copied().reduce(|a, b| a + b);
        Progress::Delta(Deltas {
            span: Duration::from_secs(10),
            histograms: vec![Some(vec![
                Bucket::new(0.1, 50.0),
                Bucket::new(0.5, 90.0),
                Bucket::new(1.0, 98.0),
                Bucket::new(2.5, 100.0),
                Bucket::new(f64::INFINITY, 100.0),
            ])],
            counters: vec![
                CounterDelta {
                    total: requests,
                    pods: pod_requests.clone(),
                },
                CounterDelta {
                    total: Some(5.0),
                    pods: vec![None; pod_requests.len()],
                },
            ],
        })
    }

    #[test]
    fn values_from_deltas() {
        let cur = [pod(Some(vec![0.8])), pod(Some(vec![0.9, 1.0]))];
        let r = color_readings(
            &cur,
            &deltas(vec![Some(60.0), Some(40.0)]),
            &series(),
            LatencyUnit::Seconds,
            0,
        );
        assert_eq!(r.metrics[0], Reading::Value(1750.0));
        assert_eq!(r.metrics[1], Reading::Value(5.0));
        // Pod means 0.8 and 0.95, weighted 60:40 → 0.86.
        let q = r.metrics[2].value().unwrap();
        assert!((q - 0.86).abs() < 1e-12, "{q}");
        assert_eq!(r.rps, Some(10.0));
        assert!(r.up);
    }

    #[test]
    fn milliseconds_are_not_scaled() {
        let cur = [pod(None)];
        let r = color_readings(
            &cur,
            &deltas(vec![Some(100.0)]),
            &series(),
            LatencyUnit::Milliseconds,
            0,
        );
        assert_eq!(r.metrics[0], Reading::Value(1.75));
    }

    #[test]
    fn baseline_and_reset_keep_quality() {
        let cur = [pod(Some(vec![0.8])), pod(Some(vec![0.6]))];
        for (p, why) in [
            (Progress::Baseline, NoData::Baseline),
            (Progress::CounterReset, NoData::CounterReset),
        ] {
            let r = color_readings(&cur, &p, &series(), LatencyUnit::Seconds, 0);
            assert_eq!(r.metrics[0], Reading::NoData(why.clone()));
            assert_eq!(r.metrics[1], Reading::NoData(why));
            assert!((r.metrics[2].value().unwrap() - 0.7).abs() < 1e-12);
            assert_eq!(r.rps, None);
        }
    }

    #[test]
    fn missing_series_and_not_configured() {
        let cur = [PodTotals {
            sums: vec![None],
            histograms: vec![None],
            counters: vec![None, None],
            gauges: vec![None],
        }];
        let r = color_readings(
            &cur,
            &Progress::Baseline,
            &series(),
            LatencyUnit::Seconds,
            0,
        );
        assert_eq!(
            r.metrics[0],
            Reading::NoData(NoData::Missing("lat_bucket".into()))
        );
        assert_eq!(r.metrics[1], Reading::NoData(NoData::Missing("req".into())));
        assert_eq!(r.metrics[2], Reading::NoData(NoData::Missing("q".into())));
        let r = color_readings(&cur, &Progress::Baseline, &None, LatencyUnit::Seconds, 0);
        assert_eq!(r.metrics[2], Reading::NoData(NoData::NotConfigured));
    }

    #[test]
    fn zero_requests_is_no_requests() {
        let cur = [pod(None)];
        let mut p = deltas(vec![Some(0.0)]);
        if let Progress::Delta(d) = &mut p {
            d.counters[1].total = Some(0.0);
            d.histograms[0] = Some(vec![Bucket::new(0.1, 0.0), Bucket::new(f64::INFINITY, 0.0)]);
        }
        let r = color_readings(&cur, &p, &series(), LatencyUnit::Seconds, 0);
        assert_eq!(r.metrics[0], Reading::NoData(NoData::NoRequests));
        assert_eq!(r.metrics[1], Reading::NoData(NoData::NoRequests));
        assert_eq!(r.rps, Some(0.0));
    }

    #[test]
    fn weighted_mean_falls_back_to_plain() {
        assert_eq!(weighted_mean(&[(1.0, Some(3.0)), (0.0, Some(1.0))]), 0.75);
        assert_eq!(weighted_mean(&[(1.0, Some(3.0)), (0.0, Some(0.0))]), 0.5);
        assert_eq!(weighted_mean(&[(1.0, Some(3.0)), (0.0, None)]), 0.5);
        assert!(weighted_mean(&[(f64::NAN, Some(1.0)), (1.0, Some(1.0))]).is_nan());
    }

    #[test]
    fn too_few_requests_are_not_judged_and_idle_quality_is_no_data() {
        let cur = [pod(Some(vec![0.8]))];
        // Judged from 20 requests, `n` of them in the window.
        let served = |n| {
            color_readings(
                &cur,
                &deltas(vec![Some(n)]),
                &series(),
                LatencyUnit::Seconds,
                20,
            )
        };
        let r = served(12.0);
        assert_eq!(r.metrics[0], Reading::NoData(NoData::FewRequests(12, 20)));
        assert_eq!(r.metrics[1], Reading::NoData(NoData::FewRequests(12, 20)));
        assert!(matches!(r.metrics[2], Reading::Value(q) if (q - 0.8).abs() < 1e-9));
        let r = served(20.0);
        assert!(matches!(r.metrics[1], Reading::Value(_)));
        let r = served(0.0);
        assert_eq!(r.metrics[2], Reading::NoData(NoData::NoRequests));
    }
}
