//! The answers of a metric's tally queries → its cumulative [`Tally`]:
//! requests and events of a ratio, count and sum of a mean, buckets (one
//! series per `le`) and sum of a histogram. Pure. A part with no answer leaves the tally unknown,
//! except a histogram's sum, which the tests can do without.

use prometheus_http_query::response::Data;

use super::query::Part;
use super::readings::single;
use crate::model::Tally;

/// What one metric's tally queries have answered so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parts {
    requests: Option<f64>,
    events: Option<f64>,
    count: Option<f64>,
    buckets: Option<Vec<(f64, f64)>>,
    sum: Option<f64>,
}

impl Parts {
    /// Keeps one answer; `scale` takes a histogram's bounds and sum, or a
    /// mean's sum, into the metric's unit.
    pub fn answer(&mut self, part: Part, scale: f64, data: &Data) {
        let one = || single(data).result.ok().map(|v| v.value);
        match part {
            Part::Requests => self.requests = one(),
            Part::Events => self.events = one(),
            Part::Count => self.count = one(),
            Part::Sum => self.sum = one().map(|v| v * scale),
            Part::Buckets => self.buckets = buckets(data, scale),
        }
    }

    /// The tally, when its parts are all there and finite.
    pub fn tally(&self) -> Option<Tally> {
        if let (Some(requests), Some(events)) = (self.requests, self.events) {
            return (requests.is_finite() && events.is_finite())
                .then_some(Tally::Counts { requests, events });
        }
        if let Some(count) = self.count {
            let sum = self.sum?;
            return (count.is_finite() && sum.is_finite()).then_some(Tally::Moments { count, sum });
        }
        let buckets = self.buckets.clone()?;
        let count = buckets.last().filter(|(le, _)| *le == f64::INFINITY)?.1;
        Some(Tally::Buckets {
            count,
            buckets,
            sum: self.sum.filter(|s| s.is_finite()),
        })
    }
}

/// `sum by (le)` of a histogram's buckets as `(le, count)` sorted by `le`;
/// `None` without series, or with a series whose `le` or count is not a
/// number.
fn buckets(data: &Data, scale: f64) -> Option<Vec<(f64, f64)>> {
    let Data::Vector(v) = data else {
        return None;
    };
    let mut out = v
        .iter()
        .map(|s| {
            let le: f64 = s
                .metric()
                .get("le")?
                .trim()
                .to_ascii_lowercase()
                .parse()
                .ok()?;
            let n = s.sample().value();
            n.is_finite().then_some((le * scale, n))
        })
        .collect::<Option<Vec<_>>>()?;
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(json: &str) -> Data {
        serde_json::from_str(json).unwrap()
    }

    fn vector(series: &[(&str, f64)]) -> Data {
        let items: Vec<String> = series
            .iter()
            .map(|(le, v)| {
                let metric = if le.is_empty() {
                    "{}".to_string()
                } else {
                    format!("{{\"le\":\"{le}\"}}")
                };
                format!("{{\"metric\":{metric},\"value\":[1700000000,\"{v}\"]}}")
            })
            .collect();
        data(&format!(
            "{{\"resultType\":\"vector\",\"result\":[{}]}}",
            items.join(",")
        ))
    }

    #[test]
    fn counts_and_means_need_both_parts() {
        // (the first part, the second, its scale, the tally of both)
        let cases = [
            (
                Part::Requests,
                Part::Events,
                1.0,
                Tally::Counts {
                    requests: 1200.0,
                    events: 6.0,
                },
            ),
            // a mean's sum of seconds, in ms
            (
                Part::Count,
                Part::Sum,
                1000.0,
                Tally::Moments {
                    count: 1200.0,
                    sum: 6000.0,
                },
            ),
        ];
        for (first, second, scale, want) in cases {
            let mut p = Parts::default();
            p.answer(first, 1.0, &vector(&[("", 1200.0)]));
            assert_eq!(p.tally(), None);
            p.answer(second, scale, &vector(&[("", 6.0)]));
            assert_eq!(p.tally(), Some(want));
        }
    }

    #[test]
    fn buckets_sorted_in_the_metrics_unit() {
        let mut p = Parts::default();
        let b = vector(&[("+Inf", 100.0), ("0.25", 90.0), ("1", 99.0)]);
        p.answer(Part::Buckets, 1000.0, &b);
        assert_eq!(
            p.tally(),
            Some(Tally::Buckets {
                count: 100.0,
                buckets: vec![(250.0, 90.0), (1000.0, 99.0), (f64::INFINITY, 100.0)],
                sum: None,
            })
        );
        p.answer(Part::Sum, 1000.0, &vector(&[("", 12.5)]));
        assert!(matches!(p.tally(), Some(Tally::Buckets { sum: Some(s), .. }) if s == 12500.0));
        // without a +Inf bucket nothing is counted
        p.answer(Part::Buckets, 1.0, &vector(&[("0.25", 90.0)]));
        assert_eq!(p.tally(), None);
        p.answer(Part::Buckets, 1.0, &vector(&[]));
        assert_eq!(p.tally(), None);
    }
}
