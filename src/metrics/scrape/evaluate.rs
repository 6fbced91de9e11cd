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
fn buckets_of(h: &Selector, extra: &str) -> String {
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
