//! `cutover check` with a Prometheus source: each query once, and for each
//! metric and colour the expanded query, the value or the error, the
//! number of series and the query's time. How a user debugs a config
//! before a cutover.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use prometheus_http_query::response::Data;

use super::PrometheusSource;
use super::query::{Part, Slot};
use super::readings::{Targets, no_series, single, targets};
use crate::model::NoData;

/// The result of one query, as `check` prints it.
#[derive(Debug, Clone)]
pub struct Line {
    pub name: String,
    pub promql: String,
    /// The value, or the reason there is none.
    pub outcome: Result<String, NoData>,
    pub series: Option<usize>,
    pub took: Duration,
}

impl Line {
    /// A query failed: Prometheus refused it, the server could not be
    /// reached, or it returned several series. No series or NaN is an
    /// answer (e.g. green without traffic), reported but not failed.
    pub fn failed(&self) -> bool {
        match &self.outcome {
            Ok(_) => false,
            Err(NoData::NoRequests | NoData::Missing(_)) => false,
            Err(_) => true,
        }
    }
}

/// Runs every query once, all at once.
pub async fn run(source: &PrometheusSource) -> Vec<Line> {
    let client = source.client();
    join_all(source.queries().iter().map(|q| async move {
        let started = Instant::now();
        let answer = client.instant(&q.promql).await;
        let took = started.elapsed();
        let (outcome, series) = match answer {
            Err(e) => (Err(e), None),
            Ok(data) if q.slot == Slot::Up => match targets(&data) {
                Ok(Targets::Counted { up, all }) => {
                    (Ok(format!("{up}/{all} up")), Some(all as usize))
                }
                Ok(Targets::Share(f)) => (Ok(format!("{:.0} % up", f * 100.0)), Some(1)),
                Err(e) => (Err(e), Some(0)),
            },
            Ok(data) if matches!(q.slot, Slot::Tally(_, Part::Buckets)) => match &data {
                Data::Vector(v) if !v.is_empty() => {
                    (Ok(format!("{} buckets", v.len())), Some(v.len()))
                }
                _ => (Err(no_series()), Some(0)),
            },
            Ok(data) => {
                let a = single(&data);
                let v = a.result.map(|v| match q.slot {
                    Slot::Metric(i) => source.format(i, v.value * q.scale),
                    Slot::Rps => format!("{:.2} req/s", v.value),
                    Slot::DataTime => format!(
                        "{:.1} (unix s; {:.1} s before the query's time)",
                        v.value,
                        v.timestamp - v.value
                    ),
                    Slot::Tally(..) => format!("{:.0} (cumulative)", v.value * q.scale),
                    Slot::Up => unreachable!("handled above"),
                });
                (v, Some(a.series))
            }
        };
        Line {
            name: format!("{} {}", q.color, q.name),
            promql: q.promql.clone(),
            outcome,
            series,
            took,
        }
    }))
    .await
}

/// The report as text; control characters from the server are escaped.
pub fn render(url: &str, lines: &[Line]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# prometheus {url}");
    for l in lines {
        let result = match &l.outcome {
            Ok(v) => format!("= {v}"),
            Err(NoData::NoRequests) => "no data: NaN (no traffic)".to_string(),
            Err(e) => format!("{}: {e}", if l.failed() { "FAILED" } else { "no data" }),
        };
        let series = l.series.map_or_else(|| "-".to_string(), |n| n.to_string());
        let _ = writeln!(
            out,
            "{:<18} {}  [series: {series}, {:.1} ms]\n    {}",
            l.name,
            clean(&result),
            l.took.as_secs_f64() * 1000.0,
            clean(&l.promql)
        );
    }
    let failed = lines.iter().filter(|l| l.failed()).count();
    let _ = writeln!(out, "# {} queries, {failed} failed", lines.len());
    out
}

fn clean(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_answers_render() {
        let lines = vec![
            Line {
                name: "blue p99_ms".into(),
                promql: "bad(".into(),
                outcome: Err(NoData::Other("bad_data: parse error\u{1b}[31m".into())),
                series: None,
                took: Duration::from_millis(3),
            },
            Line {
                name: "green quality".into(),
                promql: "q".into(),
                outcome: Err(NoData::Missing("no series".into())),
                series: Some(0),
                took: Duration::from_millis(2),
            },
        ];
        assert!(lines[0].failed());
        assert!(!lines[1].failed());
        let text = render("http://x", &lines);
        assert!(text.contains("FAILED: bad_data: parse error"), "{text}");
        assert!(!text.contains('\u{1b}'));
        assert!(
            text.contains("no data: missing series: no series  [series: 0"),
            "{text}"
        );
        assert!(text.contains("2 queries, 1 failed"));
    }
}
