//! Today's three metrics (p99, error rate, quality) over the series names
//! of a `[source.scrape]` section, for code that builds a scrape source
//! from that section alone (benchmarks, tests, tools). A loaded config
//! gets its specs from `Config::metric_specs`, which also reads the
//! guardrails; the scrape source only needs the formulas.

use std::time::Duration;

use crate::config::{LatencyUnit, ScrapeConfig};
use crate::metricspec::legacy::{self, Legacy, LegacyGuardrail, LegacySource};
use crate::metricspec::{Formula, MetricSpec};

/// The three specs over `cfg`'s names; rates from fewer than
/// `min_requests` requests are not judged.
pub fn specs(cfg: &ScrapeConfig, min_requests: u64) -> Vec<MetricSpec> {
    legacy::from(&Legacy {
        source: LegacySource::Scrape {
            latency_histogram: cfg.latency_histogram.clone(),
            latency_in_ms: cfg.latency_unit == LatencyUnit::Milliseconds,
            requests_counter: cfg.requests_counter.clone(),
            status_label: cfg.status_label.clone(),
            error_status_prefixes: cfg.error_status_prefixes.clone(),
            quality_gauge: cfg.quality_gauge.clone(),
        },
        p99_ms: LegacyGuardrail::default(),
        error_rate: LegacyGuardrail::default(),
        quality: LegacyGuardrail::default(),
        min_requests,
    })
}

impl super::ScrapeSource {
    /// A source computing today's three over `cfg`'s series names (see
    /// [`specs`]), each count judged.
    pub fn legacy(cfg: &ScrapeConfig, timeout: Duration, window: Duration) -> anyhow::Result<Self> {
        Self::new(cfg, &specs(cfg, 0), timeout, window)
    }
}

/// The specs with each histogram named by its base name: today's
/// `latency_histogram` key accepts the `_bucket` series' name too.
pub fn base_names(specs: &[MetricSpec]) -> Vec<MetricSpec> {
    let mut out = specs.to_vec();
    for spec in &mut out {
        if let Some(Formula::Quantile { histogram, .. }) = &mut spec.compute.formula
            && let Some(base) = histogram.name.strip_suffix("_bucket")
        {
            histogram.name = base.to_string();
        }
    }
    out
}
