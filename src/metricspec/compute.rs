//! How a metric is computed: a formula over series (histogram quantile,
//! ratio of counter rates, counter rate, gauge, cost) that the scrape
//! source evaluates and that renders to PromQL for the Prometheus source,
//! or a PromQL template of the user's own. Pure.

use serde::{Deserialize, Serialize};

use super::cost::CostModel;
use super::selector::Selector;
use super::unit::{Dimension, Unit};
use crate::model::Color;

/// The label the rendered PromQL selects a colour by, as today's default
/// queries do; a config whose colours carry another label writes its own
/// `query`.
pub const COLOR_MATCHER: &str = "track=\"$color\"";

/// How the pods' values of a gauge become one per colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    Mean,
    Max,
    Sum,
}

/// A computation over series, in `unit` (the source's unit, converted to
/// the metric's when shown).
#[derive(Debug, Clone, PartialEq)]
pub enum Formula {
    /// The `q` quantile of a histogram's buckets over the window (summed
    /// over pods and label sets); `unit` is that of its `le` bounds.
    Quantile {
        histogram: Selector,
        q: f64,
        unit: Unit,
    },
    /// Rate of the numerator's counters over the denominator's (each list
    /// summed): errors over requests, a duration sum over a count. With
    /// `complement`, one minus that (failures from a success counter).
    Ratio {
        numerator: Vec<Selector>,
        denominator: Vec<Selector>,
        complement: bool,
        unit: Unit,
    },
    /// The counters' summed rate per second.
    Rate { counters: Vec<Selector>, unit: Unit },
    /// A gauge's latest value: each pod's label sets averaged, then the
    /// pods aggregated; a mean may be weighted by each pod's increase of
    /// `weight` (requests) over the window.
    Gauge {
        gauge: Selector,
        aggregate: Aggregate,
        weight: Option<Selector>,
        unit: Unit,
    },
    /// Cost per 1,000 requests, in $.
    Cost(CostModel),
}

impl Formula {
    /// The unit the formula's values come in.
    pub fn unit(&self) -> Unit {
        match self {
            Formula::Quantile { unit, .. }
            | Formula::Ratio { unit, .. }
            | Formula::Rate { unit, .. }
            | Formula::Gauge { unit, .. } => *unit,
            Formula::Cost(_) => Unit::Dollars,
        }
    }

    /// Whether the value is computed from requests in the window (and so
    /// is not judged from too few of them).
    pub fn counts_requests(&self) -> bool {
        matches!(
            self,
            Formula::Quantile { .. } | Formula::Ratio { .. } | Formula::Cost(_)
        )
    }

    /// Whether a ratio is a mean per request rather than the share of
    /// requests that had an event: a `_sum` over its `_count`, or any
    /// ratio whose unit is not a share (durations or tokens over
    /// requests). The two take different tests, and only a share may take
    /// the count test: its events are requests. Taking a share for a mean
    /// would be safe (a mean of 0/1 values), the other way round not.
    pub fn is_mean(&self) -> bool {
        let Formula::Ratio {
            numerator,
            complement,
            unit,
            ..
        } = self
        else {
            return false;
        };
        !complement
            && (unit.dimension() != Dimension::Share
                || numerator.iter().all(|s| s.name.ends_with("_sum")))
    }

    /// The series it reads, as `check` names them when none is found
    /// (a histogram's `_bucket` series, a cost's counters).
    pub fn series(&self) -> Vec<String> {
        let names = |s: &[Selector]| s.iter().map(ToString::to_string).collect::<Vec<_>>();
        match self {
            Formula::Quantile { histogram, .. } => vec![
                histogram
                    .promql("_bucket", "")
                    .trim_end_matches("{}")
                    .to_string(),
            ],
            Formula::Ratio {
                numerator,
                denominator,
                ..
            } => [names(numerator), names(denominator)].concat(),
            Formula::Rate { counters, .. } => names(counters),
            Formula::Gauge { gauge, weight, .. } => names(
                &[Some(gauge.clone()), weight.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>(),
            ),
            Formula::Cost(c) => c.series(),
        }
    }

    /// The PromQL template (with `$color` and `$window`) that computes this
    /// for `color`. Only cost differs between colours (its replicas).
    pub fn promql(&self, color: Color) -> String {
        match self {
            Formula::Quantile { histogram, q, .. } => format!(
                "histogram_quantile({q}, sum by (le) (rate({}[$window])))",
                histogram.promql("_bucket", COLOR_MATCHER)
            ),
            Formula::Ratio {
                numerator,
                denominator,
                complement,
                ..
            } => {
                // A server writes an error series once the first error
                // happens (vLLM's `status="5xx"`): none yet is no errors,
                // as the scrape source counts it, not a missing ratio.
                let r = format!("{} / {}", sum_rates(numerator, true), rates(denominator));
                if *complement { format!("1 - ({r})") } else { r }
            }
            Formula::Rate { counters, .. } => rates(counters),
            Formula::Gauge {
                gauge, aggregate, ..
            } => {
                // PromQL has no per-pod request weights at hand: a plain mean.
                let f = match aggregate {
                    Aggregate::Mean => "avg",
                    Aggregate::Max => "max",
                    Aggregate::Sum => "sum",
                };
                format!("{f}({})", gauge.promql("", COLOR_MATCHER))
            }
            Formula::Cost(c) => c.promql(color),
        }
    }
}

/// `(sum(rate(a[$window])) + sum(rate(b[$window])))` over a colour.
pub fn rates(counters: &[Selector]) -> String {
    sum_rates(counters, false)
}

/// [`rates`]; with `or_zero`, each counter without series counts 0.
fn sum_rates(counters: &[Selector], or_zero: bool) -> String {
    sum_of(counters, or_zero, |sel| format!("rate({sel}[$window])"))
}

/// `sum(f(a))`, or `(sum(f(a)) + sum(f(b)))` over a colour, `f` applied to
/// each counter's selector; with `or_zero`, a counter that has no series
/// yet counts 0 rather than emptying the sum. Rates here, raw totals in
/// the tally queries.
pub(super) fn sum_of(counters: &[Selector], or_zero: bool, f: impl Fn(String) -> String) -> String {
    let terms: Vec<String> = counters
        .iter()
        .map(|c| {
            let sum = format!("sum({})", f(c.promql("", COLOR_MATCHER)));
            if or_zero {
                format!("({sum} or vector(0))")
            } else {
                sum
            }
        })
        .collect();
    match terms.len() {
        1 => terms[0].clone(),
        _ => format!("({})", terms.join(" + ")),
    }
}

/// A PromQL template of the user's own and the unit of its result.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub template: String,
    pub unit: Unit,
}

/// Both ways of computing a metric. The Prometheus source runs `query`
/// when given, else the formula rendered to PromQL; the scrape source
/// evaluates the formula. A metric with neither for a source has no data
/// there ("not configured").
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Compute {
    pub formula: Option<Formula>,
    pub query: Option<Query>,
    /// What the CloudWatch source asks for, where it can read the metric.
    pub cloudwatch: Option<super::cloudwatch::CloudWatch>,
}

impl Compute {
    /// The template the Prometheus source sends for `color`, with the unit
    /// of its result.
    pub fn prometheus(&self, color: Color) -> Option<(String, Unit)> {
        match (&self.query, &self.formula) {
            (Some(q), _) => Some((q.template.clone(), q.unit)),
            (None, Some(f)) => Some((f.promql(color), f.unit())),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::parsed;

    #[test]
    fn a_quantile_renders_as_histogram_quantile_over_the_colour() {
        let f = Formula::Quantile {
            histogram: parsed("vllm:time_to_first_token_seconds"),
            q: 0.95,
            unit: Unit::Seconds,
        };
        assert_eq!(
            f.promql(Color::Blue),
            "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{track=\"$color\"}[$window])))"
        );
        assert!(f.counts_requests());
    }

    #[test]
    fn a_ratio_sums_each_side_and_may_be_complemented() {
        let f = Formula::Ratio {
            numerator: vec![parsed("nv_inference_request_failure")],
            denominator: vec![
                parsed("nv_inference_request_success"),
                parsed("nv_inference_request_failure"),
            ],
            complement: false,
            unit: Unit::Ratio,
        };
        assert_eq!(
            f.promql(Color::Green),
            "(sum(rate(nv_inference_request_failure{track=\"$color\"}[$window])) or vector(0)) / (sum(rate(nv_inference_request_success{track=\"$color\"}[$window])) + sum(rate(nv_inference_request_failure{track=\"$color\"}[$window])))"
        );
        let c = Formula::Ratio {
            numerator: vec![parsed("ok")],
            denominator: vec![parsed("all")],
            complement: true,
            unit: Unit::Ratio,
        };
        assert!(c.promql(Color::Blue).starts_with("1 - ((sum(rate(ok{"));
    }

    #[test]
    fn a_sum_over_a_count_or_a_time_over_requests_is_a_mean() {
        let ratio = |n: &str, unit| Formula::Ratio {
            numerator: vec![parsed(n)],
            denominator: vec![parsed("requests")],
            complement: false,
            unit,
        };
        assert!(!ratio("errors", Unit::Ratio).is_mean());
        assert!(!ratio("errors", Unit::Percent).is_mean());
        assert!(ratio("quality_sum", Unit::Ratio).is_mean());
        assert!(ratio("duration_us", Unit::Micros).is_mean());
        assert!(ratio("tokens", Unit::None).is_mean());
        let complement = Formula::Ratio {
            numerator: vec![parsed("ok_sum")],
            denominator: vec![parsed("requests")],
            complement: true,
            unit: Unit::Ratio,
        };
        assert!(!complement.is_mean());
    }

    #[test]
    fn gauges_and_rates_render_with_their_aggregate() {
        let g = Formula::Gauge {
            gauge: parsed("vllm:num_requests_waiting"),
            aggregate: Aggregate::Sum,
            weight: None,
            unit: Unit::None,
        };
        assert_eq!(
            g.promql(Color::Blue),
            "sum(vllm:num_requests_waiting{track=\"$color\"})"
        );
        assert!(!g.counts_requests());
        let r = Formula::Rate {
            counters: vec![parsed("vllm:generation_tokens_total")],
            unit: Unit::TokensPerSec,
        };
        assert_eq!(
            r.promql(Color::Blue),
            "sum(rate(vllm:generation_tokens_total{track=\"$color\"}[$window]))"
        );
    }

    #[test]
    fn the_series_looked_for_are_named() {
        let q = Formula::Quantile {
            histogram: parsed("lat{model_name=\"m\"}"),
            q: 0.99,
            unit: Unit::Seconds,
        };
        assert_eq!(q.series(), ["lat_bucket{model_name=\"m\"}"]);
        let plain = Formula::Quantile {
            histogram: parsed("lat"),
            q: 0.99,
            unit: Unit::Seconds,
        };
        assert_eq!(plain.series(), ["lat_bucket"]);
        let g = Formula::Gauge {
            gauge: parsed("q"),
            aggregate: Aggregate::Mean,
            weight: Some(parsed("r")),
            unit: Unit::None,
        };
        assert_eq!(g.series(), ["q", "r"]);
    }

    #[test]
    fn a_query_of_ones_own_wins_over_the_formula() {
        let formula = Some(Formula::Rate {
            counters: vec![parsed("x")],
            unit: Unit::None,
        });
        let own = Compute {
            formula: formula.clone(),
            query: Some(Query {
                template: "q{c=\"$color\"}".into(),
                unit: Unit::Seconds,
            }),
            cloudwatch: None,
        };
        assert_eq!(
            own.prometheus(Color::Blue),
            Some(("q{c=\"$color\"}".into(), Unit::Seconds))
        );
        let rendered = Compute {
            formula,
            ..Default::default()
        };
        assert_eq!(
            rendered.prometheus(Color::Blue).map(|(_, u)| u),
            Some(Unit::None)
        );
        let none = Compute::default();
        assert_eq!(none.prometheus(Color::Blue), None);
    }
}
