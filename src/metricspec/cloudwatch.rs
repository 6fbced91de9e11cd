//! How the CloudWatch source computes a metric: one statistic of one
//! CloudWatch metric (`Sum`, `Average`, `p99`…), a ratio of two metrics'
//! sums (errors over invocations), or the colour's CloudWatch alarms.
//! Written in `[[metrics]]` as `cloudwatch = { ... }`. Pure.

use serde::{Deserialize, Serialize};

use super::parse::Invalid;
use super::unit::{Dimension, Unit};

/// `cloudwatch = { metric = "Duration", stat = "p99", unit = "ms" }` or
/// `cloudwatch = { numerator = "Errors", denominator = "Invocations",
/// unit = "ratio" }`; `namespace` defaults to `[source.cloudwatch]`'s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchEntry {
    pub namespace: Option<String>,
    pub metric: Option<String>,
    /// `Sum`, `Average`, `Minimum`, `Maximum`, `SampleCount`, or a
    /// percentile `p0`..`p100` (`p99`, `p99.9`). Default `Average`.
    pub stat: Option<String>,
    /// One metric, or a list whose sums are added (`["Invocation4XXErrors",
    /// "Invocation5XXErrors"]`).
    pub numerator: Option<Names>,
    pub denominator: Option<Names>,
    /// The unit CloudWatch's values are in (default: the metric's).
    pub unit: Option<Unit>,
}

/// A metric's name, or several whose sums add up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Names::One(n) => vec![n.clone()],
            Names::Many(v) => v.clone(),
        }
    }
}

/// What the CloudWatch source asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum CloudWatch {
    /// One statistic of one metric over the window.
    Stat {
        namespace: Option<String>,
        metric: String,
        stat: String,
        unit: Unit,
    },
    /// `numerator / denominator`, each a `Sum` over the window (of each
    /// metric named, added): the value the metric math `errors /
    /// invocations` gives, from the sums the source reads anyway.
    Ratio {
        namespace: Option<String>,
        numerator: Vec<String>,
        denominator: Vec<String>,
        unit: Unit,
    },
    /// How many of the colour's alarms (`[source.cloudwatch] alarms`) are
    /// in `ALARM`.
    Alarms,
}

impl CloudWatch {
    pub fn unit(&self) -> Unit {
        match self {
            CloudWatch::Stat { unit, .. } | CloudWatch::Ratio { unit, .. } => *unit,
            CloudWatch::Alarms => Unit::None,
        }
    }

    /// The namespace it names, if any.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            CloudWatch::Stat { namespace, .. } | CloudWatch::Ratio { namespace, .. } => {
                namespace.as_deref()
            }
            CloudWatch::Alarms => None,
        }
    }

    /// Whether the cockpit can test it: a ratio of two sums, whose
    /// per-minute sums add up to counts. A statistic over the window (a
    /// p99, an average) is no count, and the alarms are a gauge.
    pub fn is_ratio(&self) -> bool {
        matches!(self, CloudWatch::Ratio { .. })
    }

    /// Whether a ratio is a mean per request (a duration summed over
    /// invocations) rather than the share of requests that had an event
    /// (errors over invocations): the same rule as a formula's.
    pub fn is_mean(&self) -> bool {
        matches!(self, CloudWatch::Ratio { unit, .. } if unit.dimension() != Dimension::Share)
    }

    /// `Duration p99 (in ms)`, for `check`.
    pub fn describe(&self) -> String {
        match self {
            CloudWatch::Stat {
                metric, stat, unit, ..
            } => format!("CloudWatch {metric} {stat} (in {unit})"),
            CloudWatch::Ratio {
                numerator,
                denominator,
                unit,
                ..
            } => format!(
                "CloudWatch {} / {} (as a {unit})",
                sums(numerator),
                sums(denominator)
            ),
            CloudWatch::Alarms => "CloudWatch alarms of the colour in ALARM".into(),
        }
    }
}

/// `Errors Sum`, or `(A + B) Sum` for several.
fn sums(names: &[String]) -> String {
    match names {
        [one] => format!("{one} Sum"),
        many => format!("({}) Sum", many.join(" + ")),
    }
}

/// Whether `s` is a statistic GetMetricData takes.
pub fn is_stat(s: &str) -> bool {
    const PLAIN: [&str; 5] = ["Sum", "Average", "Minimum", "Maximum", "SampleCount"];
    if PLAIN.contains(&s) {
        return true;
    }
    s.strip_prefix('p')
        .and_then(|p| p.parse::<f64>().ok())
        .is_some_and(|p| (0.0..=100.0).contains(&p))
}

impl CloudWatchEntry {
    /// What this entry asks of CloudWatch, in `metric`'s terms.
    pub fn compute(&self, metric: Unit, key: &str) -> Result<CloudWatch, Invalid> {
        let k = |s: &str| format!("{key}.{s}");
        let unit = self.unit.unwrap_or(metric);
        let namespace = self.namespace.clone();
        if namespace.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err((k("namespace"), "must not be empty".into()));
        }
        match (&self.metric, &self.numerator, &self.denominator) {
            (Some(m), None, None) => {
                let stat = self.stat.clone().unwrap_or_else(|| "Average".into());
                if !is_stat(&stat) {
                    return Err((
                        k("stat"),
                        format!(
                            "`{stat}` is not a statistic: Sum, Average, Minimum, Maximum, SampleCount or a percentile like p99"
                        ),
                    ));
                }
                Ok(CloudWatch::Stat {
                    namespace,
                    metric: m.clone(),
                    stat,
                    unit,
                })
            }
            (None, Some(n), Some(d)) => {
                if self.stat.is_some() {
                    return Err((k("stat"), "a ratio divides two sums".into()));
                }
                let (numerator, denominator) = (n.to_vec(), d.to_vec());
                for (part, names) in [("numerator", &numerator), ("denominator", &denominator)] {
                    if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
                        return Err((k(part), "names no metric".into()));
                    }
                }
                Ok(CloudWatch::Ratio {
                    namespace,
                    numerator,
                    denominator,
                    unit,
                })
            }
            _ => Err((
                key.to_string(),
                "give `metric` (with `stat`), or `numerator` and `denominator`".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_and_shapes_are_checked() {
        assert!(is_stat("p99") && is_stat("p99.9") && is_stat("Sum"));
        assert!(!is_stat("p101") && !is_stat("sum") && !is_stat("P99"));
        let e = CloudWatchEntry {
            metric: Some("Duration".into()),
            stat: Some("p95".into()),
            ..Default::default()
        };
        assert!(matches!(
            e.compute(Unit::Millis, "k"),
            Ok(CloudWatch::Stat {
                unit: Unit::Millis,
                ..
            })
        ));
        let bad = CloudWatchEntry {
            metric: Some("Duration".into()),
            numerator: Some(Names::One("Errors".into())),
            ..Default::default()
        };
        assert_eq!(bad.compute(Unit::Millis, "k").unwrap_err().0, "k");
        let ratio = CloudWatchEntry {
            numerator: Some(Names::One("Errors".into())),
            denominator: Some(Names::One("Invocations".into())),
            stat: Some("Sum".into()),
            ..Default::default()
        };
        assert_eq!(ratio.compute(Unit::Ratio, "k").unwrap_err().0, "k.stat");
    }
}
