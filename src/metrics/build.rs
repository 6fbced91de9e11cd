//! The metric source factory: `[source]` in, a [`MetricSource`] out. Any
//! source works with any router, except `demo`, which reads the fleet that
//! only the demo router runs (the config refuses other pairings; this
//! checks again for configs built in code). A new source kind adds one arm
//! here (the match is exhaustive, so the compiler asks for it).

use anyhow::Context;

use crate::config::{ScrapeConfig, SourceConfig, SourceKind};
use crate::demo::Fleet;
use crate::metricspec::MetricSpec;
use crate::model::Color;

use super::MetricSource;
use super::scrape::ScrapeSource;

/// `specs`: the metrics to compute (`Config::metric_specs`); `fleet`: the
/// demo router's simulated fleet, when there is one.
pub fn build(
    config: &SourceConfig,
    specs: &[MetricSpec],
    fleet: Option<&Fleet>,
) -> anyhow::Result<Box<dyn MetricSource>> {
    // The fleet serves the page of the server the preset names, whichever
    // source reads it.
    if let Some(fleet) = fleet {
        fleet.serve_page(super::demo_page::for_preset(config.preset.as_deref()));
    }
    let scrape = match &config.kind {
        SourceKind::Scrape(s) => s.clone(),
        SourceKind::Prometheus(p) => {
            return Ok(Box::new(super::prometheus::PrometheusSource::new(
                p, config, specs,
            )?));
        }
        SourceKind::CloudWatch(c) => {
            return Ok(Box::new(super::cloudwatch::CloudWatchSource::new(
                c, config, specs,
            )?));
        }
        SourceKind::Demo => {
            let fleet = fleet.context(
                "source kind \"demo\" reads the embedded simulated fleet, which only router kind \"demo\" runs",
            )?;
            fleet_scrape_config(fleet)
        }
    };
    let source = ScrapeSource::new(&scrape, specs, config.timeout, config.window)?;
    Ok(Box::new(source))
}

/// The scrape settings that read the embedded fleet, which serves the
/// common names (the `http` preset's), not the scrape defaults.
fn fleet_scrape_config(fleet: &Fleet) -> ScrapeConfig {
    ScrapeConfig {
        latency_histogram: crate::demo::stats::LATENCY_HISTOGRAM.into(),
        requests_counter: crate::demo::stats::REQUESTS_COUNTER.into(),
        ..ScrapeConfig::new(fleet.urls(Color::Blue), fleet.urls(Color::Green))
    }
}
