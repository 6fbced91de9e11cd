//! From totals and deltas to the three readings of one colour. Pure: the
//! network and the clock stay in `mod.rs`.

use crate::config::LatencyUnit;
use crate::model::{ColorReadings, NoData, Reading};

use super::exposition::{PodTotals, Series};
use super::histogram::{Quantile, quantile};
use super::window::Progress;

/// The readings of one colour whose targets all answered. `current` holds
/// the totals of this poll, `progress` what they mean against the window.
/// Rates from fewer than `min_requests` requests are not judged.
pub fn color_readings(
    current: &[PodTotals],
    progress: &Progress,
    series: &Series,
    unit: LatencyUnit,
    min_requests: u64,
) -> ColorReadings {
    let requests = match progress {
        Progress::Delta(d) => d.requests,
        _ => None,
    };
    let enough = |r: Reading| match (r, requests) {
        (Reading::Value(_), Some(n)) if n < min_requests as f64 => {
            Reading::NoData(NoData::FewRequests(n as u64, min_requests))
        }
        (r, _) => r,
    };
    // A colour that served nothing in the window has no live quality.
    let quality = match (quality(current, progress, series), requests) {
        (Reading::Value(_), Some(n)) if n <= 0.0 => Reading::NoData(NoData::NoRequests),
        (r, _) => r,
    };
    ColorReadings {
        metrics: vec![
            enough(p99(current, progress, series, unit)),
            enough(error_rate(current, progress, series)),
            quality,
        ],
        rps: match progress {
            Progress::Delta(d) if d.span.as_secs_f64() > 0.0 => {
                d.requests.map(|r| r / d.span.as_secs_f64())
            }
            _ => None,
        },
        up: true,
        pods_up: None,
        warnings: Vec::new(),
        span: match progress {
            Progress::Delta(d) => d.span,
            _ => std::time::Duration::ZERO,
        },
    }
}

fn p99(current: &[PodTotals], progress: &Progress, series: &Series, unit: LatencyUnit) -> Reading {
    // Missing wins over baseline: it says what to fix.
    if current.iter().all(|p| p.buckets.is_none()) {
        return Reading::NoData(NoData::Missing(format!("{}_bucket", series.histogram)));
    }
    let d = match progress {
        Progress::Baseline => return Reading::NoData(NoData::Baseline),
        Progress::CounterReset => return Reading::NoData(NoData::CounterReset),
        Progress::Delta(d) => d,
    };
    let buckets = d.buckets.as_deref().unwrap_or(&[]);
    match quantile(0.99, buckets) {
        Quantile::Value(v) => Reading::Value(match unit {
            LatencyUnit::Seconds => v * 1000.0,
            LatencyUnit::Milliseconds => v,
        }),
        Quantile::AboveHighest(le) => Reading::NoData(NoData::AboveRange(match unit {
            LatencyUnit::Seconds => le * 1000.0,
            LatencyUnit::Milliseconds => le,
        })),
        Quantile::NoObservations => Reading::NoData(NoData::NoRequests),
        Quantile::NoInfBucket => Reading::NoData(NoData::Missing(format!(
            "{}_bucket{{le=\"+Inf\"}}",
            series.histogram
        ))),
        Quantile::TooFewBuckets => Reading::NoData(NoData::Other(format!(
            "{}: no finite bucket to estimate p99 from",
            series.histogram
        ))),
    }
}

fn error_rate(current: &[PodTotals], progress: &Progress, series: &Series) -> Reading {
    if current.iter().all(|p| p.requests.is_none()) {
        return Reading::NoData(NoData::Missing(series.requests.clone()));
    }
    let d = match progress {
        Progress::Baseline => return Reading::NoData(NoData::Baseline),
        Progress::CounterReset => return Reading::NoData(NoData::CounterReset),
        Progress::Delta(d) => d,
    };
    match d.requests {
        Some(r) if r > 0.0 => Reading::Value(d.errors / r * 100.0),
        _ => Reading::NoData(NoData::NoRequests),
    }
}

/// The gauge's latest value. Each pod's label sets are averaged first; the
/// pods are then averaged weighted by the requests each served in the
/// window, so an idle pod does not pull the colour's quality around. When
/// any weight is unknown or zero (baseline, reset, no counter) the pods
/// count equally instead.
fn quality(current: &[PodTotals], progress: &Progress, series: &Series) -> Reading {
    let Some(name) = &series.quality else {
        return Reading::NoData(NoData::NotConfigured);
    };
    let pod_requests = match progress {
        Progress::Delta(d) => Some(&d.pod_requests),
        _ => None,
    };
    let mut pods: Vec<(f64, Option<f64>)> = Vec::new();
    for (i, p) in current.iter().enumerate() {
        let Some(values) = p.quality.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let weight = pod_requests.and_then(|w| w.get(i).copied().flatten());
        pods.push((mean, weight));
    }
    if pods.is_empty() {
        return Reading::NoData(NoData::Missing(name.clone()));
    }
    Reading::Value(weighted_mean(&pods))
}

/// Mean of `(value, weight)` weighted when every weight is known and
/// positive, else plain. NaN values stay NaN: the guardrails read NaN as no
/// data, which is what a NaN quality score is.
pub fn weighted_mean(values: &[(f64, Option<f64>)]) -> f64 {
    let weights: Option<Vec<f64>> = values
        .iter()
        .map(|&(_, w)| w.filter(|w| *w > 0.0))
        .collect();
    match weights {
        Some(w) => {
            let total: f64 = w.iter().sum();
            values.iter().zip(&w).map(|(&(v, _), w)| v * w).sum::<f64>() / total
        }
        None => values.iter().map(|&(v, _)| v).sum::<f64>() / values.len() as f64,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::histogram::Bucket;
    use super::super::window::Deltas;
    use super::*;

    fn series() -> Series {
        Series::named("lat", "req", "q")
    }

    fn pod(quality: Option<Vec<f64>>) -> PodTotals {
        PodTotals {
            buckets: Some(vec![Bucket::new(f64::INFINITY, 1.0)]),
            requests: Some(1.0),
            errors: 0.0,
            quality,
        }
    }

    fn deltas(pod_requests: Vec<Option<f64>>) -> Progress {
        let requests = pod_requests.iter().flatten().copied().reduce(|a, b| a + b);
        Progress::Delta(Deltas {
            span: Duration::from_secs(10),
            buckets: Some(vec![
                Bucket::new(0.1, 50.0),
                Bucket::new(0.5, 90.0),
                Bucket::new(1.0, 98.0),
                Bucket::new(2.5, 100.0),
                Bucket::new(f64::INFINITY, 100.0),
            ]),
            requests,
            errors: 5.0,
            pod_requests,
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
        let cur = [PodTotals::default()];
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
        let mut s = series();
        s.quality = None;
        let r = color_readings(&cur, &Progress::Baseline, &s, LatencyUnit::Seconds, 0);
        assert_eq!(r.metrics[2], Reading::NoData(NoData::NotConfigured));
    }

    #[test]
    fn zero_requests_is_no_requests() {
        let cur = [pod(None)];
        let mut p = deltas(vec![Some(0.0)]);
        if let Progress::Delta(d) = &mut p {
            d.errors = 0.0;
            d.buckets = Some(vec![Bucket::new(0.1, 0.0), Bucket::new(f64::INFINITY, 0.0)]);
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
        let r = color_readings(
            &cur,
            &deltas(vec![Some(12.0)]),
            &series(),
            LatencyUnit::Seconds,
            20,
        );
        assert_eq!(r.metrics[0], Reading::NoData(NoData::FewRequests(12, 20)));
        assert_eq!(r.metrics[1], Reading::NoData(NoData::FewRequests(12, 20)));
        assert!(matches!(r.metrics[2], Reading::Value(q) if (q - 0.8).abs() < 1e-9));
        let r = color_readings(
            &cur,
            &deltas(vec![Some(20.0)]),
            &series(),
            LatencyUnit::Seconds,
            20,
        );
        assert!(matches!(r.metrics[1], Reading::Value(_)));
        let r = color_readings(
            &cur,
            &deltas(vec![Some(0.0)]),
            &series(),
            LatencyUnit::Seconds,
            20,
        );
        assert_eq!(r.metrics[2], Reading::NoData(NoData::NoRequests));
    }
}
