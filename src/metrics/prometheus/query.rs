//! Query expansion: one PromQL template per metric, written once, with
//! `$color` and `$window` filled in per colour as a Grafana panel would.

use std::time::Duration;

use crate::config::PrometheusConfig;
use crate::metricspec::{MetricSpec, TallyQueries};
use crate::model::Color;

/// What a query measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// The metric at this place in the config's order.
    Metric(usize),
    /// Requests per second.
    Rps,
    /// Targets up.
    Up,
    /// Unix time of the newest sample behind the colour's readings.
    DataTime,
    /// A part of the cumulative tally of the metric at this place, for
    /// its test (sent only for metrics with a `test`).
    Tally(usize, Part),
}

/// Which part of a tally a query answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Requests,
    Events,
    /// A mean's requests (its `_sum` is [`Part::Sum`]).
    Count,
    /// One series per `le`.
    Buckets,
    Sum,
}

impl Part {
    pub fn key(self) -> &'static str {
        match self {
            Part::Requests => "requests",
            Part::Events => "events",
            Part::Count => "count",
            Part::Buckets => "buckets",
            Part::Sum => "sum",
        }
    }
}

impl Slot {
    /// The key in `[source.prometheus.queries]` of the queries that are
    /// not a metric's.
    pub fn key(self) -> &'static str {
        match self {
            Slot::Metric(_) => "metric",
            Slot::Rps => "rps",
            Slot::Up => "up",
            Slot::DataTime => "data_time",
            Slot::Tally(..) => "tally",
        }
    }
}

/// One expanded query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub slot: Slot,
    pub color: Color,
    pub promql: String,
    /// The metric's id, or the key of the query.
    pub name: String,
    /// What a value is multiplied by to be in the metric's unit (a p99 in
    /// seconds shown in ms: 1000); 1 for the other queries.
    pub scale: f64,
}

impl Query {
    /// A query that is not a metric's (`rps`, `up`, `data_time`).
    pub fn plain(slot: Slot, color: Color, promql: String) -> Query {
        Query {
            slot,
            color,
            name: slot.key().to_string(),
            promql,
            scale: 1.0,
        }
    }
}

/// A duration as PromQL writes it: `30s`, `5m`, `1h30m`, `1500ms`.
pub fn promql_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut s = (ms / 1000) as u64;
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    out
}

/// Replaces `$color` and `$window` (also written `${color}`, `${window}`).
pub fn expand(template: &str, color_label: &str, window: Duration) -> String {
    let w = promql_duration(window);
    template
        .replace("${color}", color_label)
        .replace("$color", color_label)
        .replace("${window}", &w)
        .replace("$window", &w)
}

/// Every query, expanded for both colours, blue's first: one per metric
/// that has one for Prometheus (its own `query`, or its formula rendered),
/// in the metrics' order, then `rps`, `up` and `data_time` as configured,
/// then the tallies of the metrics with a `test`.
pub fn expand_all(cfg: &PrometheusConfig, specs: &[MetricSpec], window: Duration) -> Vec<Query> {
    let q = &cfg.queries;
    let others = [
        (Slot::Rps, &q.rps),
        (Slot::Up, &q.up),
        (Slot::DataTime, &q.data_time),
    ];
    let mut out = Vec::new();
    for color in Color::BOTH {
        let label = match color {
            Color::Blue => &cfg.colors.blue,
            Color::Green => &cfg.colors.green,
        };
        for (i, spec) in specs.iter().enumerate() {
            if let Some((template, unit)) = spec.compute.prometheus(color) {
                out.push(Query {
                    slot: Slot::Metric(i),
                    color,
                    promql: expand(&template, label, window),
                    name: spec.id.clone(),
                    scale: spec.shown(1.0, unit),
                });
            }
        }
        for (slot, t) in &others {
            if let Some(t) = t {
                out.push(Query::plain(*slot, color, expand(t, label, window)));
            }
        }
        for (i, spec) in specs.iter().enumerate() {
            out.extend(tallies(i, spec, color, label, window));
        }
    }
    out
}

/// The tally queries of the metric at `i`, when it has a test: today's
/// configs (no `test`) send none.
fn tallies(i: usize, spec: &MetricSpec, color: Color, label: &str, window: Duration) -> Vec<Query> {
    let Some(queries) = spec.test.and(spec.compute.tally_queries()) else {
        return Vec::new();
    };
    // Bounds and sums of a histogram, and a mean's sum, are in its
    // series' unit.
    let scale = spec
        .compute
        .formula
        .as_ref()
        .map_or(1.0, |f| spec.shown(1.0, f.unit()));
    let parts = match queries {
        TallyQueries::Counts { requests, events } => {
            vec![(Part::Requests, requests, 1.0), (Part::Events, events, 1.0)]
        }
        TallyQueries::Buckets { buckets, sum } => {
            vec![(Part::Buckets, buckets, scale), (Part::Sum, sum, scale)]
        }
        TallyQueries::Moments { count, sum } => {
            vec![(Part::Count, count, 1.0), (Part::Sum, sum, scale)]
        }
    };
    parts
        .into_iter()
        .map(|(part, promql, scale)| Query {
            slot: Slot::Tally(i, part),
            color,
            promql: expand(&promql, label, window),
            name: format!("{} {}", spec.id, part.key()),
            scale,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_promql() {
        assert_eq!(promql_duration(Duration::from_secs(30)), "30s");
        assert_eq!(promql_duration(Duration::from_secs(300)), "5m");
        assert_eq!(promql_duration(Duration::from_secs(5430)), "1h30m30s");
        assert_eq!(promql_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn expands_color_and_window_both_spellings() {
        let e = expand(
            r#"rate(x{track="$color"}[$window]) / rate(y{t="${color}"}[${window}])"#,
            "canary",
            Duration::from_secs(60),
        );
        assert_eq!(
            e,
            r#"rate(x{track="canary"}[1m]) / rate(y{t="canary"}[1m])"#
        );
    }

    #[test]
    fn all_queries_for_both_colours() {
        let mut cfg = PrometheusConfig::new("http://127.0.0.1:9090");
        cfg.colors.blue = "stable".into();
        cfg.colors.green = "canary".into();
        cfg.queries.rps = None;
        let qs = expand_all(&cfg, &legacy(&cfg), Duration::from_secs(30));
        assert_eq!(qs.len(), 10);
        assert!(qs[0].promql.contains(r#"track="stable""#));
        assert!(qs[0].promql.contains("[30s]"));
        assert_eq!((qs[0].name.as_str(), qs[0].scale), ("p99_ms", 1.0));
        assert!(qs[5].promql.contains(r#"track="canary""#));
        assert!(qs.iter().all(|q| q.slot != Slot::Rps));
    }

    /// Today's three over `cfg`'s queries.
    fn legacy(cfg: &PrometheusConfig) -> Vec<MetricSpec> {
        let mut l = crate::metricspec::legacy::tests::example();
        l.source = crate::metricspec::legacy::LegacySource::Prometheus {
            p99_ms: cfg.queries.p99_ms.clone(),
            error_rate: cfg.queries.error_rate.clone(),
            quality: cfg.queries.quality.clone(),
        };
        crate::metricspec::legacy::from(&l)
    }

    #[test]
    fn a_presets_formulas_render_and_convert_to_the_metrics_unit() {
        let cfg = PrometheusConfig::new("http://127.0.0.1:9090");
        let specs = crate::metricspec::preset::specs("vllm", 20).unwrap();
        let qs = expand_all(&cfg, &specs, Duration::from_secs(60));
        let ttft = qs
            .iter()
            .find(|q| q.color == Color::Green && q.name.starts_with("ttft"))
            .unwrap();
        assert!(
            ttft.promql.starts_with(
                "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{track=\"green\"}[1m])))"
            ),
            "{}",
            ttft.promql
        );
        assert_eq!(ttft.scale, 1000.0, "seconds shown in ms");
        let errors = qs.iter().find(|q| q.name == "error_rate").unwrap();
        assert_eq!(errors.scale, 100.0, "a ratio shown in %");
        let metrics = qs
            .iter()
            .filter(|q| matches!(q.slot, Slot::Metric(_)))
            .count();
        assert_eq!(metrics, 2 * specs.len());
    }

    #[test]
    fn only_metrics_with_a_test_send_their_tallies() {
        let cfg = PrometheusConfig::new("http://127.0.0.1:9090");
        let mut specs = crate::metricspec::preset::specs("vllm", 20).unwrap();
        let none = expand_all(&cfg, &specs, Duration::from_secs(60));
        assert!(!none.iter().any(|q| matches!(q.slot, Slot::Tally(..))));
        let test = crate::stats::TestConfig::new(0.01, crate::stats::MinEffect::Relative(0.3)).ok();
        for s in &mut specs {
            s.test = test;
        }
        let qs = expand_all(&cfg, &specs, Duration::from_secs(60));
        let green = |name: &str| {
            qs.iter()
                .find(|q| q.color == Color::Green && q.name == name)
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let buckets = green("ttft_p95_ms buckets");
        assert_eq!(
            buckets.promql,
            "sum by (le) (vllm:time_to_first_token_seconds_bucket{track=\"green\"})"
        );
        assert_eq!(buckets.scale, 1000.0, "bounds in seconds, the metric in ms");
        assert_eq!(green("error_rate requests").scale, 1.0);
        assert!(green("error_rate events").promql.contains("or vector(0)"));
        // gauges, rates and the cost have no tally
        let tested: std::collections::BTreeSet<usize> = qs
            .iter()
            .filter_map(|q| match q.slot {
                Slot::Tally(i, _) => Some(i),
                _ => None,
            })
            .collect();
        assert!(tested.len() < specs.len(), "{tested:?}");
    }
}
