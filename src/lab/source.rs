//! What the stack's config says of its metrics, by the model server its
//! pods play: the HTTP names read by today's queries, or a preset whose
//! formulas the Prometheus source writes as PromQL (`track="$color"`, the
//! label the stack's Prometheus gives each pod). Pure.

use crate::demo::DemoPreset;
use crate::stats::{MinEffect, TestConfig};

/// The pods' own series (src/demo/stats.rs), as each pod served them.
const HTTP_QUERIES: &str = r#"# The pods' own series (src/demo/stats.rs), as each pod served them.
# p99_ms and error_rate: a histogram and a ratio of counters, in [[metrics]] below.
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

/// The test on green's p99 latency beside the error rate's, in the
/// stack's evidence variant. The count test judges a quantile by the share
/// of requests slower than a bound: the histogram's edge at or above
/// blue's p99, fixed when green first gets traffic. The effect is in
/// points of that share: +1 pt is one more request in a hundred over the
/// bound, a tail a user notices. Not relative: with coarse buckets blue's
/// share over the edge is anywhere under 1 % (about 0.25 % on the stack,
/// whose p99 of about 300 ms lies under the 500 ms edge), so "+100 %" would
/// mean a different tail on every histogram. The same α as the error
/// rate's: the engine splits it over both (Bonferroni).
pub fn p99_test() -> TestConfig {
    TestConfig {
        alpha: crate::app::demo_error_rate_test().alpha,
        min_effect: MinEffect::Points(1.0),
    }
}

/// The p99 latency's `[[metrics]]` head (its id, and the scrape formula
/// where no preset gives one) where the pods serve the HTTP names, as the
/// benchmark's stack does. A model server's preset keeps its own latency
/// metrics as they are: its scenarios (a slower first token on vLLM) are
/// shown by those, and an end-to-end p99 tested beside them could decide
/// first and hide what the scenario is there to show.
fn p99(preset: Option<DemoPreset>) -> Option<&'static str> {
    match preset {
        None => Some(
            "[[metrics]]\nid = \"p99_ms\"\nscrape = { histogram = \"http_request_duration_seconds\", q = 0.99, unit = \"s\" }",
        ),
        Some(DemoPreset::Http) => Some("[[metrics]]\nid = \"p99_ms\""),
        Some(DemoPreset::Vllm | DemoPreset::Tgi | DemoPreset::Triton) => None,
    }
}

/// `test = { ... }` with why, or why not.
fn test_line(test: Option<TestConfig>, why: &str) -> String {
    match test {
        Some(t) => format!(
            "\n# {why}\ntest = {{ alpha = {}, min_effect = \"{}\" }}",
            t.alpha, t.min_effect
        ),
        None => "\n# Thresholds only: not judged with evidence.".into(),
    }
}

/// The `[[metrics]]` entries of green's error rate and, where the pods
/// serve the HTTP names, its p99 latency: judged
/// with tests beside their thresholds when `evidence` (the error rate with
/// the demo's, `app::demo_error_rate_test`; the p99 with [`p99_test`]), by
/// thresholds only otherwise. A preset's are already formulas over
/// counters. Without one, the entries give the pods' histogram and ratio
/// as formulas in both cases rather than as queries of their own: the
/// tests count the requests, errors and slow requests each colour served
/// between two polls, which only a formula's counters tell, and both cases
/// read the same values.
pub fn judged(preset: Option<DemoPreset>, evidence: bool) -> String {
    let scrape = match preset {
        None => {
            "\nscrape = { numerator = 'http_requests_total{code=~\"5..\"}', denominator = \"http_requests_total\", unit = \"ratio\" }"
        }
        Some(_) => "",
    };
    let errors = test_line(
        evidence.then(crate::app::demo_error_rate_test),
        "Judged with evidence beside its thresholds (docs/statistics.md).",
    );
    let mut out = format!("[[metrics]]\nid = \"error_rate\"{scrape}{errors}");
    if let Some(head) = p99(preset) {
        let test = test_line(
            evidence.then(p99_test),
            "Judged by the share of requests over the bucket edge at blue's p99\n\
             # (docs/statistics.md); +1 pt: one more request in a hundred.",
        );
        out = format!("{head}{test}\n\n{out}");
    }
    out
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

    fn spec(c: &Config, id: &str) -> crate::metricspec::MetricSpec {
        let specs = c.metric_specs().unwrap();
        crate::metricspec::find(&specs, id).unwrap().clone()
    }

    /// The stack judges green's error rate with the demo's test, as a
    /// ratio of counters the test can count, whatever server the pods
    /// play; without evidence, with thresholds only, as before.
    #[test]
    fn the_error_rate_is_tested_with_evidence_unless_told_not_to() {
        let want = Some(crate::app::demo_error_rate_test());
        for preset in [None, Some(DemoPreset::Vllm), Some(DemoPreset::Triton)] {
            let e = spec(&config(preset), "error_rate");
            assert_eq!(e.test, want, "{preset:?}");
            assert!(e.testable(), "{preset:?}");
            assert!(e.absolute.is_some() && e.vs_blue.is_some(), "{preset:?}");
        }
        let thresholds = spec(&config_with(None, false), "error_rate");
        assert_eq!(thresholds.test, None);
        assert!(thresholds.testable() && thresholds.absolute.is_some());
        // Without a preset, today's query gives way to the same ratio as
        // counters, with or without the test.
        assert_eq!(thresholds.compute.query, None);
        assert!(thresholds.compute.tally_queries().is_some());
        assert_eq!(
            thresholds.compute,
            spec(&config(None), "error_rate").compute
        );
    }

    /// The p99 latency is tested too where the pods serve the HTTP names,
    /// as a histogram whose slow requests the count test counts;
    /// thresholds only without evidence, on the same histogram. A model
    /// server's preset tests its error rate only.
    #[test]
    fn the_p99_is_tested_as_a_histogram_with_evidence() {
        for preset in [None, Some(DemoPreset::Http)] {
            let p = spec(&config(preset), "p99_ms");
            assert_eq!(p.test, Some(p99_test()), "{preset:?}");
            assert!(
                matches!(
                    p.compute.formula,
                    Some(crate::metricspec::Formula::Quantile { .. })
                ),
                "{preset:?}"
            );
            assert!(p.testable() && p.compute.tally_queries().is_some());
            assert!(p.vs_blue.is_some() && p.absolute.is_some(), "{preset:?}");
        }
        let thresholds = spec(&config_with(None, false), "p99_ms");
        assert_eq!(thresholds.test, None);
        assert_eq!(thresholds.compute, spec(&config(None), "p99_ms").compute);
        for preset in [DemoPreset::Vllm, DemoPreset::Tgi, DemoPreset::Triton] {
            let specs = config(Some(preset)).metric_specs().unwrap();
            let tested: Vec<_> = specs.iter().filter(|s| s.test.is_some()).collect();
            assert_eq!(tested.len(), 1, "{preset:?}");
            assert_eq!(tested[0].id, "error_rate", "{preset:?}");
        }
    }
}
