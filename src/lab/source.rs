//! What the stack's config says of its metrics, by the model server its
//! pods play: the HTTP names read by today's queries, or a preset whose
//! formulas the Prometheus source writes as PromQL (`track="$color"`, the
//! label the stack's Prometheus gives each pod). Pure.

use crate::demo::DemoPreset;

/// The pods' own series (src/demo/stats.rs), as each pod served them.
const HTTP_QUERIES: &str = r#"# The pods' own series (src/demo/stats.rs), as each pod served them.
p99_ms = '1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{track="$color"}[$window])))'
# error_rate: a ratio of counters, in [[metrics]] below.
quality = 'avg(model_quality_score{track="$color"})'
rps = 'sum(rate(http_requests_total{track="$color"}[$window]))'"#;

/// vLLM counts every handler in `http_requests_total`; only the API's
/// are requests (not the health checks, not Prometheus' own scrapes).
const VLLM_QUERIES: &str = r#"# The preset's metrics are written from its formulas; these say how many
# requests each colour answered and whether its pods are scraped.
rps = 'sum(rate(http_requests_total{track="$color",handler=~"/v1/.*"}[$window]))'"#;

/// TGI counts every generation request it received.
const TGI_QUERIES: &str = r#"# The preset's metrics are written from its formulas; these say how many
# requests each colour answered and whether its pods are scraped.
rps = 'sum(rate(tgi_request_count{track="$color"}[$window]))'"#;

/// Triton counts answered requests as successes and failures.
const TRITON_QUERIES: &str = r#"# The preset's metrics are written from its formulas; these say how many
# requests each colour answered and whether its pods are scraped.
rps = 'sum(rate(nv_inference_request_success{track="$color"}[$window])) + sum(rate(nv_inference_request_failure{track="$color"}[$window]))'"#;

const UP_QUERIES: &str = r#"up = 'up{track="$color"}'
data_time = 'max(timestamp(up{track="$color"}))'"#;

/// `(the [source] preset line, the [source.prometheus.queries] lines)`.
pub fn lines(preset: Option<DemoPreset>) -> (String, String) {
    let (line, queries) = match preset {
        None => (String::new(), HTTP_QUERIES),
        Some(p) => (
            format!(
                "# The pods serve {}'s page.\npreset = \"{}\"",
                p.name(),
                p.name()
            ),
            match p {
                DemoPreset::Http => HTTP_QUERIES,
                DemoPreset::Vllm => VLLM_QUERIES,
                DemoPreset::Tgi => TGI_QUERIES,
                DemoPreset::Triton => TRITON_QUERIES,
            },
        ),
    };
    (line, format!("{queries}\n{UP_QUERIES}"))
}

/// The `[[metrics]]` entry of green's error rate: judged with the demo's
/// test beside its thresholds (`app::demo_error_rate_test`) when `evidence`,
/// by thresholds only otherwise. A preset's error rate is already a ratio
/// of counters. Without one, the entry gives the pods' ratio as a formula
/// in both cases rather than as a query of its own: the test counts the
/// requests and errors each colour served between two polls, which only a
/// formula's counters tell, and both cases read the same value.
pub fn error_rate(preset: Option<DemoPreset>, evidence: bool) -> String {
    let scrape = match preset {
        None => {
            "\nscrape = { numerator = 'http_requests_total{code=~\"5..\"}', denominator = \"http_requests_total\", unit = \"ratio\" }"
        }
        Some(_) => "",
    };
    let test = match evidence {
        true => {
            let t = crate::app::demo_error_rate_test();
            format!(
                "\n# Judged with evidence beside its thresholds (docs/statistics.md).\n\
                 test = {{ alpha = {}, min_effect = \"{}\" }}",
                t.alpha, t.min_effect
            )
        }
        false => "\n# Thresholds only: not judged with evidence.".into(),
    };
    format!("[[metrics]]\nid = \"error_rate\"{scrape}{test}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SourceKind};
    use crate::demo::Scenario;
    use crate::lab::{Binaries, Plan, StackPorts, stack_config};

    fn config(preset: Option<DemoPreset>) -> Config {
        config_with(preset, true)
    }

    fn config_with(preset: Option<DemoPreset>, evidence: bool) -> Config {
        let ports = StackPorts {
            prefix: "/tmp/cutover-stack-test".into(),
            front: 8001,
            prometheus: 8002,
            blue: vec!["127.0.0.1:8003".parse().unwrap()],
            green: vec!["127.0.0.1:8004".parse().unwrap()],
        };
        let bins = Binaries {
            nginx: "/usr/sbin/nginx".into(),
            prometheus: "/usr/bin/prometheus".into(),
        };
        let plan = Plan {
            scenario: Scenario::SlowFirstToken,
            preset,
            dwell: std::time::Duration::from_secs(2),
            journal: None,
            evidence,
        };
        crate::config::load_str(&stack_config(&ports, &bins, &plan).unwrap(), "t").unwrap()
    }

    fn rps(c: &Config) -> String {
        let SourceKind::Prometheus(p) = &c.source.kind else {
            panic!("the stack reads Prometheus")
        };
        p.queries.rps.clone().unwrap()
    }

    #[test]
    fn without_a_preset_the_queries_read_the_http_names() {
        let c = config(None);
        assert_eq!(c.source.preset, None);
        assert!(rps(&c).contains("http_requests_total{track=\"$color\"}"));
        // Today's three, p99 first.
        let specs = c.metric_specs().unwrap();
        assert_eq!((specs.len(), specs[0].id.as_str()), (3, "p99_ms"));
    }

    #[test]
    fn with_vllm_the_preset_and_the_apis_requests() {
        let c = config(Some(DemoPreset::Vllm));
        assert_eq!(c.source.preset.as_deref(), Some("vllm"));
        assert!(rps(&c).contains("handler=~\"/v1/.*\""));
        // The preset's metrics are its queries: none of today's three is
        // needed for the config to load.
        let SourceKind::Prometheus(p) = &c.source.kind else {
            panic!("the stack reads Prometheus")
        };
        assert_eq!((&p.queries.p99_ms, &p.queries.quality), (&None, &None));
        let specs = c.metric_specs().unwrap();
        assert!(crate::metricspec::find(&specs, "ttft_p95_ms").is_some());
    }

    /// The stack judges green's error rate with the demo's test, as a
    /// ratio of counters the test can count, whatever server the pods
    /// play; without evidence, with thresholds only, as before.
    #[test]
    fn the_error_rate_is_tested_with_evidence_unless_told_not_to() {
        let error_rate = |c: &Config| {
            let specs = c.metric_specs().unwrap();
            crate::metricspec::find(&specs, "error_rate")
                .unwrap()
                .clone()
        };
        let want = Some(crate::app::demo_error_rate_test());
        for preset in [None, Some(DemoPreset::Vllm), Some(DemoPreset::Triton)] {
            let e = error_rate(&config(preset));
            assert_eq!(e.test, want, "{preset:?}");
            assert!(e.testable(), "{preset:?}");
            assert!(e.absolute.is_some() && e.vs_blue.is_some(), "{preset:?}");
        }
        let thresholds = error_rate(&config_with(None, false));
        assert_eq!(thresholds.test, None);
        assert!(thresholds.testable() && thresholds.absolute.is_some());
        // Without a preset, today's query gives way to the same ratio as
        // counters, with or without the test.
        assert_eq!(thresholds.compute.query, None);
        assert!(thresholds.compute.tally_queries().is_some());
        assert_eq!(thresholds.compute, error_rate(&config(None)).compute);
    }
}
