//! `[[metrics]]` entries as written: serde types, unknown keys refused,
//! every key but `id` optional so an entry over a preset's metric writes
//! only what it changes. `ScrapeEntry::formula` checks that a `scrape`
//! table describes one computation.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Better;
use super::compute::{Aggregate, Formula};
use super::parse::Invalid;
use super::selector::Selector;
use super::threshold::Threshold;
use super::unit::{Dimension, Unit};
use crate::stats::TestConfig;

fn err<T>(key: &str, message: impl Into<String>) -> Result<T, Invalid> {
    Err((key.to_string(), message.into()))
}
/// One `[[metrics]]` entry. Every key but `id` is optional: an entry that
/// overrides a preset's metric writes only what it changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricEntry {
    pub id: String,
    pub label: Option<String>,
    pub unit: Option<Unit>,
    pub better: Option<Better>,
    pub scrape: Option<ScrapeEntry>,
    pub prometheus: Option<QueryEntry>,
    pub cloudwatch: Option<super::cloudwatch::CloudWatchEntry>,
    pub absolute: Option<LevelsEntry>,
    pub vs_blue: Option<LevelsEntry>,
    pub min_requests: Option<u64>,
    pub guard: Option<bool>,
    pub rollback: Option<bool>,
    /// `test = { alpha = 0.01, min_effect = "+0.5pt" }`.
    pub test: Option<TestConfig>,
}

/// `scrape = { ... }`: one of `histogram` (with `q`), `numerator` and
/// `denominator`, `counter`, or `gauge`; `unit` is the series' own unit
/// (default: the metric's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeEntry {
    pub histogram: Option<Selector>,
    pub q: Option<f64>,
    pub numerator: Option<Selectors>,
    pub denominator: Option<Selectors>,
    pub complement: Option<bool>,
    pub counter: Option<Selectors>,
    pub gauge: Option<Selector>,
    pub aggregate: Option<Aggregate>,
    pub weight: Option<Selector>,
    pub unit: Option<Unit>,
}

/// `prometheus = { query = "...", unit = "s" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryEntry {
    pub query: String,
    pub unit: Option<Unit>,
}

/// `{ warn = ..., breach = ... }`; without `warn`, warn is the breach level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelsEntry {
    pub warn: Option<Threshold>,
    pub breach: Threshold,
}

/// One selector or a list of them (their rates are summed).
#[derive(Debug, Clone, PartialEq)]
pub struct Selectors(pub Vec<Selector>);

impl Serialize for Selectors {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Selectors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Selectors;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a series name, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Selectors, E> {
                Selector::parse(v)
                    .map(|s| Selectors(vec![s]))
                    .map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Selectors, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Selector>()? {
                    out.push(s);
                }
                if out.is_empty() {
                    return Err(de::Error::custom("the list names no series"));
                }
                Ok(Selectors(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl ScrapeEntry {
    /// The formula this entry describes, in `metric`'s terms.
    pub fn formula(&self, metric: Unit, key: &str) -> Result<Formula, Invalid> {
        let k = |s: &str| format!("{key}.{s}");
        let unit = self.unit.unwrap_or(metric);
        let kinds = [
            self.histogram.is_some(),
            self.numerator.is_some() || self.denominator.is_some(),
            self.counter.is_some(),
            self.gauge.is_some(),
        ];
        let only = |name: &str, set: bool, kind: usize| match set && !kinds[kind] {
            true => err(&k(name), format!("`{name}` does not apply here")),
            false => Ok(()),
        };
        only("q", self.q.is_some(), 0)?;
        only("complement", self.complement.is_some(), 1)?;
        only("aggregate", self.aggregate.is_some(), 3)?;
        only("weight", self.weight.is_some(), 3)?;
        if kinds.iter().filter(|k| **k).count() != 1 {
            return err(
                key,
                "give exactly one of `histogram` (with `q`), `numerator` and `denominator`, `counter`, or `gauge`",
            );
        }
        if let Some(h) = &self.histogram {
            return self.quantile(h, unit, key);
        }
        if kinds[1] {
            return self.ratio(unit, key);
        }
        if let Some(c) = &self.counter {
            return Ok(Formula::Rate {
                counters: c.0.clone(),
                unit,
            });
        }
        self.gauge(unit, key)
    }

    fn quantile(&self, h: &Selector, unit: Unit, key: &str) -> Result<Formula, Invalid> {
        let k = |s: &str| format!("{key}.{s}");
        let q = self
            .q
            .ok_or_else(|| (k("q"), "a histogram needs `q`, e.g. 0.95".to_string()))?;
        if !(q > 0.0 && q < 1.0) {
            return err(
                &k("q"),
                format!("{q} is not a quantile: between 0 and 1, e.g. 0.99"),
            );
        }
        if unit.dimension() != Dimension::Time {
            return err(
                &k("unit"),
                format!("a histogram's buckets are a time (s, ms, us), not `{unit}`"),
            );
        }
        Ok(Formula::Quantile {
            histogram: h.clone(),
            q,
            unit,
        })
    }

    fn ratio(&self, unit: Unit, key: &str) -> Result<Formula, Invalid> {
        let k = |s: &str| format!("{key}.{s}");
        let (Some(n), Some(d)) = (&self.numerator, &self.denominator) else {
            let missing = if self.numerator.is_none() {
                "numerator"
            } else {
                "denominator"
            };
            return err(&k(missing), format!("a ratio needs `{missing}` too"));
        };
        let complement = self.complement.unwrap_or(false);
        if complement && unit != Unit::Ratio {
            return err(
                &k("complement"),
                "a complement is a share: give `unit = \"ratio\"`",
            );
        }
        Ok(Formula::Ratio {
            numerator: n.0.clone(),
            denominator: d.0.clone(),
            complement,
            unit,
        })
    }

    fn gauge(&self, unit: Unit, key: &str) -> Result<Formula, Invalid> {
        let Some(gauge) = self.gauge.clone() else {
            return err(key, "give a `gauge`");
        };
        let aggregate = self.aggregate.unwrap_or(Aggregate::Mean);
        if self.weight.is_some() && aggregate != Aggregate::Mean {
            return err(&format!("{key}.weight"), "only a mean is weighted");
        }
        Ok(Formula::Gauge {
            gauge,
            aggregate,
            weight: self.weight.clone(),
            unit,
        })
    }
}
