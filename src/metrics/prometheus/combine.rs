//! One poll's answers → both colours' readings and the time of the data.
//! Pure: the answers and the server's clock come in as arguments.

use std::time::Duration;

use prometheus_http_query::response::Data;

use super::query::{Query, Slot};
use super::readings::{Targets, single, targets};
use crate::model::{Color, ColorReadings, Metric, NoData, Reading};

/// What the queries of one colour gave.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorResult {
    pub readings: ColorReadings,
    /// Unix seconds of the newest sample behind the readings, when known.
    pub data_time: Option<f64>,
}

/// Limits that turn a value into *no data*.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `source.window`: the span the rates cover.
    pub window: Duration,
    /// p99 and error rate from fewer requests than this are not judged.
    pub min_requests: u64,
    /// Data older than this (by `data_time`) is stale: *no data*.
    pub stale_after: Duration,
}

/// Combines the answers (in `queries` order) for one colour.
pub fn color(
    color: Color,
    queries: &[Query],
    answers: &[Result<Data, NoData>],
    limits: Limits,
) -> ColorResult {
    let mut metrics = [
        Reading::NoData(NoData::NotConfigured),
        Reading::NoData(NoData::NotConfigured),
        Reading::NoData(NoData::NotConfigured),
    ];
    let mut rps = None;
    let mut pods_up = None;
    let mut all_up = true;
    let mut answered = true;
    let mut warnings = Vec::new();
    let mut data_time = None;
    let mut eval_time: Option<f64> = None;
    for (q, a) in queries.iter().zip(answers) {
        if q.color != color {
            continue;
        }
        let data = match a {
            Ok(d) => d,
            Err(reason) => {
                answered &= !matches!(reason, NoData::Unreachable(_) | NoData::Timeout(_));
                match q.slot {
                    Slot::Metric(m) => metrics[m.index()] = Reading::NoData(reason.clone()),
                    other => warnings.push(format!("{color} {}: {reason}", other.key())),
                }
                continue;
            }
        };
        match q.slot {
            Slot::Metric(m) => {
                let ans = single(data);
                metrics[m.index()] = match ans.result {
                    Ok(v) => {
                        eval_time = Some(eval_time.map_or(v.timestamp, |t| t.min(v.timestamp)));
                        Reading::Value(v.value)
                    }
                    Err(r) => Reading::NoData(r),
                };
            }
            Slot::Rps => match single(data).result {
                Ok(v) if v.value.is_finite() => rps = Some(v.value),
                Ok(_) => {}
                // No series or NaN: nothing was counted.
                Err(NoData::NoRequests) => rps = Some(0.0),
                Err(r) => warnings.push(format!("{color} rps: {r}")),
            },
            Slot::Up => match targets(data) {
                Ok(Targets::Counted { up, all }) => {
                    pods_up = Some((up, all));
                    all_up &= up == all;
                }
                Ok(Targets::Share(f)) => {
                    all_up &= f >= 1.0;
                    if f < 1.0 {
                        warnings.push(format!("{color}: {:.0} % of targets up", f * 100.0));
                    }
                }
                Err(r) => {
                    // Unknown is not up: it holds the gate.
                    all_up = false;
                    warnings.push(format!("{color} up: {r}"));
                }
            },
            Slot::DataTime => match single(data).result {
                Ok(v) if v.value.is_finite() => {
                    data_time = Some(v.value);
                    eval_time = Some(eval_time.map_or(v.timestamp, |t| t.min(v.timestamp)));
                }
                Ok(_) => {}
                Err(r) => warnings.push(format!("{color} data_time: {r}")),
            },
        }
    }

    // Too few requests to judge p99 and error rate.
    if let Some(r) = rps {
        let seen = (r * limits.window.as_secs_f64()).round() as u64;
        if seen == 0 || seen < limits.min_requests {
            for m in [Metric::P99Ms, Metric::ErrorRate] {
                if let Reading::Value(_) = metrics[m.index()] {
                    metrics[m.index()] = Reading::NoData(if seen == 0 {
                        NoData::NoRequests
                    } else {
                        NoData::FewRequests(seen, limits.min_requests)
                    });
                }
            }
        }
    }

    // A colour Prometheus stopped scraping must not look fresh: its rates
    // still cover old samples and gauges keep their last value for minutes.
    if let (Some(data), Some(eval)) = (data_time, eval_time) {
        let lag = (eval - data).max(0.0);
        if lag > limits.stale_after.as_secs_f64() {
            let reason = NoData::Other(format!(
                "stale: newest sample {} old",
                crate::format::span(Duration::from_secs_f64(lag))
            ));
            for r in &mut metrics {
                if let Reading::Value(_) = r {
                    *r = Reading::NoData(reason.clone());
                }
            }
            rps = None;
        }
    }

    ColorResult {
        readings: ColorReadings {
            metrics,
            rps,
            up: answered && all_up,
            pods_up,
            warnings,
            // PromQL's rate() covers the whole `[$window]` of stored
            // history; a colour that did not answer covers nothing.
            span: if answered {
                limits.window
            } else {
                Duration::ZERO
            },
        },
        data_time: data_time.or(eval_time),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec1(v: &str, ts: f64) -> Result<Data, NoData> {
        Ok(serde_json::from_str(&format!(
            r#"{{"resultType":"vector","result":[{{"metric":{{}},"value":[{ts},"{v}"]}}]}}"#
        ))
        .unwrap())
    }

    fn q(slot: Slot, color: Color) -> Query {
        Query {
            slot,
            color,
            promql: String::new(),
        }
    }

    const LIMITS: Limits = Limits {
        window: Duration::from_secs(30),
        min_requests: 20,
        stale_after: Duration::from_secs(30),
    };

    #[test]
    fn values_rps_and_data_time() {
        let qs = [
            q(Slot::Metric(Metric::P99Ms), Color::Green),
            q(Slot::Rps, Color::Green),
            q(Slot::DataTime, Color::Green),
            q(Slot::Metric(Metric::P99Ms), Color::Blue),
        ];
        let ans = [
            vec1("250", 1000.0),
            vec1("10", 1000.0),
            vec1("998", 1000.0),
            vec1("NaN", 1000.0),
        ];
        let g = color(Color::Green, &qs, &ans, LIMITS);
        assert_eq!(g.readings.metrics[0], Reading::Value(250.0));
        assert_eq!(
            g.readings.metrics[1],
            Reading::NoData(NoData::NotConfigured)
        );
        assert_eq!(g.readings.rps, Some(10.0));
        assert_eq!(g.data_time, Some(998.0));
        assert!(g.readings.up);
        let b = color(Color::Blue, &qs, &ans, LIMITS);
        assert_eq!(b.readings.metrics[0], Reading::NoData(NoData::NoRequests));
    }

    #[test]
    fn stale_data_is_no_data_and_few_requests_are_not_judged() {
        let qs = [
            q(Slot::Metric(Metric::ErrorRate), Color::Green),
            q(Slot::Metric(Metric::Quality), Color::Green),
            q(Slot::DataTime, Color::Green),
        ];
        let ans = [vec1("1", 1000.0), vec1("0.9", 1000.0), vec1("900", 1000.0)];
        let g = color(Color::Green, &qs, &ans, LIMITS);
        assert!(
            matches!(&g.readings.metrics[2], Reading::NoData(NoData::Other(s)) if s.starts_with("stale"))
        );
        assert_eq!(g.data_time, Some(900.0));

        let qs = [
            q(Slot::Metric(Metric::ErrorRate), Color::Green),
            q(Slot::Rps, Color::Green),
        ];
        let ans = [vec1("1", 1000.0), vec1("0.5", 1000.0)];
        let g = color(Color::Green, &qs, &ans, LIMITS);
        assert_eq!(
            g.readings.metrics[1],
            Reading::NoData(NoData::FewRequests(15, 20))
        );
    }

    #[test]
    fn failures_and_targets_down() {
        let qs = [
            q(Slot::Metric(Metric::P99Ms), Color::Blue),
            q(Slot::Up, Color::Blue),
        ];
        let up: Data = serde_json::from_str(
            r#"{"resultType":"vector","result":[
            {"metric":{"instance":"a"},"value":[1,"1"]},
            {"metric":{"instance":"b"},"value":[1,"0"]}]}"#,
        )
        .unwrap();
        let ans = [
            Err(NoData::Unreachable("connection refused".into())),
            Ok(up),
        ];
        let b = color(Color::Blue, &qs, &ans, LIMITS);
        assert_eq!(b.readings.pods_up, Some((1, 2)));
        assert!(!b.readings.up);
        assert_eq!(
            b.readings.metrics[0],
            Reading::NoData(NoData::Unreachable("connection refused".into()))
        );
        assert_eq!(b.data_time, None);
    }
}
