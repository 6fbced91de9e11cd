//! One poll's answers → both colours' readings and the time of the data.
//! Pure: the answers and the server's clock come in as arguments.

use std::time::Duration;

use prometheus_http_query::response::Data;

use super::query::{Query, Slot};
use super::readings::{Targets, single, targets};
use super::tally::Parts;
use crate::model::{Color, ColorReadings, NoData, Reading};

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
    /// Data older than this (by `data_time`) is stale: *no data*.
    pub stale_after: Duration,
}

/// Combines the answers (in `queries` order) for one colour.
/// `min_requests` has each metric's, in the config's order (its length is
/// the number of metrics): values from fewer requests are not judged.
pub fn color(
    color: Color,
    queries: &[Query],
    answers: &[Result<Data, NoData>],
    min_requests: &[u64],
    limits: Limits,
) -> ColorResult {
    let mut g = Gathered::new(color, min_requests.len());
    for (q, a) in queries.iter().zip(answers) {
        if q.color != color {
            continue;
        }
        match a {
            Ok(data) => g.answer(q, data),
            Err(reason) => g.failed(q.slot, reason),
        }
    }
    let Gathered {
        mut metrics,
        mut rps,
        pods_up,
        all_up,
        answered,
        warnings,
        data_time,
        eval_time,
        tallies,
        ..
    } = g;
    if let Some(r) = rps {
        too_few_requests(&mut metrics, r, min_requests, limits);
    }
    if is_stale(data_time, eval_time, limits, &mut metrics) {
        rps = None;
    }
    ColorResult {
        readings: ColorReadings {
            metrics,
            rps,
            up: answered && all_up,
            pods_up,
            warnings,
            alarms: Vec::new(),
            // PromQL's rate() covers the whole `[$window]` of stored
            // history; a colour that did not answer covers nothing.
            span: if answered {
                limits.window
            } else {
                Duration::ZERO
            },
            tallies: tallies.iter().map(Parts::tally).collect(),
        },
        data_time: data_time.or(eval_time),
    }
}

/// What one colour's answers said so far.
struct Gathered {
    color: Color,
    metrics: Vec<Reading>,
    rps: Option<f64>,
    pods_up: Option<(u32, u32)>,
    all_up: bool,
    answered: bool,
    warnings: Vec<String>,
    data_time: Option<f64>,
    /// The oldest evaluation time among the answers.
    eval_time: Option<f64>,
    /// Each metric's tally answers (none unless it has a test).
    tallies: Vec<Parts>,
}

impl Gathered {
    fn new(color: Color, metrics: usize) -> Gathered {
        Gathered {
            color,
            metrics: vec![Reading::NoData(NoData::NotConfigured); metrics],
            rps: None,
            pods_up: None,
            all_up: true,
            answered: true,
            warnings: Vec::new(),
            data_time: None,
            eval_time: None,
            tallies: vec![Parts::default(); metrics],
        }
    }

    fn failed(&mut self, slot: Slot, reason: &NoData) {
        let color = self.color;
        self.answered &= !matches!(reason, NoData::Unreachable(_) | NoData::Timeout(_));
        match slot {
            Slot::Metric(i) => self.metrics[i] = Reading::NoData(reason.clone()),
            // The metric's own query says what failed; a tally is only
            // left unknown.
            Slot::Tally(..) => {}
            other => self
                .warnings
                .push(format!("{color} {}: {reason}", other.key())),
        }
    }

    fn seen_at(&mut self, timestamp: f64) {
        self.eval_time = Some(self.eval_time.map_or(timestamp, |t| t.min(timestamp)));
    }

    fn answer(&mut self, q: &Query, data: &Data) {
        let color = self.color;
        match q.slot {
            Slot::Metric(i) => {
                self.metrics[i] = match single(data).result {
                    Ok(v) => {
                        self.seen_at(v.timestamp);
                        Reading::Value(v.value * q.scale)
                    }
                    Err(r) => Reading::NoData(r),
                };
            }
            Slot::Rps => match single(data).result {
                Ok(v) if v.value.is_finite() => self.rps = Some(v.value),
                Ok(_) => {}
                // No series or NaN: nothing was counted.
                Err(NoData::NoRequests) => self.rps = Some(0.0),
                Err(r) => self.warnings.push(format!("{color} rps: {r}")),
            },
            Slot::Up => self.up(targets(data)),
            Slot::Tally(i, part) => self.tallies[i].answer(part, q.scale, data),
            Slot::DataTime => match single(data).result {
                Ok(v) if v.value.is_finite() => {
                    self.data_time = Some(v.value);
                    self.seen_at(v.timestamp);
                }
                Ok(_) => {}
                Err(r) => self.warnings.push(format!("{color} data_time: {r}")),
            },
        }
    }

    fn up(&mut self, targets: Result<Targets, NoData>) {
        let color = self.color;
        match targets {
            Ok(Targets::Counted { up, all }) => {
                self.pods_up = Some((up, all));
                self.all_up &= up == all;
            }
            Ok(Targets::Share(f)) => {
                self.all_up &= f >= 1.0;
                if f < 1.0 {
                    self.warnings
                        .push(format!("{color}: {:.0} % of targets up", f * 100.0));
                }
            }
            Err(r) => {
                // Unknown is not up: it holds the gate.
                self.all_up = false;
                self.warnings.push(format!("{color} up: {r}"));
            }
        }
    }
}

/// Too few requests to judge the metrics computed from requests (those
/// with a `min_requests`: latency quantiles, error rates).
fn too_few_requests(metrics: &mut [Reading], rps: f64, min_requests: &[u64], limits: Limits) {
    let seen = (rps * limits.window.as_secs_f64()).round() as u64;
    for (r, &needed) in metrics.iter_mut().zip(min_requests) {
        if needed == 0 || (seen > 0 && seen >= needed) {
            continue;
        }
        if let Reading::Value(_) = r {
            *r = Reading::NoData(if seen == 0 {
                NoData::NoRequests
            } else {
                NoData::FewRequests(seen, needed)
            });
        }
    }
}

/// A colour Prometheus stopped scraping must not look fresh: its rates
/// still cover old samples and gauges keep their last value for minutes.
/// Marks every value stale and says whether it did.
fn is_stale(
    data_time: Option<f64>,
    eval_time: Option<f64>,
    limits: Limits,
    metrics: &mut [Reading],
) -> bool {
    let (Some(data), Some(eval)) = (data_time, eval_time) else {
        return false;
    };
    let lag = (eval - data).max(0.0);
    if lag <= limits.stale_after.as_secs_f64() {
        return false;
    }
    let reason = NoData::Other(format!(
        "stale: newest sample {} old",
        crate::format::span(Duration::from_secs_f64(lag))
    ));
    for r in metrics {
        if let Reading::Value(_) = r {
            *r = Reading::NoData(reason.clone());
        }
    }
    true
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
        Query::plain(slot, color, String::new())
    }

    const LIMITS: Limits = Limits {
        window: Duration::from_secs(30),
        stale_after: Duration::from_secs(30),
    };

    /// Today's three: p99 and error rate need 20 requests, quality none.
    const MIN: [u64; 3] = [20, 20, 0];

    const P99: Slot = Slot::Metric(0);
    const ERRORS: Slot = Slot::Metric(1);
    const QUALITY: Slot = Slot::Metric(2);

    #[test]
    fn values_rps_and_data_time() {
        let qs = [
            q(P99, Color::Green),
            q(Slot::Rps, Color::Green),
            q(Slot::DataTime, Color::Green),
            q(P99, Color::Blue),
        ];
        let ans = [
            vec1("250", 1000.0),
            vec1("10", 1000.0),
            vec1("998", 1000.0),
            vec1("NaN", 1000.0),
        ];
        let g = color(Color::Green, &qs, &ans, &MIN, LIMITS);
        assert_eq!(g.readings.metrics[0], Reading::Value(250.0));
        assert_eq!(
            g.readings.metrics[1],
            Reading::NoData(NoData::NotConfigured)
        );
        assert_eq!(g.readings.rps, Some(10.0));
        assert_eq!(g.data_time, Some(998.0));
        assert!(g.readings.up);
        let b = color(Color::Blue, &qs, &ans, &MIN, LIMITS);
        assert_eq!(b.readings.metrics[0], Reading::NoData(NoData::NoRequests));
    }

    #[test]
    fn stale_data_is_no_data_and_few_requests_are_not_judged() {
        let qs = [
            q(ERRORS, Color::Green),
            q(QUALITY, Color::Green),
            q(Slot::DataTime, Color::Green),
        ];
        let ans = [vec1("1", 1000.0), vec1("0.9", 1000.0), vec1("900", 1000.0)];
        let g = color(Color::Green, &qs, &ans, &MIN, LIMITS);
        assert!(
            matches!(&g.readings.metrics[2], Reading::NoData(NoData::Other(s)) if s.starts_with("stale"))
        );
        assert_eq!(g.data_time, Some(900.0));

        let qs = [q(ERRORS, Color::Green), q(Slot::Rps, Color::Green)];
        let ans = [vec1("1", 1000.0), vec1("0.5", 1000.0)];
        let g = color(Color::Green, &qs, &ans, &MIN, LIMITS);
        assert_eq!(
            g.readings.metrics[1],
            Reading::NoData(NoData::FewRequests(15, 20))
        );
    }

    #[test]
    fn failures_and_targets_down() {
        let qs = [q(P99, Color::Blue), q(Slot::Up, Color::Blue)];
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
        let b = color(Color::Blue, &qs, &ans, &MIN, LIMITS);
        assert_eq!(b.readings.pods_up, Some((1, 2)));
        assert!(!b.readings.up);
        assert_eq!(
            b.readings.metrics[0],
            Reading::NoData(NoData::Unreachable("connection refused".into()))
        );
        assert_eq!(b.data_time, None);
    }

    #[test]
    fn values_are_converted_to_the_metrics_unit() {
        let mut ttft = q(Slot::Metric(0), Color::Green);
        ttft.scale = 1000.0;
        let g = color(Color::Green, &[ttft], &[vec1("0.25", 1000.0)], &[0], LIMITS);
        assert_eq!(g.readings.metrics, vec![Reading::Value(250.0)]);
    }
}
