//! `cutover check`'s CloudWatch lines: where it reads and with whose
//! credentials, the period one poll reads, each query that found no
//! datapoint, and each alarm's state with its reason. A call that fails
//! or an alarm that does not exist fails the check; a query without a
//! datapoint does not (a colour may have had no traffic).

use std::time::SystemTime;

use serde_json::Value;

use super::query::{self, Span};
use super::{CloudWatchSource, alarms};
use crate::config::{Config, SourceKind};
use crate::model::Color;

pub struct Report {
    pub lines: Vec<String>,
    pub ok: bool,
}

fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The report of `config`'s CloudWatch source (none for another kind).
pub async fn for_config(config: &Config) -> anyhow::Result<Report> {
    let SourceKind::CloudWatch(cw) = &config.source.kind else {
        return Ok(Report {
            lines: Vec::new(),
            ok: true,
        });
    };
    let specs = config
        .metric_specs()
        .map_err(|(key, why)| anyhow::anyhow!("{key}: {why}"))?;
    Ok(run(&CloudWatchSource::new(cw, &config.source, &specs)?).await)
}

/// One poll's calls, reported.
pub async fn run(source: &CloudWatchSource) -> Report {
    let mut lines = Vec::new();
    let mut ok = true;
    match source.client().credentials_from().await {
        Ok(from) => lines.push(format!(
            "{}, credentials from {from}",
            source.client().describe()
        )),
        Err(e) => {
            lines.push(format!(
                "{}: no credentials: {e}",
                source.client().describe()
            ));
            return Report { lines, ok: false };
        }
    }
    let answers = source.fetch(SystemTime::now()).await;
    let Span { start, end } = answers.span;
    match &answers.metrics {
        Ok(v) => lines.extend(datapoints(source, v, answers.span)),
        Err(why) => {
            ok = false;
            lines.push(format!("GetMetricData FAILED: {why}"));
        }
    }
    lines.insert(1, format!("period read: {} to {}", time(start), time(end)));
    match &answers.alarms {
        None => {}
        Some(Err(why)) => {
            ok = false;
            lines.push(format!("DescribeAlarms FAILED: {why}"));
        }
        Some(Ok(v)) => {
            let found = alarms::parse(v);
            for c in Color::BOTH {
                for name in source.alarm_names(c) {
                    match found.iter().find(|a| &a.name == name) {
                        Some(a) => {
                            lines.push(format!("{c} alarm {name}: {}: {}", a.state, a.reason))
                        }
                        None => {
                            ok = false;
                            lines.push(format!("{c} alarm {name}: NOT FOUND"));
                        }
                    }
                }
            }
        }
    }
    Report { lines, ok }
}

/// How many queries found a datapoint, and each that found none.
fn datapoints(source: &CloudWatchSource, answer: &Value, span: Span) -> Vec<String> {
    let (values, messages) = query::values(answer);
    let queries = query::queries(source.config(), source.specs(), span.period());
    let with = queries
        .iter()
        .filter(|q| {
            q["Id"]
                .as_str()
                .is_some_and(|id| values.get(id).is_some_and(|p| !p.is_empty()))
        })
        .count();
    let mut out = vec![format!(
        "GetMetricData: {} queries, {with} with a datapoint",
        queries.len()
    )];
    for q in &queries {
        let id = q["Id"].as_str().unwrap_or_default();
        if values.get(id).is_none_or(Vec::is_empty) {
            out.push(format!("no datapoint: {}", describe(q)));
        }
    }
    out.extend(
        messages
            .into_iter()
            .map(|m| format!("CloudWatch says: {m}")),
    );
    out
}

/// `green AWS/Lambda Duration p99 {ExecutedVersion=2, FunctionName=chat}`.
fn describe(q: &Value) -> String {
    let color = match q["Id"].as_str().and_then(|i| i.chars().next()) {
        Some('g') => Color::Green,
        _ => Color::Blue,
    };
    let m = &q["MetricStat"]["Metric"];
    let dims: Vec<String> = m["Dimensions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            format!(
                "{}={}",
                d["Name"].as_str().unwrap_or(""),
                d["Value"].as_str().unwrap_or("")
            )
        })
        .collect();
    format!(
        "{color} {} {} {} {{{}}}",
        m["Namespace"].as_str().unwrap_or(""),
        m["MetricName"].as_str().unwrap_or(""),
        q["MetricStat"]["Stat"].as_str().unwrap_or(""),
        dims.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_query_is_described_by_colour_metric_and_dimensions() {
        let q = json!({"Id": "g0", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda",
            "MetricName": "Duration", "Dimensions": [{"Name": "FunctionName", "Value": "chat"}]},
            "Stat": "p99", "Period": 300}});
        assert_eq!(
            super::describe(&q),
            "green AWS/Lambda Duration p99 {FunctionName=chat}"
        );
    }
}
