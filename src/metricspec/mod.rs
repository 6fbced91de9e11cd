//! Metrics as data: what a metric is (id, label, unit, which way is
//! better), how each source computes it, and how it is judged. The model
//! behind `[[metrics]]`, `[cost]` and the presets (`http`, `vllm`, `tgi`,
//! `triton`); today's three metrics are one such list (`legacy`). Pure: no
//! IO, no clocks.

pub mod cloudwatch;
pub mod compute;
pub mod cost;
pub mod entry;
pub mod legacy;
pub mod load;
pub mod parse;
pub mod preset;
pub mod selector;
pub mod tally;
pub mod threshold;
pub mod toml_place;
pub mod unit;

#[cfg(test)]
mod toml_tests;

use serde::{Deserialize, Serialize};

use crate::stats::TestConfig;

pub use cloudwatch::CloudWatch;
pub use compute::{Aggregate, Compute, Formula, Query};
pub use cost::{CostConfig, CostModel, CostSeries, Price};
pub use entry::MetricEntry;
pub use parse::{Inputs, resolve};
pub use selector::Selector;
pub use tally::TallyQueries;
pub use threshold::{Margin, Threshold};
pub use unit::Unit;

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// Warn and breach levels of one check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels<T> {
    pub warn: T,
    pub breach: T,
}

/// One metric, complete: everything the sources, the guardrails, the
/// screen and the journal need to know of it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    /// The journal's and the `:` command's name: `[a-z0-9_]+`.
    pub id: String,
    /// The screen's name.
    pub label: String,
    /// The unit it is shown and judged in.
    pub unit: Unit,
    pub better: Better,
    pub compute: Compute,
    /// Bounds on either colour's value, in `unit` (only green's roll back).
    pub absolute: Option<Levels<f64>>,
    /// How much worse than blue green may be.
    pub vs_blue: Option<Levels<Margin>>,
    /// Values from fewer requests than this in the window are no data.
    pub min_requests: u64,
    /// `false`: shown, never judged.
    pub guard: bool,
    /// `false`: a breach holds the gate and is reported, but does not count
    /// toward auto-rollback.
    pub rollback: bool,
    /// `test = { alpha, min_effect }`: green judged against blue with
    /// evidence (a sequential test on the source's tallies), beside the
    /// levels.
    pub test: Option<TestConfig>,
}

impl MetricSpec {
    /// Whether the guardrails judge it at all.
    pub fn judged(&self) -> bool {
        self.guard && (self.absolute.is_some() || self.vs_blue.is_some())
    }

    /// Whether a test can judge it: its formula counts requests and
    /// events or sums a value per request (a ratio), or spreads requests
    /// over buckets (a histogram). A gauge has one value per pod, and a
    /// rate or a cost no requests to count against. Whether its source can
    /// count it too (a PromQL query of one's own, CloudWatch) is the
    /// engine's question: `engine::task::evidence`.
    pub fn testable(&self) -> bool {
        matches!(
            self.compute.formula,
            Some(Formula::Ratio { .. } | Formula::Quantile { .. })
        ) || self
            .compute
            .cloudwatch
            .as_ref()
            .is_some_and(CloudWatch::is_ratio)
    }

    /// Whether a test would judge it as a mean per request (see
    /// [`Formula::is_mean`]) rather than as a count.
    pub fn is_mean(&self) -> bool {
        self.compute.formula.as_ref().is_some_and(Formula::is_mean)
    }

    pub fn higher_is_worse(&self) -> bool {
        self.better == Better::Lower
    }

    /// A value in `from` (a source's unit) in the metric's unit. The units
    /// were checked to convert when the spec was built.
    pub fn shown(&self, v: f64, from: Unit) -> f64 {
        from.convert(v, self.unit).unwrap_or(f64::NAN)
    }

    pub fn format(&self, v: f64) -> String {
        self.unit.format(v)
    }

    /// Warnings for values (in `unit`) that look like another unit.
    pub fn plausibility(&self, values: &[f64]) -> Vec<String> {
        unit::plausibility(&self.label, self.unit, values)
    }

    /// What `check` says of the spec itself before any value: levels that
    /// look written in another unit, a guard with nothing to judge.
    pub fn config_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.guard && self.absolute.is_none() && self.vs_blue.is_none() {
            out.push(format!(
                "{}: no guardrail, so it is shown but not judged",
                self.label
            ));
        }
        if self.test.is_some() && !self.testable() {
            out.push(format!(
                "{}: `test` needs requests counted by a ratio or a histogram; this metric cannot be tested",
                self.label
            ));
        }
        if let Some(l) = self.absolute {
            let b = l.breach;
            let hint = match self.unit {
                Unit::Percent if b > 0.0 && b < 1.0 => Some(format!(
                    "a breach level of {b} %: if a ratio was meant, write \"{}%\"",
                    b * 100.0
                )),
                Unit::Millis if b > 0.0 && b < 1.0 => Some(format!(
                    "a breach level of {b} ms: if seconds were meant, write \"{b}s\""
                )),
                _ => None,
            };
            out.extend(hint.map(|h| format!("{}: {h}", self.label)));
        }
        out
    }

    /// The difference green may be worse than blue by, at blue's `blue`,
    /// for warn and breach.
    pub fn vs_blue_allowed(&self, blue: f64) -> Option<Levels<f64>> {
        self.vs_blue.map(|l| Levels {
            warn: l.warn.allowed(blue),
            breach: l.breach.allowed(blue),
        })
    }
}

/// The spec with id `id`.
pub fn find<'a>(specs: &'a [MetricSpec], id: &str) -> Option<&'a MetricSpec> {
    specs.iter().find(|s| s.id == id)
}

/// Whether `id` is a usable metric id: lower-case letters, digits, `_`,
/// starting with a letter (it is a journal key and a `:` word).
pub fn is_id(id: &str) -> bool {
    let mut c = id.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_journal_keys() {
        for ok in ["p99_ms", "ttft_p95", "kv_cache"] {
            assert!(is_id(ok), "{ok}");
        }
        for bad in ["", "P99", "9x", "a-b", "a b", "vllm:x"] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn judged_needs_a_check_and_guard() {
        let mut s = legacy::from(&legacy::tests::example())
            .into_iter()
            .next()
            .unwrap();
        assert!(s.judged());
        s.guard = false;
        assert!(!s.judged());
        s.guard = true;
        s.absolute = None;
        s.vs_blue = None;
        assert!(!s.judged());
    }

    #[test]
    fn levels_written_in_another_unit_are_warned_of() {
        let mut s = legacy::from(&legacy::tests::example());
        assert!(s.iter().all(|m| m.config_warnings().is_empty()));
        s[1].absolute = Some(Levels {
            warn: 0.01,
            breach: 0.05,
        });
        let w = s[1].config_warnings();
        assert!(w[0].contains("write \"5%\""), "{w:?}");
        s[0].absolute = Some(Levels {
            warn: 0.2,
            breach: 0.5,
        });
        assert!(s[0].config_warnings()[0].contains("write \"0.5s\""));
        s[2].absolute = None;
        s[2].vs_blue = None;
        assert!(s[2].config_warnings()[0].contains("shown but not judged"));
        // a test on the error rate can run, on the quality gauge it cannot
        let test = crate::stats::TestConfig::new(0.01, crate::stats::MinEffect::Points(0.5));
        let mut s = legacy::from(&legacy::tests::example());
        for m in &mut s {
            m.test = test.clone().ok();
        }
        assert!(s[0].testable() && s[1].testable() && !s[2].testable());
        assert!(s[1].config_warnings().is_empty());
        assert!(s[2].config_warnings()[0].contains("cannot be tested"));
    }

    #[test]
    fn a_relative_margin_is_allowed_in_blues_terms() {
        let mut s = legacy::from(&legacy::tests::example()).remove(0);
        s.vs_blue = Some(Levels {
            warn: Margin::Relative(0.1),
            breach: Margin::Relative(0.3),
        });
        let l = s.vs_blue_allowed(400.0).unwrap();
        assert_eq!((l.warn, l.breach), (40.0, 120.0));
        assert_eq!(s.shown(0.25, Unit::Seconds), 250.0);
        assert_eq!(s.format(250.0), "250 ms");
        assert_eq!(s.plausibility(&[0.02]).len(), 1);
    }
}
