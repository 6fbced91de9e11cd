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
        let mut specs = resolve(&Inputs {
            preset: self.source.preset.as_deref(),
            metrics: &self.metrics,
            cost: self.cost.as_ref(),
            legacy: &self.legacy(),
        })?;
        if let SourceKind::CloudWatch(cw) = &self.source.kind
            && !cw.alarms.is_empty()
        {
            // The alarms are one more metric: judged, journalled and
            // rolled back on like any other.
            if specs.iter().any(|s| s.id == super::cloudwatch::ALARMS_ID) {
                return Err((
                    "source.cloudwatch.alarms".into(),
                    format!(
                        "a metric already has the id `{}`",
                        super::cloudwatch::ALARMS_ID
                    ),
                ));
            }
            specs.push(super::cloudwatch::alarms_spec());
        }
        Ok(specs)
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
        SourceKind::CloudWatch(_) => LegacySource::Unnamed,
    }
}

fn levels(g: &MetricGuardrail) -> LegacyGuardrail {
    LegacyGuardrail {
        absolute: g.absolute.as_ref().map(|l| (l.warn, l.breach)),
        vs_blue: g.vs_blue.as_ref().map(|l| (l.warn, l.breach)),
        test: g.test,
    }
}

#[cfg(test)]
mod tests_base {
    pub const BASE: &str = r#"
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
}

#[cfg(test)]
mod tests {
    use super::tests_base::BASE;
    use crate::config::load_str;
    use crate::metricspec::Unit;

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

#[cfg(test)]
mod test_keys {
    use super::tests_base::BASE;
    use crate::config::{EvidenceGate, load_str};
    use crate::metricspec::find;
    use crate::stats::{MinEffect, TestConfig};

    #[test]
    fn a_guardrail_test_lands_in_its_spec() {
        let text = BASE.to_string()
            + "[guardrails.error_rate]\nabsolute = { warn = 1.0, breach = 5.0 }\n\
               test = { alpha = 0.01, min_effect = \"+0.5pt\" }\n\
               [guardrails.p99_ms]\ntest = { alpha = 0.05, min_effect = \"+30%\" }\n";
        let c = load_str(&text, "t").unwrap();
        let specs = c.metric_specs().unwrap();
        let test = |id| find(&specs, id).unwrap().test;
        assert_eq!(
            test("error_rate"),
            Some(TestConfig::new(0.01, MinEffect::Points(0.5)).unwrap())
        );
        assert_eq!(test("p99_ms").unwrap().min_effect, MinEffect::Relative(0.3));
        assert_eq!(test("quality"), None);
    }

    #[test]
    fn a_metrics_entry_test_overrides_the_base() {
        let text = BASE.to_string()
            + "[guardrails.error_rate]\ntest = { alpha = 0.01, min_effect = \"+0.5pt\" }\n\
               [[metrics]]\nid = \"error_rate\"\ntest = { alpha = 0.02, min_effect = \"+1pt\" }\n";
        let specs = load_str(&text, "t").unwrap().metric_specs().unwrap();
        let t = find(&specs, "error_rate").unwrap().test.unwrap();
        assert_eq!((t.alpha, t.min_effect), (0.02, MinEffect::Points(1.0)));
    }

    /// The key and line a config's error points at.
    fn refused(text: &str) -> (String, Option<usize>) {
        let e = load_str(text, "t").unwrap_err();
        (e.key.clone().unwrap_or_default(), e.line)
    }

    #[test]
    fn a_bad_test_names_its_key_and_line() {
        let lines = BASE.lines().count();
        let text = BASE.to_string()
            + "[guardrails.error_rate]\ntest = { alpha = 0.01, min_effect = \"lots\" }\n";
        let (key, line) = refused(&text);
        assert!(key.starts_with("guardrails.error_rate.test"), "{key}");
        assert_eq!(line, Some(lines + 2));
        let text = BASE.to_string()
            + "[[metrics]]\nid = \"error_rate\"\ntest = { alpha = 2, min_effect = \"+1pt\" }\n";
        let (key, line) = refused(&text);
        assert!(key.starts_with("metrics"), "{key}");
        assert_eq!(line, Some(lines + 3));
        let text = BASE.to_string() + "[guardrails.quality]\ntest = { alpha = 0.01 }\n";
        let (key, line) = refused(&text);
        assert!(key.starts_with("guardrails.quality.test"), "{key}");
        assert_eq!(line, Some(lines + 2));
    }

    #[test]
    fn the_evidence_gate_has_one_value() {
        let c = load_str(
            &(BASE.to_string() + "[gates]\nevidence = \"no regression\"\n"),
            "t",
        );
        assert_eq!(c.unwrap().gates.evidence, Some(EvidenceGate::NoRegression));
        assert_eq!(load_str(BASE, "t").unwrap().gates.evidence, None);
        let lines = BASE.lines().count();
        let (key, line) = refused(&(BASE.to_string() + "[gates]\nevidence = \"some\"\n"));
        assert_eq!((key.as_str(), line), ("gates.evidence", Some(lines + 2)));
    }
}
