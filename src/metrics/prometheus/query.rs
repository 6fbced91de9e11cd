//! Query expansion: one PromQL template per metric, written once, with
//! `$color` and `$window` filled in per colour as a Grafana panel would.

use std::time::Duration;

use crate::config::PrometheusConfig;
use crate::model::{Color, Metric};

/// What a query measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Metric(Metric),
    /// Requests per second.
    Rps,
    /// Targets up.
    Up,
    /// Unix time of the newest sample behind the colour's readings.
    DataTime,
}

impl Slot {
    /// The key in `[source.prometheus.queries]`.
    pub fn key(self) -> &'static str {
        match self {
            Slot::Metric(m) => m.key(),
            Slot::Rps => "rps",
            Slot::Up => "up",
            Slot::DataTime => "data_time",
        }
    }
}

/// One expanded query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub slot: Slot,
    pub color: Color,
    pub promql: String,
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

/// Every configured query, expanded for both colours: blue's first.
pub fn expand_all(cfg: &PrometheusConfig, window: Duration) -> Vec<Query> {
    let q = &cfg.queries;
    let templates = [
        (Slot::Metric(Metric::P99Ms), &q.p99_ms),
        (Slot::Metric(Metric::ErrorRate), &q.error_rate),
        (Slot::Metric(Metric::Quality), &q.quality),
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
        for (slot, t) in &templates {
            if let Some(t) = t {
                out.push(Query {
                    slot: *slot,
                    color,
                    promql: expand(t, label, window),
                });
            }
        }
    }
    out
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
        let qs = expand_all(&cfg, Duration::from_secs(30));
        assert_eq!(qs.len(), 10);
        assert!(qs[0].promql.contains(r#"track="stable""#));
        assert!(qs[0].promql.contains("[30s]"));
        assert!(qs[5].promql.contains(r#"track="canary""#));
        assert!(qs.iter().all(|q| q.slot != Slot::Rps));
    }
}
