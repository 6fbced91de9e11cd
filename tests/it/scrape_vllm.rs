//! The scrape source on vLLM's page: `assets/fixtures/vllm.prom` (written
//! by `VllmPage::fixture()`, several hundred series with `vllm:` names)
//! parses without a loss, and its time-to-first-token histogram gives the
//! quantiles worked out by hand.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cutover::config::ScrapeConfig;
use cutover::metrics::scrape::vllm::VllmPage;
use cutover::metrics::scrape::{Bucket, Quantile, ScrapeSource, Value, parse, quantile};
use cutover::model::{Metric, NoData, Reading, Snapshot};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fixtures/vllm.prom");

fn fixture() -> String {
    std::fs::read_to_string(FIXTURE).unwrap()
}

/// A scrape config reading vLLM's names.
pub fn vllm_config(blue: Vec<String>, green: Vec<String>) -> ScrapeConfig {
    VllmPage::legacy_names(ScrapeConfig::new(blue, green))
}

#[test]
fn the_fixture_is_the_generators_page() {
    let page = VllmPage::fixture().render();
    if std::env::var_os("CUTOVER_WRITE_FIXTURES").is_some() {
        std::fs::write(FIXTURE, &page).unwrap();
    }
    assert!(
        fixture() == page,
        "{FIXTURE} differs from VllmPage::fixture().render(); rewrite it with \
         CUTOVER_WRITE_FIXTURES=1 cargo test --test it -- scrape_vllm::the_fixture_is"
    );
}

#[test]
fn the_fixture_parses_completely() {
    let body = fixture();
    let series = body
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    assert!(series >= 500, "{series} series");
    let p = parse("vllm", &body).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!((p.lines, p.returned), (series, series), "every series read");
    let names: BTreeSet<&str> = p.samples.iter().map(|s| s.metric.as_str()).collect();
    for want in [
        "vllm:time_to_first_token_seconds",
        "vllm:inter_token_latency_seconds",
        "vllm:time_per_output_token_seconds",
        "vllm:e2e_request_latency_seconds",
        "vllm:e2e_request_latency_seconds_count",
        "vllm:e2e_request_latency_seconds_sum",
        "vllm:request_queue_time_seconds",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "vllm:request_success_total",
        "http_requests_total",
        "python_gc_objects_collected_total",
        "process_resident_memory_bytes",
    ] {
        assert!(names.contains(want), "{want} missing");
    }
    let stops = p.samples.iter().filter(|s| {
        s.metric == "vllm:request_success_total"
            && s.labels.get("finished_reason") == Some("stop")
            && s.labels.get("model_name") == Some("meta-llama/Llama-3.1-8B-Instruct")
    });
    assert_eq!(stops.count(), 2, "one per engine");
}

#[test]
fn time_to_first_token_quantiles_read_right() {
    let p = parse("vllm", &fixture()).unwrap();
    let buckets: Vec<Bucket> = p
        .samples
        .iter()
        .filter(|s| s.metric == "vllm:time_to_first_token_seconds")
        .flat_map(|s| match &s.value {
            Value::Histogram(h) => h
                .iter()
                .map(|c| Bucket::new(c.less_than, c.count))
                .collect::<Vec<_>>(),
            other => panic!("not a histogram: {other:?}"),
        })
        .collect();
    // Two engines, each 600 requests at 0.07 s (le 0.08), 300 at 0.2 s
    // (le 0.25) and 100 at 0.9 s (le 1): 2,000 in all. p50 is rank 1,000
    // in (0.06, 0.08] of 1,200; p95 rank 1,900 and p99 rank 1,980 in
    // (0.75, 1] of 200, above 1,800.
    assert_eq!(buckets.len(), 2 * 23);
    let q = |x| match quantile(x, &buckets) {
        Quantile::Value(v) => v,
        other => panic!("{other:?}"),
    };
    assert!((q(0.5) - (0.06 + 0.02 * 1000.0 / 1200.0)).abs() < 1e-12);
    assert!((q(0.95) - 0.875).abs() < 1e-12);
    assert!((q(0.99) - 0.975).abs() < 1e-12);
}

/// The fixture's page to both colours, then 10 s later the page with
/// twice the requests and errors: the second poll's snapshot.
fn two_polls(src: &mut ScrapeSource) -> Snapshot {
    let first = VllmPage::fixture();
    let mut second = first.clone();
    second.requests *= 2;
    second.errors *= 2;
    let t0 = Instant::now();
    src.ingest(&[Ok(first.render())], &[Ok(first.render())], t0);
    src.ingest(
        &[Ok(second.render())],
        &[Ok(second.render())],
        t0 + Duration::from_secs(10),
    )
}

#[test]
fn the_scrape_source_judges_vllm_pages() {
    let urls = |c: &str| vec![format!("http://{c}.invalid/metrics")];
    let cfg = vllm_config(urls("blue"), urls("green"));
    let mut src =
        ScrapeSource::legacy(&cfg, Duration::from_secs(2), Duration::from_secs(30)).unwrap();
    let snap = two_polls(&mut src);
    for c in [&snap.blue, &snap.green] {
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // The delta has the fixture's shape: p99 0.975 s.
        assert_eq!(c.get(Metric::P99Ms), &Reading::Value(975.0));
        // 40 of 2,100 generation requests (chat 2,000, completions 100).
        let Reading::Value(e) = c.get(Metric::ErrorRate) else {
            panic!("{:?}", c.get(Metric::ErrorRate))
        };
        assert!((e - 40.0 / 2100.0 * 100.0).abs() < 1e-9, "{e}");
        assert_eq!(c.get(Metric::Quality), &Reading::Value(0.42));
    }
}

/// A source over one target per colour computing `specs`.
fn source(specs: &[cutover::metricspec::MetricSpec]) -> ScrapeSource {
    let urls = |c: &str| vec![format!("http://{c}.invalid/metrics")];
    let cfg = ScrapeConfig::new(urls("blue"), urls("green"));
    ScrapeSource::new(&cfg, specs, Duration::from_secs(2), Duration::from_secs(30)).unwrap()
}

/// The vLLM preset, and a cost from its token counters, over two polls of
/// the fixture (the second with twice the requests): every metric has a
/// value, each in its own unit.
#[test]
fn every_vllm_preset_metric_has_a_value() {
    use cutover::metricspec::cost::CostConfig;
    use cutover::metricspec::preset;
    let mut specs = preset::specs("vllm", 20).unwrap();
    let cost = CostConfig {
        prompt_per_mtok: Some(0.5),
        completion_per_mtok: Some(1.5),
        ..CostConfig::default()
    };
    specs.push(cost.spec(&preset::cost_series(Some("vllm")), 20).unwrap());
    let mut src = source(&specs);
    let snap = two_polls(&mut src);
    assert_eq!(snap.blue.metrics.len(), specs.len());
    for c in [&snap.blue, &snap.green] {
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let v = |id: &str| {
            let at = specs.iter().position(|s| s.id == id).unwrap();
            match &c.metrics[at] {
                Reading::Value(v) => *v,
                other => panic!("{id}: {other:?}"),
            }
        };
        for s in &specs {
            v(&s.id);
        }
        // The fixture's shape: TTFT p95 0.875 s, in ms.
        assert!((v("ttft_p95_ms") - 875.0).abs() < 1e-9);
        // 40 of 2,100 API requests, in %.
        assert!((v("error_rate") - 40.0 / 2100.0 * 100.0).abs() < 1e-9);
        // Two engines of 1,000 requests of 180 tokens in 10 s.
        assert!((v("generation_tokens_per_s") - 36_000.0).abs() < 1e-9);
        assert_eq!(v("requests_waiting"), 3.0);
        assert!((v("kv_cache_usage") - 42.0).abs() < 1e-9);
        // Per request: 350 prompt tokens at $0.5/M, 180 at $1.5/M.
        let per_1k = (350.0 * 0.5 + 180.0 * 1.5) / 1e6 * 1000.0;
        assert!(
            (v("cost_per_1k") - per_1k).abs() < 1e-9,
            "{}",
            v("cost_per_1k")
        );
        assert_eq!(c.rps, Some(210.0));
    }
}

/// Metrics that read nothing from a scrape (a PromQL query of their own)
/// are not configured here, and a page without their series still counts
/// as up: there is nothing it should have held.
#[test]
fn metrics_without_a_formula_are_not_configured() {
    let mut specs = cutover::metricspec::preset::specs("http", 0).unwrap();
    for s in &mut specs {
        s.compute.formula = None;
    }
    let mut src = source(&specs);
    let page = || [Ok("other_total 1\n".to_string())];
    let snap = src.ingest(&page(), &page(), Instant::now());
    for c in [&snap.blue, &snap.green] {
        assert!(c.up);
        assert_eq!(c.metrics, vec![Reading::NoData(NoData::NotConfigured); 3]);
        assert_eq!(c.rps, None);
    }
}
