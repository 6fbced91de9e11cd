//! The config's metrics: today's keys read as [`Legacy`], then `[source]
//! preset`, `[[metrics]]` and `[cost]` resolved over them into the one
//! list every layer reads. `metricspec` sits below the config and knows
//! nothing of its types; this is where the two meet.

use crate::metricspec::legacy::{Legacy, LegacyGuardrail, LegacySource};
use crate::metricspec::{Inputs, MetricSpec, resolve};

use super::{Config, GuardrailsConfig, LatencyUnit, MetricGuardrail, SourceKind, defaults};

/// Today's three under today's default guardrails over the demo fleet:
/// the metrics of a state that has met no config (what front-end tests
/// draw).
pub fn default_specs() -> Vec<MetricSpec> {
    legacy_specs(&SourceKind::Demo, defaults::min_requests())
}

/// Today's three over `kind`'s series or queries, under today's default
/// guardrails: what a `[source]` alone means to a config without a preset
/// or `[[metrics]]` (a source built in code, as tests and benches do).
pub fn legacy_specs(kind: &SourceKind, min_requests: u64) -> Vec<MetricSpec> {
    let g = GuardrailsConfig::default();
    crate::metricspec::legacy::from(&Legacy {
        source: legacy_source(kind),
        p99_ms: levels(&g.p99_ms),
        error_rate: levels(&g.error_rate),
        quality: levels(&g.quality),
        min_requests,
    })
}

impl Config {
    /// The metrics this config watches, in order: the preset's (or today's
    /// three), overridden and extended by `[[metrics]]`, then the cost.
    /// `Err((dotted key, message))`; a loaded config has been checked, so
    /// only a config built in code can fail here.
    pub fn metric_specs(&self) -> Result<Vec<MetricSpec>, (String, String)> {
        resolve(&Inputs {
            preset: self.source.preset.as_deref(),
            metrics: &self.metrics,
            cost: self.cost.as_ref(),
            legacy: &self.legacy(),
        })
    }

    /// Today's keys' values: the series `[source]` names and the levels of
    /// `[guardrails.*]`.
    pub fn legacy(&self) -> Legacy {
        let g = &self.guardrails;
        Legacy {
            source: legacy_source(&self.source.kind),
            p99_ms: levels(&g.p99_ms),
            error_rate: levels(&g.error_rate),
            quality: levels(&g.quality),
            min_requests: self.source.min_requests,
        }
    }
}

fn legacy_source(kind: &SourceKind) -> LegacySource {
    match kind {
        SourceKind::Scrape(s) => LegacySource::Scrape {
            latency_histogram: s.latency_histogram.clone(),
            latency_in_ms: s.latency_unit == LatencyUnit::Milliseconds,
            requests_counter: s.requests_counter.clone(),
            status_label: s.status_label.clone(),
            error_status_prefixes: s.error_status_prefixes.clone(),
            quality_gauge: s.quality_gauge.clone(),
        },
        SourceKind::Prometheus(p) => LegacySource::Prometheus {
            p99_ms: p.queries.p99_ms.clone(),
            error_rate: p.queries.error_rate.clone(),
            quality: p.queries.quality.clone(),
        },
        SourceKind::Demo => LegacySource::Demo,
    }
}

fn levels(g: &MetricGuardrail) -> LegacyGuardrail {
    LegacyGuardrail {
        absolute: g.absolute.as_ref().map(|l| (l.warn, l.breach)),
        vs_blue: g.vs_blue.as_ref().map(|l| (l.warn, l.breach)),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;
    use crate::metricspec::Unit;

    const BASE: &str = r#"
[service]
name = "chat"
[source]
kind = "scrape"
[source.scrape]
blue = ["http://127.0.0.1:9/metrics"]
green = ["http://127.0.0.1:8/metrics"]
[router]
kind = "demo"
"#;

    #[test]
    fn without_metrics_the_three_of_today() {
        let c = load_str(BASE, "t").unwrap();
        let ids: Vec<String> = c
            .metric_specs()
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, ["p99_ms", "error_rate", "quality"]);
    }

    #[test]
    fn a_preset_and_an_entry_over_it() {
        let text = BASE.replace("kind = \"scrape\"", "kind = \"scrape\"\npreset = \"vllm\"")
            + "[[metrics]]\nid = \"ttft_p95_ms\"\nabsolute = { breach = \"3s\" }\n";
        let c = load_str(&text, "t").unwrap();
        let specs = c.metric_specs().unwrap();
        let ttft = crate::metricspec::find(&specs, "ttft_p95_ms").unwrap();
        assert_eq!(ttft.unit, Unit::Millis);
        assert_eq!(ttft.absolute.unwrap().breach, 3000.0);
        assert!(specs.len() >= 7);
    }

    #[test]
    fn a_bad_entry_names_its_key_and_line() {
        let text = BASE.to_string() + "[[metrics]]\nid = \"x\"\nunit = \"ms\"\nq = 2\n";
        let e = load_str(&text, "t").unwrap_err();
        assert!(e.key.as_deref().unwrap_or("").starts_with("metrics"), "{e}");
        assert!(e.line.is_some(), "{e}");
        let text = BASE.replace("kind = \"scrape\"", "kind = \"scrape\"\npreset = \"vlm\"");
        let e = load_str(&text, "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("source.preset"), "{e}");
        assert_eq!(e.line, Some(6), "{e}");
    }
}
