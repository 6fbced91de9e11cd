//! The PromQL of a metric's cumulative tallies: the raw counter sums per
//! colour that the sequential tests take increments of, where the metric's
//! own query gives only a windowed rate or quantile. Only formulas that
//! count requests have them (ratios, means and histograms); a PromQL
//! template of the user's own says nothing of its counters, so it has
//! none. Pure.

use super::compute::{COLOR_MATCHER, Compute, Formula, sum_of};
use super::selector::Selector;

/// The instant queries of one metric's tally, `$color` still to fill in.
#[derive(Debug, Clone, PartialEq)]
pub enum TallyQueries {
    /// A ratio's denominator and its events: the numerator (0 while no
    /// series exists), or with `complement` the requests it does not count.
    Counts { requests: String, events: String },
    /// A histogram's buckets summed by `le`, and its `_sum`.
    Buckets { buckets: String, sum: String },
    /// A mean's requests (the denominator) and the sum of their values
    /// (the numerator, which must exist: a missing sum is not 0).
    Moments { count: String, sum: String },
}

/// `sum(a{..})`, or `(sum(a{..}) + sum(b{..}))`; with `zero`, a series
/// that does not exist yet counts 0 rather than emptying the sum.
fn sums(counters: &[Selector], zero: bool) -> String {
    sum_of(counters, zero, |sel| sel)
}

impl Compute {
    /// The tally queries of a metric computed by a formula over
    /// Prometheus; `None` for a template of one's own, a gauge, a rate or
    /// a cost.
    pub fn tally_queries(&self) -> Option<TallyQueries> {
        if self.query.is_some() {
            return None;
        }
        let formula = self.formula.as_ref()?;
        match formula {
            Formula::Ratio {
                numerator,
                denominator,
                ..
            } if formula.is_mean() => Some(TallyQueries::Moments {
                count: sums(denominator, false),
                sum: sums(numerator, false),
            }),
            Formula::Ratio {
                numerator,
                denominator,
                complement,
                ..
            } => {
                let requests = sums(denominator, false);
                let counted = sums(numerator, true);
                let events = match complement {
                    true => format!("{requests} - {counted}"),
                    false => counted,
                };
                Some(TallyQueries::Counts { requests, events })
            }
            Formula::Quantile { histogram, .. } => Some(TallyQueries::Buckets {
                buckets: format!(
                    "sum by (le) ({})",
                    histogram.promql("_bucket", COLOR_MATCHER)
                ),
                sum: format!("sum({})", histogram.promql("_sum", COLOR_MATCHER)),
            }),
            Formula::Rate { .. } | Formula::Gauge { .. } | Formula::Cost(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::compute::{Aggregate, Query};
    use super::super::unit::Unit;
    use super::*;

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    fn formula(f: Formula) -> Compute {
        Compute {
            formula: Some(f),
            query: None,
            cloudwatch: None,
        }
    }

    #[test]
    fn a_ratio_tallies_its_counters_raw() {
        let c = formula(Formula::Ratio {
            numerator: vec![sel(r#"req{code=~"5.."}"#)],
            denominator: vec![sel("req")],
            complement: false,
            unit: Unit::Ratio,
        });
        assert_eq!(
            c.tally_queries(),
            Some(TallyQueries::Counts {
                requests: "sum(req{track=\"$color\"})".into(),
                events: "(sum(req{code=~\"5..\",track=\"$color\"}) or vector(0))".into(),
            })
        );
        let c = formula(Formula::Ratio {
            numerator: vec![sel("ok")],
            denominator: vec![sel("ok"), sel("failed")],
            complement: true,
            unit: Unit::Ratio,
        });
        let Some(TallyQueries::Counts { requests, events }) = c.tally_queries() else {
            panic!("a ratio has counts");
        };
        assert_eq!(
            requests,
            "(sum(ok{track=\"$color\"}) + sum(failed{track=\"$color\"}))"
        );
        assert_eq!(
            events,
            format!("{requests} - (sum(ok{{track=\"$color\"}}) or vector(0))")
        );
    }

    #[test]
    fn a_mean_tallies_its_count_and_sum() {
        let c = formula(Formula::Ratio {
            numerator: vec![sel("lat_sum")],
            denominator: vec![sel("lat_count")],
            complement: false,
            unit: Unit::Seconds,
        });
        assert_eq!(
            c.tally_queries(),
            Some(TallyQueries::Moments {
                count: "sum(lat_count{track=\"$color\"})".into(),
                sum: "sum(lat_sum{track=\"$color\"})".into(),
            })
        );
    }

    #[test]
    fn a_histogram_tallies_its_buckets_and_sum() {
        let c = formula(Formula::Quantile {
            histogram: sel(r#"lat{model="m"}"#),
            q: 0.99,
            unit: Unit::Seconds,
        });
        assert_eq!(
            c.tally_queries(),
            Some(TallyQueries::Buckets {
                buckets: "sum by (le) (lat_bucket{model=\"m\",track=\"$color\"})".into(),
                sum: "sum(lat_sum{model=\"m\",track=\"$color\"})".into(),
            })
        );
    }

    #[test]
    fn templates_gauges_and_rates_have_none() {
        let gauge = formula(Formula::Gauge {
            gauge: sel("q"),
            aggregate: Aggregate::Mean,
            weight: None,
            unit: Unit::None,
        });
        assert_eq!(gauge.tally_queries(), None);
        let own = Compute {
            formula: Some(Formula::Quantile {
                histogram: sel("lat"),
                q: 0.99,
                unit: Unit::Seconds,
            }),
            query: Some(Query {
                template: "x{c=\"$color\"}".into(),
                unit: Unit::Seconds,
            }),
            cloudwatch: None,
        };
        assert_eq!(own.tally_queries(), None);
    }
}
