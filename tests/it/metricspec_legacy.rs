//! Today's configs as metric specs: config.example.toml's `[guardrails.*]`
//! and `[source]` values become the same three metrics with the same
//! thresholds, series and units; the `http` preset means what today's
//! default Prometheus queries mean.

use crate::config_example::uncomment;
use cutover::config::{Config, MetricGuardrail, SourceKind, default_queries, load_str};
use cutover::metricspec::legacy;
use cutover::metricspec::{Formula, Levels, Margin, MetricSpec, Unit, preset};
use cutover::model::{Color, Metric};

const EXAMPLE: &str = include_str!("../../config.example.toml");

/// Today's `[guardrails.*]` table of `m`.
fn guardrail(c: &Config, m: Metric) -> &MetricGuardrail {
    match m {
        Metric::P99Ms => &c.guardrails.p99_ms,
        Metric::ErrorRate => &c.guardrails.error_rate,
        Metric::Quality => &c.guardrails.quality,
    }
}

/// Each spec carries its metric's levels from the config, unchanged.
fn assert_same_levels(specs: &[MetricSpec], c: &Config) {
    assert_eq!(specs.len(), 3);
    let labels = [
        ("p99 latency", true),
        ("error rate", true),
        ("quality", false),
    ];
    for ((spec, m), (label, worse_up)) in specs.iter().zip(Metric::ALL).zip(labels) {
        assert_eq!(spec.id, m.key());
        assert_eq!(spec.label, label);
        assert_eq!(spec.higher_is_worse(), worse_up, "{}", m.key());
        let g = guardrail(c, m);
        let absolute = g.absolute.map(|l| Levels {
            warn: l.warn,
            breach: l.breach,
        });
        let vs_blue = g.vs_blue.map(|l| Levels {
            warn: Margin::By(l.warn),
            breach: Margin::By(l.breach),
        });
        assert_eq!(spec.absolute, absolute, "{}", m.key());
        assert_eq!(spec.vs_blue, vs_blue, "{}", m.key());
        assert!(spec.judged() && spec.rollback);
    }
    assert_eq!(specs[0].min_requests, c.source.min_requests);
    assert_eq!(specs[1].min_requests, c.source.min_requests);
}

#[test]
fn the_examples_thresholds_map_to_the_same_specs() {
    let c = load_str(EXAMPLE, "config.example.toml").unwrap();
    let specs = legacy::from(&c.legacy());
    assert_same_levels(&specs, &c);
    // The example's numbers, as its comments state them.
    assert_eq!(
        specs[0].absolute,
        Some(Levels {
            warn: 3000.0,
            breach: 5000.0
        })
    );
    assert_eq!(specs[1].vs_blue.map(|l| l.breach), Some(Margin::By(2.0)));
    assert_eq!(specs[2].absolute.map(|l| l.breach), Some(0.70));
}

#[test]
fn the_examples_scrape_block_maps_series_and_units() {
    let text = uncomment(
        &EXAMPLE.replacen("\nkind = \"demo\"\n", "\nkind = \"scrape\"\n", 1),
        "[source.scrape]",
    );
    let c = load_str(&text, "scrape").unwrap_or_else(|e| panic!("{e}"));
    let specs = legacy::from(&c.legacy());
    assert_same_levels(&specs, &c);
    let Some(Formula::Quantile {
        histogram, q, unit, ..
    }) = &specs[0].compute.formula
    else {
        panic!("{:?}", specs[0].compute)
    };
    assert_eq!(
        (histogram.name.as_str(), *q, *unit),
        ("request_duration_seconds", 0.99, Unit::Seconds)
    );
    assert_eq!(specs[0].shown(0.25, *unit), 250.0);
    let Some(Formula::Ratio { numerator, .. }) = &specs[1].compute.formula else {
        panic!("{:?}", specs[1].compute)
    };
    assert_eq!(
        numerator[0].to_string(),
        "requests_total{code=~\"(?:5).*\"}"
    );
    assert!(matches!(
        &specs[2].compute.formula,
        Some(Formula::Gauge { gauge, .. }) if gauge.name == "model_quality_score"
    ));
}

#[test]
fn todays_default_queries_keep_their_units() {
    let mut c = load_str(EXAMPLE, "config.example.toml").unwrap();
    c.source.kind = SourceKind::Prometheus(cutover::config::PrometheusConfig::new("http://p:9090"));
    let specs = legacy::from(&c.legacy());
    let (p99, unit) = specs[0].compute.prometheus(Color::Green).unwrap();
    assert_eq!(
        (p99.as_str(), unit),
        (default_queries::P99_MS, Unit::Millis)
    );
    let (errors, unit) = specs[1].compute.prometheus(Color::Green).unwrap();
    assert_eq!(
        (errors.as_str(), unit),
        (default_queries::ERROR_RATE, Unit::Percent)
    );
}

/// The `http` preset renders the default queries' series (without their
/// `1000 *` and `100 *`: it declares seconds and a ratio instead).
#[test]
fn the_http_preset_means_todays_default_queries() {
    let specs = preset::specs("http", 20).unwrap();
    let c = load_str(EXAMPLE, "config.example.toml").unwrap();
    assert_same_levels(&specs, &c);
    let query = |i: usize| specs[i].compute.prometheus(Color::Blue).unwrap();
    let (p99, unit) = query(0);
    assert_eq!(format!("1000 * {p99}"), default_queries::P99_MS);
    assert_eq!(unit.factor_to(Unit::Millis), Ok(1000.0));
    let (errors, unit) = query(1);
    let default = default_queries::ERROR_RATE.replace(
        "{track=\"$color\",code=~\"5..\"}",
        "{code=~\"5..\",track=\"$color\"}",
    );
    // The preset counts a colour with no 5xx series yet as no errors (the
    // scrape source's reading), where today's query finds no data.
    let errors = errors
        .replacen("(sum(", "sum(", 1)
        .replacen(" or vector(0))", "", 1);
    assert_eq!(format!("100 * {errors}"), default);
    assert_eq!(unit.factor_to(Unit::Percent), Ok(100.0));
    assert_eq!(query(2).0, default_queries::QUALITY);
}
