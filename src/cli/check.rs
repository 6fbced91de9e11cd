//! `cutover check`'s metrics: the config's list expanded (a preset's and
//! `[[metrics]]`' alike), each with its unit, how it is computed, its
//! guardrails, and what a poll of both colours found; with the warnings
//! of levels or values that look written in another unit.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::{Config, SourceKind};
use crate::engine::guardrail::vs_blue_text;
use crate::metrics::MetricSource;
use crate::metricspec::{Aggregate, Better, Formula, MetricSpec};
use crate::model::{Color, NoData, Reading, Snapshot};

/// The longest wait between the two polls (rates need two).
const MOST_BETWEEN_POLLS: Duration = Duration::from_secs(5);

/// The expanded list as `#` lines, with a poll's values where the source
/// can be polled on its own (not the demo's fleet, which only its router
/// runs).
pub async fn metrics(config: &Config) -> anyhow::Result<String> {
    let specs = config
        .metric_specs()
        .map_err(|(key, why)| anyhow::anyhow!("{key}: {why}"))?;
    let snap = match config.source.kind {
        SourceKind::Demo => None,
        _ => {
            let mut source = crate::metrics::build(&config.source, &specs, None)?;
            Some(poll_twice(source.as_mut(), config.source.interval).await)
        }
    };
    Ok(render(&specs, &config.source.kind, snap.as_ref()))
}

/// A poll, then another an interval later (at most [`MOST_BETWEEN_POLLS`]),
/// so a rate or quantile has two to be computed from.
async fn poll_twice(source: &mut dyn MetricSource, interval: Duration) -> Snapshot {
    let first = source.poll().await;
    let baseline = Color::BOTH.iter().any(|&c| {
        first
            .color(c)
            .metrics
            .iter()
            .any(|r| matches!(r, Reading::NoData(NoData::Baseline)))
    });
    if !baseline {
        return first;
    }
    tokio::time::sleep(interval.min(MOST_BETWEEN_POLLS)).await;
    source.poll().await
}

/// The report's text: one block per metric, in the config's order.
pub fn render(specs: &[MetricSpec], kind: &SourceKind, snap: Option<&Snapshot>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# metrics: {} ({} judged)", specs.len(), judged(specs));
    for (i, spec) in specs.iter().enumerate() {
        let better = match spec.better {
            Better::Lower => "lower",
            Better::Higher => "higher",
        };
        let unit = match spec.unit {
            crate::metricspec::Unit::None => "a plain number".to_string(),
            u => format!("in {u}"),
        };
        let _ = writeln!(
            out,
            "# {} \"{}\" {unit}, {better} is better",
            spec.id, spec.label
        );
        let _ = writeln!(out, "#   computed: {}", computed(spec, kind));
        let _ = writeln!(out, "#   guardrails: {}", guardrails(spec));
        if let Some(snap) = snap {
            let _ = writeln!(out, "#   read: {}", values(spec, i, snap));
            let seen: Vec<f64> = Color::BOTH
                .iter()
                .filter_map(|&c| snap.color(c).at(i).value())
                .collect();
            for w in spec.plausibility(&seen) {
                let _ = writeln!(out, "#   warning: {w}");
            }
        }
        for w in spec.config_warnings() {
            let _ = writeln!(out, "#   warning: {w}");
        }
    }
    // What the source said beside the values (an alarm's own reason).
    for c in Color::BOTH {
        let said = snap.map(|s| s.color(c)).into_iter();
        for w in said.flat_map(|r| r.warnings.iter().chain(&r.alarms)) {
            let _ = writeln!(out, "# {c}: {w}");
        }
    }
    out
}

fn judged(specs: &[MetricSpec]) -> usize {
    specs.iter().filter(|s| s.judged()).count()
}

/// How the configured source computes it: the query sent, or the formula
/// over the series it reads.
fn computed(spec: &MetricSpec, kind: &SourceKind) -> String {
    match kind {
        SourceKind::Prometheus(_) => match spec.compute.prometheus(Color::Blue) {
            Some((query, unit)) => format!("PromQL (in {unit}): {query}"),
            None => "no query for Prometheus: not measured".into(),
        },
        SourceKind::CloudWatch(_) => match &spec.compute.cloudwatch {
            Some(c) => c.describe(),
            None => "nothing to read from CloudWatch: not measured".into(),
        },
        _ => match &spec.compute.formula {
            Some(f) => formula(f),
            None => "no formula for a scrape: not measured".into(),
        },
    }
}

fn formula(f: &Formula) -> String {
    let names = f.series().join(", ");
    match f {
        Formula::Quantile { q, unit, .. } => {
            format!(
                "p{} of the histogram {names} (buckets in {unit})",
                q * 100.0
            )
        }
        Formula::Ratio {
            numerator,
            complement,
            unit,
            ..
        } => {
            let series = f.series();
            let (num, den) = series.split_at(numerator.len());
            let ratio = format!("rate({}) / rate({})", num.join(" + "), den.join(" + "));
            let ratio = if *complement {
                format!("1 - {ratio}")
            } else {
                ratio
            };
            format!("{ratio} (as a {unit})")
        }
        Formula::Rate { unit, .. } => format!("rate of {names} (in {unit})"),
        Formula::Gauge {
            aggregate, weight, ..
        } => {
            let how = match aggregate {
                Aggregate::Mean => "mean",
                Aggregate::Max => "max",
                Aggregate::Sum => "sum",
            };
            let weighted = if weight.is_some() {
                ", weighted by requests"
            } else {
                ""
            };
            format!("{how} over pods of the gauge {names}{weighted}")
        }
        Formula::Cost(_) => format!("cost per 1,000 requests, from {names}"),
    }
}

/// `absolute ≤ 5000 ms (warn 2000 ms); vs blue ≤ +50% (warn +25%)`.
fn guardrails(spec: &MetricSpec) -> String {
    if !spec.guard {
        return "none: shown, not judged (guard = false)".into();
    }
    let sign = if spec.higher_is_worse() { "≤" } else { "≥" };
    let mut parts = Vec::new();
    if let Some(l) = spec.absolute {
        parts.push(format!(
            "absolute {sign} {} (warn {})",
            spec.format(l.breach),
            spec.format(l.warn)
        ));
    }
    if let Some(l) = spec.vs_blue {
        parts.push(format!(
            "vs blue {sign} blue {} (warn blue {})",
            vs_blue_text(spec, l.breach),
            vs_blue_text(spec, l.warn)
        ));
    }
    if parts.is_empty() {
        return "none: shown, not judged".into();
    }
    if spec.min_requests > 0 {
        parts.push(format!("from {} requests", spec.min_requests));
    }
    parts.push(if spec.rollback {
        "a breach rolls back".into()
    } else {
        "a breach holds the gate, never rolls back".into()
    });
    parts.join("; ")
}

/// `blue 180 ms, green 6400 ms`, or why a colour has none.
fn values(spec: &MetricSpec, i: usize, snap: &Snapshot) -> String {
    let one = |c: Color| match snap.color(c).at(i) {
        Reading::Value(v) => format!("{c} {}", spec.format(*v)),
        Reading::NoData(NoData::Missing(what)) => {
            format!("{c} none found (looked for {what})")
        }
        Reading::NoData(why) => format!("{c} no data ({why})"),
    };
    format!("{}, {}", one(Color::Blue), one(Color::Green))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn vllm() -> Vec<MetricSpec> {
        crate::metricspec::preset::specs("vllm", 20).unwrap()
    }

    #[test]
    fn every_metric_is_listed_with_how_it_is_computed_and_judged() {
        let specs = vllm();
        let text = render(&specs, &SourceKind::Demo, None);
        assert!(text.starts_with("# metrics: 7 (5 judged)"), "{text}");
        assert!(
            text.contains(
                "p95 of the histogram vllm:time_to_first_token_seconds_bucket (buckets in s)"
            ),
            "{text}"
        );
        assert!(
            text.contains("vs blue ≤ blue +50% (warn blue +25%)"),
            "{text}"
        );
        assert!(text.contains("shown, not judged (guard = false)"), "{text}");
        assert!(text.contains("never rolls back"), "{text}");
        for s in &specs {
            assert!(text.contains(&format!("# {} \"", s.id)), "{}", s.id);
        }
    }

    #[test]
    fn a_poll_names_what_it_found_and_values_in_another_unit_are_warned_of() {
        let mut specs = crate::config::default_specs();
        specs.truncate(2);
        let colour = |p99: Reading, err: f64| crate::model::ColorReadings {
            metrics: vec![p99, Reading::Value(err)],
            ..crate::model::ColorReadings::no_data(0, NoData::Baseline)
        };
        let snap = Snapshot {
            at: Instant::now(),
            wall: std::time::SystemTime::now(),
            window: Duration::from_secs(30),
            blue: colour(Reading::Value(0.012), 0.27),
            green: colour(Reading::NoData(NoData::Missing("lat_bucket".into())), 0.1),
        };
        let text = render(&specs, &SourceKind::Demo, Some(&snap));
        assert!(
            text.contains("read: blue 0.0 ms, green none found (looked for lat_bucket)"),
            "{text}"
        );
        assert!(text.contains("a latency under 0.1 ms"), "{text}");
        assert!(text.contains("a percentage that never exceeds 1"), "{text}");
    }
}
