//! One `GetMetricData` for both colours: a query per metric, colour and
//! part (a ratio's two sums), plus each colour's request count; and the
//! answer read back into each query's datapoints. A statistic is asked
//! over one period the length of the window; a ratio's sums by the minute,
//! which add up to the window's sum on the screen and, minute by minute,
//! to the running counts the tests take (`tallies`). Pure: the times come
//! in as arguments.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::config::CloudWatchConfig;
use crate::metricspec::{CloudWatch, MetricSpec};
use crate::model::Color;

/// The span a poll reads: `[end - window, end)`, `end` whole minutes and
/// at least `delay` in the past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: SystemTime,
    pub end: SystemTime,
}

/// Whole seconds since the epoch (0 before it).
pub fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

impl Span {
    pub fn ending_before(now: SystemTime, delay: Duration, window: Duration) -> Span {
        let secs = epoch(now.checked_sub(delay).unwrap_or(UNIX_EPOCH));
        let end = UNIX_EPOCH + Duration::from_secs(secs - secs % 60);
        Span {
            start: end.checked_sub(window).unwrap_or(UNIX_EPOCH),
            end,
        }
    }

    pub fn period(&self) -> u64 {
        epoch(self.end).saturating_sub(epoch(self.start))
    }
}

fn letter(c: Color) -> char {
    match c {
        Color::Blue => 'b',
        Color::Green => 'g',
    }
}

/// The id of metric `index`'s query for `color`; `part` is `n` or `d`
/// for a ratio's sums, empty otherwise.
pub fn id(color: Color, index: usize, part: &str) -> String {
    format!("{}{index}{part}", letter(color))
}

/// The ids of the sums on one side of a ratio (`n`, the numerator, or
/// `d`), one per metric named there: `b2n`, then `b2n1`, `b2n2`.
pub fn part_ids(color: Color, index: usize, side: char, names: &[String]) -> Vec<String> {
    (0..names.len())
        .map(|k| match k {
            0 => id(color, index, &side.to_string()),
            k => id(color, index, &format!("{side}{k}")),
        })
        .collect()
}

/// The period of a ratio's sums: CloudWatch's finest for the metrics that
/// Lambda and SageMaker publish.
pub const MINUTE: u64 = 60;

/// The id of `color`'s request count.
pub fn requests_id(color: Color) -> String {
    format!("{}r", letter(color))
}

/// The namespace of the request count: the table's, else the first
/// metric's.
pub fn requests_namespace<'a>(
    cfg: &'a CloudWatchConfig,
    specs: &'a [MetricSpec],
) -> Option<&'a str> {
    cfg.namespace.as_deref().or_else(|| {
        specs
            .iter()
            .find_map(|s| s.compute.cloudwatch.as_ref()?.namespace())
    })
}

pub fn dimensions(cfg: &CloudWatchConfig, color: Color) -> &BTreeMap<String, String> {
    match color {
        Color::Blue => &cfg.blue,
        Color::Green => &cfg.green,
    }
}

fn stat_query(
    id: String,
    namespace: &str,
    metric: &str,
    dims: &BTreeMap<String, String>,
    period: u64,
    stat: &str,
) -> Value {
    let dims: Vec<Value> = dims
        .iter()
        .map(|(k, v)| json!({ "Name": k, "Value": v }))
        .collect();
    json!({
        "Id": id,
        "MetricStat": {
            "Metric": { "Namespace": namespace, "MetricName": metric, "Dimensions": dims },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": true,
    })
}

/// The `MetricDataQueries` of one poll.
pub fn queries(cfg: &CloudWatchConfig, specs: &[MetricSpec], period: u64) -> Vec<Value> {
    let default_ns = requests_namespace(cfg, specs).unwrap_or_default();
    let mut out = Vec::new();
    for color in Color::BOTH {
        let dims = dimensions(cfg, color);
        let q = |id: String, ns: Option<&str>, metric: &str, stat: &str| {
            stat_query(id, ns.unwrap_or(default_ns), metric, dims, period, stat)
        };
        out.push(q(requests_id(color), None, &cfg.requests_metric, "Sum"));
        for (i, spec) in specs.iter().enumerate() {
            match &spec.compute.cloudwatch {
                Some(CloudWatch::Stat {
                    namespace,
                    metric,
                    stat,
                    ..
                }) => out.push(q(id(color, i, ""), namespace.as_deref(), metric, stat)),
                Some(CloudWatch::Ratio {
                    namespace,
                    numerator,
                    denominator,
                    ..
                }) => {
                    let ns = namespace.as_deref().unwrap_or(default_ns);
                    for (side, names) in [('n', numerator), ('d', denominator)] {
                        for (qid, metric) in part_ids(color, i, side, names).into_iter().zip(names)
                        {
                            out.push(stat_query(qid, ns, metric, dims, MINUTE, "Sum"));
                        }
                    }
                }
                Some(CloudWatch::Alarms) | None => {}
            }
        }
    }
    out
}

/// The request body of one poll.
pub fn body(cfg: &CloudWatchConfig, specs: &[MetricSpec], span: Span) -> Value {
    json!({
        "StartTime": epoch(span.start),
        "EndTime": epoch(span.end),
        "ScanBy": "TimestampDescending",
        "MetricDataQueries": queries(cfg, specs, span.period()),
    })
}

/// One query's datapoints: `(start of the period in seconds since the
/// epoch, value)`, newest first.
pub type Points = Vec<(u64, f64)>;

/// Each query's datapoints; a query with no datapoint in the span has
/// none. Also CloudWatch's own messages (a query it could not run).
pub fn values(answer: &Value) -> (HashMap<String, Points>, Vec<String>) {
    let mut out = HashMap::new();
    let mut messages = Vec::new();
    let results = answer["MetricDataResults"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for r in results {
        let Some(id) = r["Id"].as_str() else { continue };
        let list = |k: &str| r[k].as_array().cloned().unwrap_or_default();
        // Epoch seconds in the JSON protocol, a fraction allowed.
        let points = list("Timestamps")
            .iter()
            .zip(list("Values").iter())
            .filter_map(|(t, v)| Some((t.as_f64()? as u64, v.as_f64()?)))
            .collect();
        out.insert(id.to_string(), points);
        for m in r["Messages"].as_array().into_iter().flatten() {
            if let Some(text) = m["Value"].as_str() {
                messages.push(format!("{id}: {}", crate::aws::clean(text)));
            }
        }
    }
    for m in answer["Messages"].as_array().into_iter().flatten() {
        if let Some(text) = m["Value"].as_str() {
            messages.push(crate::aws::clean(text));
        }
    }
    (out, messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_span_ends_whole_minutes_before_the_delay() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000 * 60 + 42);
        let s = Span::ending_before(now, Duration::from_secs(180), Duration::from_secs(300));
        assert_eq!(epoch(s.end), (10_000 - 3) * 60);
        assert_eq!(s.period(), 300);
    }

    #[test]
    fn values_are_read_by_id_and_an_empty_one_is_none() {
        let a = json!({"MetricDataResults": [
            {"Id": "b0", "Values": [412.5], "Timestamps": [1], "StatusCode": "Complete"},
            {"Id": "g0", "Values": [], "Timestamps": [], "StatusCode": "Complete",
             "Messages": [{"Code": "X", "Value": "bad\nquery"}]},
        ]});
        let (v, m) = values(&a);
        assert_eq!(v["b0"], [(1, 412.5)]);
        assert!(v["g0"].is_empty());
        assert_eq!(m, ["g0: bad query"]);
    }

    #[test]
    fn a_ratios_sums_are_asked_by_the_minute_and_a_statistic_over_the_window() {
        let cfg: CloudWatchConfig =
            toml::from_str("namespace = \"AWS/Lambda\"\nblue = {}\ngreen = {}").unwrap();
        let specs = crate::metricspec::preset::specs("lambda", 0).unwrap();
        let qs = queries(&cfg, &specs, 300);
        let period = |id: &str| {
            let q = qs.iter().find(|q| q["Id"] == id).unwrap();
            q["MetricStat"]["Period"].as_u64().unwrap()
        };
        let ratio = specs
            .iter()
            .position(|s| {
                s.compute
                    .cloudwatch
                    .as_ref()
                    .is_some_and(CloudWatch::is_ratio)
            })
            .unwrap();
        let stat = specs
            .iter()
            .position(|s| matches!(s.compute.cloudwatch, Some(CloudWatch::Stat { .. })))
            .unwrap();
        assert_eq!(period(&id(Color::Green, ratio, "n")), MINUTE);
        let names: Vec<String> = ["A", "B", "C"].map(String::from).to_vec();
        assert_eq!(
            part_ids(Color::Blue, 2, 'n', &names),
            ["b2n", "b2n1", "b2n2"]
        );
        assert_eq!(period(&id(Color::Green, ratio, "d")), MINUTE);
        assert_eq!(period(&id(Color::Green, stat, "")), 300);
        assert_eq!(period(&requests_id(Color::Blue)), 300);
    }
}
