//! One colour's readings from the values `GetMetricData` gave: each in
//! its metric's unit, no data (with why) where CloudWatch had none, and
//! no value judged from fewer requests than the metric needs. Pure.

use std::collections::HashMap;
use std::time::Duration;

use super::query::{Points, id, part_ids, requests_id};
use crate::metricspec::{CloudWatch, MetricSpec};
use crate::model::{Color, ColorReadings, NoData, Reading};

/// What one poll read: each query's datapoints.
pub struct Read<'a> {
    pub values: &'a HashMap<String, Points>,
    pub requests_metric: &'a str,
    pub window: Duration,
}

impl Read<'_> {
    /// A statistic's one value over the window (the newest, should
    /// CloudWatch split it).
    fn get(&self, id: &str) -> Option<f64> {
        self.values.get(id)?.first().map(|(_, v)| *v)
    }

    /// A sum asked by the minute, over the window; `None` without a
    /// datapoint.
    fn sum(&self, id: &str) -> Option<f64> {
        let points = self.values.get(id).filter(|p| !p.is_empty())?;
        Some(points.iter().map(|(_, v)| v).sum())
    }
}

/// `color`'s readings; `alarms` is its alarm reading and warnings.
pub fn color(
    read: &Read<'_>,
    specs: &[MetricSpec],
    color: Color,
    alarms: (Reading, Vec<String>),
) -> ColorReadings {
    // No datapoint of the request count is no invocation in the span:
    // Lambda and SageMaker publish none for an idle minute.
    let requests = read.get(&requests_id(color)).unwrap_or(0.0);
    let (alarm_reading, alarms) = alarms;
    let metrics = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| match &spec.compute.cloudwatch {
            None => Reading::NoData(NoData::NotConfigured),
            Some(CloudWatch::Alarms) => alarm_reading.clone(),
            Some(cw) => {
                enough(spec, requests).unwrap_or_else(|| value(read, spec, cw, color, i, requests))
            }
        })
        .collect();
    let secs = read.window.as_secs_f64();
    ColorReadings {
        metrics,
        rps: (secs > 0.0).then(|| requests / secs),
        up: true,
        pods_up: None,
        warnings: Vec::new(),
        alarms,
        span: read.window,
        tallies: Vec::new(),
    }
}

/// No data when the metric needs more requests than the span had.
fn enough(spec: &MetricSpec, requests: f64) -> Option<Reading> {
    let needed = spec.min_requests;
    if needed == 0 {
        return None;
    }
    if requests <= 0.0 {
        return Some(Reading::NoData(NoData::NoRequests));
    }
    // A Sum of invocations is a whole number; anything else is not a count.
    let seen = requests.round() as u64;
    if seen < needed {
        return Some(Reading::NoData(NoData::FewRequests(seen, needed)));
    }
    None
}

fn value(
    read: &Read<'_>,
    spec: &MetricSpec,
    cw: &CloudWatch,
    color: Color,
    i: usize,
    requests: f64,
) -> Reading {
    let shown = |v: f64| Reading::Value(spec.shown(v, cw.unit()));
    match cw {
        CloudWatch::Stat { metric, stat, .. } => match read.get(&id(color, i, "")) {
            Some(v) => shown(v),
            None if requests <= 0.0 => Reading::NoData(NoData::NoRequests),
            None => Reading::NoData(NoData::Missing(format!(
                "{metric} {stat} in the window ({} {} counted)",
                requests, read.requests_metric
            ))),
        },
        CloudWatch::Ratio {
            numerator,
            denominator,
            ..
        } => {
            // Each side's sums added; a side none of whose metrics had a
            // datapoint is `None`.
            let side = |s: char, names: &[String]| {
                let sums: Vec<f64> = part_ids(color, i, s, names)
                    .iter()
                    .filter_map(|id| read.sum(id))
                    .collect();
                (!sums.is_empty()).then(|| sums.iter().sum::<f64>())
            };
            match (side('n', numerator), side('d', denominator)) {
                (_, None) => Reading::NoData(NoData::NoRequests),
                (_, Some(d)) if d <= 0.0 => Reading::NoData(NoData::NoRequests),
                // A numerator published only when it happens (a custom
                // failure count) has no datapoint for none: none happened,
                // as the Prometheus source counts a series not yet written.
                (n, Some(d)) => shown(n.unwrap_or(0.0) / d),
            }
        }
        CloudWatch::Alarms => Reading::NoData(NoData::NotConfigured),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metricspec::preset;

    fn read(pairs: &[(&str, Option<f64>)]) -> HashMap<String, Points> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(|v| vec![(0, v)]).unwrap_or_default()))
            .collect()
    }

    #[test]
    fn values_are_converted_and_too_few_requests_are_no_data() {
        let specs = preset::specs("sagemaker", 20).unwrap();
        let values = read(&[
            ("gr", Some(600.0)),
            ("g0", Some(2500.0)),
            ("g1", None),
            ("g2n", Some(6.0)),
            ("g2d", Some(600.0)),
            ("br", Some(5.0)),
            ("b0", Some(900.0)),
        ]);
        let r = Read {
            values: &values,
            requests_metric: "Invocations",
            window: Duration::from_secs(300),
        };
        let none = (Reading::NoData(NoData::NotConfigured), vec![]);
        let g = color(&r, &specs, Color::Green, none.clone());
        // ModelLatency in microseconds, shown in ms.
        assert_eq!(g.metrics[0], Reading::Value(2.5));
        assert!(matches!(g.metrics[1], Reading::NoData(NoData::Missing(_))));
        assert_eq!(g.metrics[2], Reading::Value(1.0));
        assert_eq!(g.rps, Some(2.0));
        let b = color(&r, &specs, Color::Blue, none);
        assert_eq!(b.metrics[0], Reading::NoData(NoData::FewRequests(5, 20)));
    }
}
