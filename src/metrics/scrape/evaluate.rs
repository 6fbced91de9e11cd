//! One spec's formula over one colour's totals and deltas: a quantile, a
//! ratio of counter increases, a rate, a gauge across pods, a cost. Pure:
//! values come out in the formula's unit and are converted to the spec's
//! by the caller.

use crate::metricspec::cost::Rates;
use crate::metricspec::{Aggregate, Formula, Selector};
use crate::model::{Color, NoData};

use super::histogram::{Quantile, quantile};
use super::watch::{PodTotals, Watch, cost_tokens};
use super::window::{Deltas, Progress};

/// What one colour's formulas are evaluated over.
pub struct Inputs<'a> {
    pub watch: &'a Watch,
    pub color: Color,
    /// This poll's totals, per pod.
    pub current: &'a [PodTotals],
    pub progress: &'a Progress,
}

/// A value in the formula's unit, or why there is none (`AboveRange` in
/// the formula's unit too).
pub type Outcome = Result<f64, NoData>;

impl Inputs<'_> {
    fn deltas(&self) -> Result<&Deltas, NoData> {
        match self.progress {
            Progress::Baseline => Err(NoData::Baseline),
            Progress::CounterReset => Err(NoData::CounterReset),
            Progress::Delta(d) => Ok(d),
        }
    }

    /// `Missing` naming the counters when no pod has any of them. Missing
    /// wins over baseline: it says what to fix.
    fn need(&self, counters: &[Selector]) -> Result<(), NoData> {
        let present = counters.iter().any(|s| {
            let i = self.watch.counter(s);
            self.current.iter().any(|p| p.counters[i].is_some())
        });
        if present {
            return Ok(());
        }
        let names: Vec<String> = counters.iter().map(ToString::to_string).collect();
        Err(NoData::Missing(names.join(", ")))
    }

    /// The counters' summed increase over the window; `None` when no pod
    /// has any of them.
    pub fn increase(&self, d: &Deltas, counters: &[Selector]) -> Option<f64> {
        counters
            .iter()
            .filter_map(|s| d.counters[self.watch.counter(s)].total)
            .reduce(|a, b| a + b)
    }

    /// The counters' summed rate per second over the window.
    fn rate(&self, d: &Deltas, counters: &[Selector]) -> Option<f64> {
        let span = d.span.as_secs_f64();
        (span > 0.0)
            .then(|| self.increase(d, counters))
            .flatten()
            .map(|n| n / span)
    }
}

/// The formula's value for this colour.
pub fn formula(f: &Formula, x: &Inputs) -> Outcome {
    match f {
        Formula::Quantile { histogram, q, .. } => quantile_of(x, histogram, *q),
        Formula::Ratio {
            numerator,
            denominator,
            complement,
            ..
        } => {
            let r = ratio(x, numerator, denominator)?;
            Ok(if *complement { 1.0 - r } else { r })
        }
        Formula::Rate { counters, .. } => {
            x.need(counters)?;
            let d = x.deltas()?;
            x.rate(d, counters).ok_or(NoData::Baseline)
        }
        Formula::Gauge {
            gauge,
            aggregate,
            weight,
            ..
        } => gauge_of(x, gauge, *aggregate, weight.as_ref()),
        Formula::Cost(m) => {
            let (prompt, completion) = cost_tokens(m);
            x.need(&m.requests)?;
            for tokens in [prompt, completion].into_iter().flatten() {
                x.need(std::slice::from_ref(tokens))?;
            }
            let d = x.deltas()?;
            let of = |s: Option<&Selector>| {
                s.and_then(|s| x.rate(d, std::slice::from_ref(s)))
                    .unwrap_or(0.0)
            };
            let rates = Rates {
                prompt_tokens: of(prompt),
                completion_tokens: of(completion),
                requests: x.rate(d, &m.requests).unwrap_or(0.0),
            };
            m.per_1k(x.color, rates).ok_or(NoData::NoRequests)
        }
    }
}

/// How many requests the formula's own series counted in the window, for
/// a colour without a request counter: a histogram's observations, a
/// ratio's denominator, a cost's requests.
pub fn own_count(f: &Formula, x: &Inputs) -> Option<f64> {
    let d = x.deltas().ok()?;
    match f {
        Formula::Quantile { histogram, .. } => d.histograms[x.watch.histogram(histogram)]
            .as_ref()
            .and_then(|b| b.last())
            .map(|b| b.count),
        Formula::Ratio { denominator, .. } => x.increase(d, denominator),
        Formula::Cost(m) => x.increase(d, &m.requests),
        Formula::Rate { .. } | Formula::Gauge { .. } => None,
    }
}

/// `name_bucket{matchers}`, as a histogram's bucket series is written.
pub fn buckets_of(h: &Selector, extra: &str) -> String {
    h.promql("_bucket", extra)
        .trim_end_matches("{}")
        .to_string()
}

fn quantile_of(x: &Inputs, h: &Selector, q: f64) -> Outcome {
    let i = x.watch.histogram(h);
    if x.current.iter().all(|p| p.histograms[i].is_none()) {
        return Err(NoData::Missing(buckets_of(h, "")));
    }
    let d = x.deltas()?;
    match quantile(q, d.histograms[i].as_deref().unwrap_or(&[])) {
        Quantile::Value(v) => Ok(v),
        Quantile::AboveHighest(le) => Err(NoData::AboveRange(le)),
        Quantile::NoObservations => Err(NoData::NoRequests),
        Quantile::NoInfBucket => Err(NoData::Missing(buckets_of(h, "le=\"+Inf\""))),
        Quantile::TooFewBuckets => Err(NoData::Other(format!(
            "{h}: no finite bucket to estimate p{} from",
            (q * 1000.0).round() / 10.0
        ))),
    }
}

/// Numerator increase over denominator increase. A numerator no pod has
/// yet counts 0 (a client library creates an error series on the first
/// error); a denominator no pod has is missing.
fn ratio(x: &Inputs, numerator: &[Selector], denominator: &[Selector]) -> Outcome {
    x.need(denominator)?;
    let d = x.deltas()?;
    match x.increase(d, denominator) {
        Some(den) if den > 0.0 => Ok(x.increase(d, numerator).unwrap_or(0.0) / den),
        _ => Err(NoData::NoRequests),
    }
}

/// The gauge's latest value. Each pod's label sets are averaged first;
/// the pods are then aggregated. A mean with a weight is weighted by the
/// increase of the weight counter each pod saw in the window, so an idle
/// pod does not pull the colour's value around; when any weight is
/// unknown or zero (baseline, reset, no counter) the pods count equally.
/// A colour whose weight did not increase at all served nothing: no live
/// value.
fn gauge_of(x: &Inputs, g: &Selector, aggregate: Aggregate, weight: Option<&Selector>) -> Outcome {
    let i = x.watch.gauge(g);
    let weights = match (x.progress, weight) {
        (Progress::Delta(d), Some(w)) => Some(&d.counters[x.watch.counter(w)]),
        _ => None,
    };
    let mut pods: Vec<(f64, Option<f64>)> = Vec::new();
    for (p, totals) in x.current.iter().enumerate() {
        let Some(values) = totals.gauges[i].as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        pods.push((mean, weights.and_then(|w| w.pods.get(p).copied().flatten())));
    }
    if pods.is_empty() {
        return Err(NoData::Missing(g.to_string()));
    }
    if weights.and_then(|w| w.total).is_some_and(|n| n <= 0.0) {
        return Err(NoData::NoRequests);
    }
    let values = pods.iter().map(|&(v, _)| v);
    Ok(match aggregate {
        Aggregate::Mean => weighted_mean(&pods),
        Aggregate::Max => values.fold(f64::NAN, f64::max),
        Aggregate::Sum => values.sum(),
    })
}

/// Mean of `(value, weight)` weighted when every weight is known and
/// positive, else plain. NaN values stay NaN: the guardrails read NaN as no
/// data, which is what a NaN gauge is.
pub fn weighted_mean(values: &[(f64, Option<f64>)]) -> f64 {
    let weights: Option<Vec<f64>> = values
        .iter()
        .map(|&(_, w)| w.filter(|w| *w > 0.0))
        .collect();
    match weights {
        Some(w) => {
            let total: f64 = w.iter().sum();
            values.iter().zip(&w).map(|(&(v, _), w)| v * w).sum::<f64>() / total
        }
        None => values.iter().map(|&(v, _)| v).sum::<f64>() / values.len() as f64,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::readings::{color_readings, request_counters};
    use super::super::watch::testing::sel;
    use super::super::window::Window;
    use super::*;
    use crate::metricspec::cost::{CostModel, Price, Replicas};
    use crate::metricspec::{Better, Compute, MetricSpec, Unit};
    use crate::model::{ColorReadings, Reading};

    fn spec(id: &str, unit: Unit, formula: Formula) -> MetricSpec {
        MetricSpec {
            id: id.into(),
            label: id.into(),
            unit,
            better: Better::Lower,
            compute: Compute {
                formula: Some(formula),
                query: None,
                cloudwatch: None,
            },
            absolute: None,
            vs_blue: None,
            min_requests: 0,
            guard: true,
            rollback: true,
            test: None,
        }
    }

    /// Two polls 10 s apart of every pod's body; the second poll's readings.
    fn two_polls(
        specs: &[MetricSpec],
        color: Color,
        first: &[&str],
        second: &[&str],
    ) -> ColorReadings {
        let watch = Watch::new(specs);
        let mut window = Window::new(Duration::from_secs(30));
        let t0 = Instant::now();
        let mut last = None;
        for (i, bodies) in [first, second].into_iter().enumerate() {
            let pods = bodies
                .iter()
                .map(|b| watch.read("u", b).unwrap().totals)
                .collect();
            let progress = window.record(t0 + Duration::from_secs(10 * i as u64), pods);
            let x = Inputs {
                watch: &watch,
                color,
                current: window.latest(),
                progress: &progress,
            };
            last = Some(color_readings(
                specs,
                &x,
                request_counters(specs).as_deref(),
            ));
        }
        last.unwrap()
    }

    fn value(r: &Reading) -> f64 {
        match r {
            Reading::Value(v) => *v,
            other => panic!("no value: {other:?}"),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    const LAT_0: &str =
        "lat_bucket{le=\"0.1\"} 0\nlat_bucket{le=\"1\"} 0\nlat_bucket{le=\"+Inf\"} 0\n";
    const LAT_1: &str =
        "lat_bucket{le=\"0.1\"} 50\nlat_bucket{le=\"1\"} 100\nlat_bucket{le=\"+Inf\"} 100\n";

    /// The median of `lat`, in seconds, shown in ms.
    fn p50() -> MetricSpec {
        spec(
            "p50",
            Unit::Millis,
            Formula::Quantile {
                histogram: sel("lat"),
                q: 0.5,
                unit: Unit::Seconds,
            },
        )
    }

    #[test]
    fn a_quantile_in_seconds_is_shown_in_ms_and_above_range_too() {
        let p50 = p50();
        let r = two_polls(std::slice::from_ref(&p50), Color::Blue, &[LAT_0], &[LAT_1]);
        assert!(close(value(&r.metrics[0]), 100.0), "{:?}", r.metrics);
        let slow = LAT_1.replace("+Inf\"} 100", "+Inf\"} 300");
        let mut p99 = p50.clone();
        if let Some(Formula::Quantile { q, .. }) = &mut p99.compute.formula {
            *q = 0.99;
        }
        let r = two_polls(&[p99], Color::Blue, &[LAT_0], &[&slow]);
        assert_eq!(r.metrics[0], Reading::NoData(NoData::AboveRange(1000.0)));
    }

    #[test]
    fn a_ratio_of_increases_is_shown_in_percent_and_may_be_complemented() {
        let ratio = |complement| Formula::Ratio {
            numerator: vec![sel(r#"req{status=~"5.."}"#)],
            denominator: vec![sel(r#"req{path!="/health"}"#)],
            complement,
            unit: Unit::Ratio,
        };
        let specs = [
            spec("error_rate", Unit::Percent, ratio(false)),
            spec("ok", Unit::Percent, ratio(true)),
        ];
        let before =
            "req{path=\"/v1\",status=\"200\"} 100\nreq{path=\"/health\",status=\"200\"} 7\n";
        let after = "req{path=\"/v1\",status=\"200\"} 290\nreq{path=\"/v1\",status=\"503\"} 10\n\
                     req{path=\"/health\",status=\"200\"} 900\n";
        let r = two_polls(&specs, Color::Green, &[before], &[after]);
        // 10 of 200 API requests failed; the 5xx series appeared in the window.
        assert!(close(value(&r.metrics[0]), 5.0), "{:?}", r.metrics);
        assert!(close(value(&r.metrics[1]), 95.0));
        // The request rate is error_rate's denominator: 200 in 10 s.
        assert_eq!(r.rps, Some(20.0));
        let idle = two_polls(&specs, Color::Green, &[before], &[before]);
        assert_eq!(idle.metrics[0], Reading::NoData(NoData::NoRequests));
    }

    #[test]
    fn a_rate_sums_its_counters_per_second() {
        let specs = [spec(
            "tokens",
            Unit::TokensPerSec,
            Formula::Rate {
                counters: vec![sel("gen_total"), sel("spec_total")],
                unit: Unit::TokensPerSec,
            },
        )];
        let r = two_polls(
            &specs,
            Color::Blue,
            &["gen_total 100\n", "gen_total 0\n"],
            &["gen_total 600\n", "gen_total 400\n"],
        );
        // 900 tokens over two pods in 10 s; `spec_total` is absent.
        assert!(close(value(&r.metrics[0]), 90.0));
        assert_eq!(r.rps, None);
        let missing = two_polls(&specs, Color::Blue, &["x 1\n"], &["x 1\n"]);
        assert_eq!(
            missing.metrics[0],
            Reading::NoData(NoData::Missing("gen_total, spec_total".into()))
        );
    }

    fn gauge(aggregate: Aggregate, weight: Option<&str>) -> MetricSpec {
        spec(
            "g",
            Unit::Percent,
            Formula::Gauge {
                gauge: sel("kv"),
                aggregate,
                weight: weight.map(sel),
                unit: Unit::Ratio,
            },
        )
    }

    #[test]
    fn gauges_are_averaged_per_pod_then_aggregated_across_pods() {
        // Pod 0: label sets 0.2 and 0.4 (mean 0.3), 30 requests in the
        // window; pod 1: 0.9, 10 requests.
        let first = ["kv{e=\"0\"} 0\nreq 0\n", "kv 0\nreq 0\n"];
        let second = [
            "kv{e=\"0\"} 0.2\nkv{e=\"1\"} 0.4\nreq 30\n",
            "kv 0.9\nreq 10\n",
        ];
        let of =
            |spec: MetricSpec| value(&two_polls(&[spec], Color::Blue, &first, &second).metrics[0]);
        assert!(close(of(gauge(Aggregate::Mean, None)), 60.0));
        assert!(close(of(gauge(Aggregate::Max, None)), 90.0));
        assert!(close(of(gauge(Aggregate::Sum, None)), 120.0));
        // Weighted 30:10 → 0.3 × 0.75 + 0.9 × 0.25 = 0.45.
        assert!(close(of(gauge(Aggregate::Mean, Some("req"))), 45.0));
        // The weight is also the request rate when no ratio gives one.
        let r = two_polls(
            &[gauge(Aggregate::Mean, Some("req"))],
            Color::Blue,
            &first,
            &second,
        );
        assert_eq!(r.rps, Some(4.0));
        // Served nothing: no live value; no weight: the value stands.
        let idle = two_polls(
            &[gauge(Aggregate::Mean, Some("req"))],
            Color::Blue,
            &first,
            &first,
        );
        assert_eq!(idle.metrics[0], Reading::NoData(NoData::NoRequests));
        let idle = two_polls(&[gauge(Aggregate::Max, None)], Color::Blue, &first, &first);
        assert_eq!(idle.metrics[0], Reading::Value(0.0));
    }

    #[test]
    fn a_cost_is_dollars_per_thousand_requests_for_each_colour() {
        let tokens = spec(
            "cost_per_1k",
            Unit::Dollars,
            Formula::Cost(CostModel {
                price: Price::Tokens {
                    prompt: Some((sel("prompt_total"), 0.5)),
                    completion: Some((sel("gen_total"), 1.5)),
                },
                requests: vec![sel("req")],
            }),
        );
        let first = ["prompt_total 0\ngen_total 0\nreq 0\n"];
        // 100 requests of 1,000 prompt and 200 completion tokens each:
        // $0.0008 a request, $0.80 per 1,000.
        let second = ["prompt_total 100000\ngen_total 20000\nreq 100\n"];
        let r = two_polls(std::slice::from_ref(&tokens), Color::Green, &first, &second);
        assert!(close(value(&r.metrics[0]), 0.8), "{:?}", r.metrics);
        let fleet = spec(
            "cost_per_1k",
            Unit::Dollars,
            Formula::Cost(CostModel {
                price: Price::Fleet {
                    per_replica_hour: 3.6,
                    replicas: Replicas { blue: 4, green: 2 },
                },
                requests: vec![sel("req")],
            }),
        );
        // 10 req/s; blue's 4 replicas cost $0.004/s: $0.40 per 1,000.
        let blue = two_polls(std::slice::from_ref(&fleet), Color::Blue, &first, &second);
        assert!(close(value(&blue.metrics[0]), 0.4));
        let green = two_polls(&[fleet], Color::Green, &first, &second);
        assert!(close(value(&green.metrics[0]), 0.2));
        let no_tokens = two_polls(&[tokens], Color::Green, &["req 0\n"], &["req 5\n"]);
        assert_eq!(
            no_tokens.metrics[0],
            Reading::NoData(NoData::Missing("prompt_total".into()))
        );
    }

    #[test]
    fn too_few_requests_hold_formulas_that_count_them_only() {
        let mut p50 = p50();
        p50.min_requests = 150;
        let mut kv = gauge(Aggregate::Max, None);
        kv.min_requests = 150;
        let not_computed = MetricSpec {
            compute: Compute {
                formula: None,
                query: None,
                cloudwatch: None,
            },
            ..kv.clone()
        };
        let first = format!("{LAT_0}kv 0.5\n");
        let second = format!("{LAT_1}kv 0.5\n");
        let r = two_polls(&[p50, kv, not_computed], Color::Blue, &[&first], &[&second]);
        // No request counter: the histogram's own 100 observations count.
        assert_eq!(r.metrics[0], Reading::NoData(NoData::FewRequests(100, 150)));
        assert!(close(value(&r.metrics[1]), 50.0));
        assert_eq!(r.metrics[2], Reading::NoData(NoData::NotConfigured));
    }
}
