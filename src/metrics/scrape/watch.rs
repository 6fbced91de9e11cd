//! What the specs watch, and one pod's page read into it: the selectors
//! any formula names, split by what the scrape keeps of them (histogram
//! buckets, counter sums, gauge values), each kept once however many
//! formulas name it, and a pod's cumulative totals in that order.

use std::collections::HashMap;

use crate::metricspec::{CostModel, Formula, MetricSpec, Price, Selector};

use super::exposition::{self, Sample, Value};
use super::histogram::{Bucket, merge};

/// Where a sample of one name goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    /// A typed histogram, grouped by the parser under its base name.
    Histogram(usize),
    /// An untyped `_bucket` line with its `le` label.
    Bucket(usize),
    /// A histogram's `_sum`, for the tally of a metric with a test.
    Sum(usize),
    Counter(usize),
    Gauge(usize),
}

/// The selectors a list of specs reads, each once.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    pub histograms: Vec<Selector>,
    pub counters: Vec<Selector>,
    pub gauges: Vec<Selector>,
    /// Sample name → where its samples go.
    slots: HashMap<String, Vec<Slot>>,
}

/// What one pod reported, cumulative since the pod started, in the order
/// of [`Watch`]'s lists. `None`: the pod has no sample of that name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodTotals {
    /// Buckets of matching label sets summed by `le`, sorted.
    pub histograms: Vec<Option<Vec<Bucket>>>,
    /// Each histogram's `_sum` over matching label sets, where exported
    /// and a test reads it.
    pub sums: Vec<Option<f64>>,
    /// Sums over matching label sets (0 when the name is there but no set
    /// matches: an error counter before the first error).
    pub counters: Vec<Option<f64>>,
    /// Every matching value (one per label set).
    pub gauges: Vec<Option<Vec<f64>>>,
}

/// One pod's totals and what went wrong reading them.
#[derive(Debug, Clone, Default)]
pub struct PodScrape {
    pub totals: PodTotals,
    pub warnings: Vec<String>,
}

/// Whether a spec with a test reads histogram `h`.
fn tested(specs: &[MetricSpec], h: &Selector) -> bool {
    specs.iter().any(|s| {
        s.test.is_some()
            && matches!(&s.compute.formula, Some(Formula::Quantile { histogram, .. }) if histogram == h)
    })
}

fn index_of(list: &mut Vec<Selector>, s: &Selector) -> usize {
    list.iter().position(|x| x == s).unwrap_or_else(|| {
        list.push(s.clone());
        list.len() - 1
    })
}

impl Watch {
    pub fn new(specs: &[MetricSpec]) -> Watch {
        let mut w = Watch::default();
        for f in specs.iter().filter_map(|s| s.compute.formula.as_ref()) {
            w.add(f);
        }
        for (i, h) in w.histograms.iter().enumerate() {
            let mut add = |name: String, slot| w.slots.entry(name).or_default().push(slot);
            add(h.name.clone(), Slot::Histogram(i));
            add(format!("{}_bucket", h.name), Slot::Bucket(i));
            // Only a test reads a sum: today's configs parse no more lines.
            if tested(specs, h) {
                add(format!("{}_sum", h.name), Slot::Sum(i));
            }
        }
        for (i, c) in w.counters.iter().enumerate() {
            w.slots
                .entry(c.name.clone())
                .or_default()
                .push(Slot::Counter(i));
        }
        for (i, g) in w.gauges.iter().enumerate() {
            w.slots
                .entry(g.name.clone())
                .or_default()
                .push(Slot::Gauge(i));
        }
        w
    }

    fn add(&mut self, f: &Formula) {
        let mut counters = |list: &[Selector]| {
            for s in list {
                index_of(&mut self.counters, s);
            }
        };
        match f {
            Formula::Quantile { histogram, .. } => {
                index_of(&mut self.histograms, histogram);
            }
            Formula::Ratio {
                numerator,
                denominator,
                ..
            } => {
                counters(denominator);
                counters(numerator);
            }
            Formula::Rate { counters: c, .. } => counters(c),
            Formula::Gauge { gauge, weight, .. } => {
                counters(weight.as_slice());
                index_of(&mut self.gauges, gauge);
            }
            Formula::Cost(m) => {
                counters(&m.requests);
                let (prompt, completion) = cost_tokens(m);
                counters(
                    &[prompt, completion]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>(),
                );
            }
        }
    }

    /// The index of a histogram, counter or gauge selector that
    /// [`Watch::new`] saw.
    pub fn histogram(&self, s: &Selector) -> usize {
        position(&self.histograms, s)
    }

    pub fn counter(&self, s: &Selector) -> usize {
        position(&self.counters, s)
    }

    pub fn gauge(&self, s: &Selector) -> usize {
        position(&self.gauges, s)
    }

    /// Whether lines named `name` are read: a histogram's base name (its
    /// `# TYPE`) and `_bucket`, the counters and gauges.
    pub fn watches(&self, name: &str) -> bool {
        self.slots.contains_key(name)
    }

    /// The sample names watched, in a stable order: histograms as
    /// `_bucket`, then counters and gauges, each once.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let all = self
            .histograms
            .iter()
            .map(|h| format!("{}_bucket", h.name))
            .chain(self.counters.iter().map(|c| c.name.clone()))
            .chain(self.gauges.iter().map(|g| g.name.clone()));
        for n in all {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Parses one body and keeps the watched series. Fails only when the
    /// parser itself fails.
    pub fn read(&self, url: &str, body: &str) -> Result<PodScrape, String> {
        let parsed = exposition::parse_where(url, body, |name| self.watches(name))?;
        let mut warnings = parsed.warnings;
        let mut t = PodTotals {
            histograms: vec![None; self.histograms.len()],
            sums: vec![None; self.histograms.len()],
            counters: vec![None; self.counters.len()],
            gauges: vec![None; self.gauges.len()],
        };
        let mut no_le = vec![0usize; self.histograms.len()];
        for s in &parsed.samples {
            for slot in self.slots.get(&s.metric).into_iter().flatten() {
                if let Some(i) = self.keep(*slot, s, &mut t) {
                    no_le[i] += 1;
                }
            }
        }
        for h in &mut t.histograms {
            *h = h.take().map(merge);
        }
        for (h, n) in self.histograms.iter().zip(no_le).filter(|(_, n)| *n > 0) {
            warnings.push(format!(
                "{url}: {n} {}_bucket sample(s) without a readable le label ignored",
                h.name
            ));
        }
        Ok(PodScrape {
            totals: t,
            warnings,
        })
    }

    /// Adds one sample to its slot; for a bucket line without `le`, the
    /// index of its histogram.
    fn keep(&self, slot: Slot, s: &Sample, t: &mut PodTotals) -> Option<usize> {
        let labels = |k: &str| s.labels.get(k);
        let scalar = match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(*v),
            _ => None,
        };
        match (slot, &s.value, scalar) {
            (Slot::Histogram(i), Value::Histogram(h), _) => {
                let sel = &self.histograms[i];
                let kept = t.histograms[i].get_or_insert_with(Vec::new);
                if sel.matches(&sel.name, labels) {
                    kept.extend(h.iter().map(|c| Bucket::new(c.less_than, c.count)));
                }
            }
            (Slot::Bucket(i), _, Some(v)) => {
                let Some(le) = s.labels.get("le").and_then(parse_float) else {
                    return Some(i);
                };
                let sel = &self.histograms[i];
                let kept = t.histograms[i].get_or_insert_with(Vec::new);
                if sel.matches(&sel.name, labels) {
                    kept.push(Bucket::new(le, v));
                }
            }
            (Slot::Sum(i), _, Some(v)) => {
                let sel = &self.histograms[i];
                let sum = t.sums[i].get_or_insert(0.0);
                if sel.matches(&sel.name, labels) {
                    *sum += v;
                }
            }
            (Slot::Counter(i), _, Some(v)) => {
                let sum = t.counters[i].get_or_insert(0.0);
                if self.counters[i].matches(&s.metric, labels) {
                    *sum += v;
                }
            }
            (Slot::Gauge(i), _, Some(v)) => {
                let values = t.gauges[i].get_or_insert_with(Vec::new);
                if self.gauges[i].matches(&s.metric, labels) {
                    values.push(v);
                }
            }
            _ => {}
        }
        None
    }
}

/// The prompt and completion token counters of a cost with token prices.
pub fn cost_tokens(m: &CostModel) -> (Option<&Selector>, Option<&Selector>) {
    match &m.price {
        Price::Tokens { prompt, completion } => (
            prompt.as_ref().map(|(s, _)| s),
            completion.as_ref().map(|(s, _)| s),
        ),
        Price::Fleet { .. } => (None, None),
    }
}

fn position(list: &[Selector], s: &Selector) -> usize {
    list.iter()
        .position(|x| x == s)
        .expect("a selector of the specs the watch was built from")
}

/// Parses a float as Go writes them (`+Inf`, `NaN`), which Rust's parser
/// accepts only in some spellings.
fn parse_float(s: &str) -> Option<f64> {
    s.trim().to_ascii_lowercase().parse().ok()
}

impl PodTotals {
    /// Whether the pod holds any watched series at all.
    pub fn any(&self) -> bool {
        self.histograms.iter().any(Option::is_some)
            || self.counters.iter().any(Option::is_some)
            || self.gauges.iter().any(Option::is_some)
    }
}

/// Today's three read through a watch, as the exposition tests and the
/// source's tests check them.
#[cfg(test)]
pub mod testing {
    use super::super::histogram::Bucket;
    use super::{PodTotals, Watch};
    use crate::config::ScrapeConfig;
    use crate::metricspec::Selector;

    /// A selector as written in a config; the tests' are valid.
    pub fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    /// The names of today's three: a histogram, a request counter whose
    /// 5xx are errors, a quality gauge weighted by requests.
    #[derive(Debug, Clone)]
    pub struct Names {
        pub histogram: &'static str,
        pub requests: &'static str,
        pub status_label: &'static str,
        pub quality: &'static str,
    }

    impl Names {
        pub fn new(histogram: &'static str, requests: &'static str, quality: &'static str) -> Self {
            Names {
                histogram,
                requests,
                status_label: "code",
                quality,
            }
        }

        pub fn specs(&self) -> Vec<crate::metricspec::MetricSpec> {
            let mut cfg = ScrapeConfig::new(vec![], vec![]);
            cfg.latency_histogram = self.histogram.into();
            cfg.requests_counter = self.requests.into();
            cfg.status_label = self.status_label.into();
            cfg.quality_gauge = Some(self.quality.into());
            super::super::legacy::specs(&cfg, 0)
        }

        pub fn watch(&self) -> Watch {
            Watch::new(&self.specs())
        }
    }

    /// A pod's totals of the three: the watch keeps the requests first
    /// (the ratio's denominator), then the errors.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Three {
        pub buckets: Option<Vec<Bucket>>,
        pub requests: Option<f64>,
        pub errors: f64,
        pub quality: Option<Vec<f64>>,
    }

    impl From<&PodTotals> for Three {
        fn from(t: &PodTotals) -> Self {
            Three {
                buckets: t.histograms[0].clone(),
                requests: t.counters[0],
                errors: t.counters[1].unwrap_or(0.0),
                quality: t.gauges[0].clone(),
            }
        }
    }

    pub struct Read {
        pub totals: Three,
        pub warnings: Vec<String>,
    }

    pub fn read(url: &str, body: &str, names: &Names) -> Result<Read, String> {
        names.watch().read(url, body).map(|p| Read {
            totals: Three::from(&p.totals),
            warnings: p.warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Names, sel};
    use super::*;
    use crate::metricspec::Unit;

    #[test]
    fn each_selector_is_kept_once_however_many_formulas_name_it() {
        let w = Names::new("lat", "req", "q").watch();
        assert_eq!(w.histograms, [sel("lat")]);
        // The quality's weight is the error ratio's denominator.
        assert_eq!(w.counters.len(), 2);
        assert_eq!(w.counters[0], sel("req"));
        assert_eq!(w.gauges, [sel("q")]);
        assert_eq!(w.names(), ["lat_bucket", "req", "q"]);
        for name in ["lat", "lat_bucket", "req", "q"] {
            assert!(w.watches(name), "{name}");
        }
        assert!(!w.watches("lat_sum"));
    }

    #[test]
    fn matchers_select_label_sets_and_absent_names_stay_none() {
        let spec = |f: Formula| {
            let mut s = Names::new("lat", "req", "q").specs().remove(0);
            s.compute.formula = Some(f);
            s
        };
        let specs = [
            spec(Formula::Gauge {
                gauge: sel(r#"kv{engine="0"}"#),
                aggregate: crate::metricspec::Aggregate::Max,
                weight: None,
                unit: Unit::None,
            }),
            spec(Formula::Rate {
                counters: vec![sel(r#"tok{kind="gen"}"#), sel("absent_total")],
                unit: Unit::TokensPerSec,
            }),
            spec(Formula::Quantile {
                histogram: sel(r#"ttft{model="a"}"#),
                q: 0.5,
                unit: Unit::Seconds,
            }),
        ];
        let w = Watch::new(&specs);
        let body = "kv{engine=\"0\"} 0.5\nkv{engine=\"1\"} 0.9\n\
            tok{kind=\"gen\"} 10\ntok{kind=\"prompt\"} 99\n\
            # TYPE ttft histogram\n\
            ttft_bucket{model=\"a\",le=\"1\"} 2\nttft_bucket{model=\"a\",le=\"+Inf\"} 3\n\
            ttft_bucket{model=\"b\",le=\"1\"} 50\nttft_bucket{model=\"b\",le=\"+Inf\"} 50\n";
        let t = w.read("u", body).unwrap().totals;
        assert_eq!(t.gauges, [Some(vec![0.5])]);
        assert_eq!(t.counters, [Some(10.0), None]);
        assert_eq!(
            t.histograms,
            [Some(vec![
                Bucket::new(1.0, 2.0),
                Bucket::new(f64::INFINITY, 3.0)
            ])]
        );
        // The name is there but no label set matches: present, empty.
        let t = w.read("u", "kv{engine=\"1\"} 0.9\ntok 3\n").unwrap().totals;
        assert_eq!(t.gauges, [Some(vec![])]);
        assert_eq!(t.counters, [Some(0.0), None]);
        assert_eq!(t.histograms, [None]);
        assert!(t.any());
        assert!(!w.read("u", "other 1\n").unwrap().totals.any());
    }

    #[test]
    fn bucket_lines_without_le_are_warned_of_by_name() {
        let w = Names::new("lat", "req", "q").watch();
        let p = w.read("u", "lat_bucket{path=\"/\"} 3\nreq 1\n").unwrap();
        assert_eq!(
            p.warnings,
            ["u: 1 lat_bucket sample(s) without a readable le label ignored"]
        );
    }
}
