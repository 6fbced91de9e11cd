//! `[[metrics]]`, `[cost]` and presets read from TOML text, as a user
//! writes them: overrides, extensions, and every error with key and line.

use super::compute::Formula;
use super::legacy::{self, tests::example};
use super::load::{Located, from_toml};
use super::threshold::Margin;
use super::unit::Unit;
use super::{Levels, MetricSpec, find};

fn specs(text: &str) -> Vec<MetricSpec> {
    from_toml(text, &example()).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> Located {
    from_toml(text, &example()).expect_err("should be refused")
}

#[test]
fn without_metrics_the_default_is_todays_three() {
    let text = "[service]\nname = \"x\"\n[source]\nkind = \"demo\"\n";
    assert_eq!(specs(text), legacy::from(&example()));
}

#[test]
fn entries_override_a_preset_by_id_and_extend_it_in_order() {
    let s = specs(
        r#"
[source]
preset = "vllm"

[[metrics]]
id = "ttft_p95_ms"
absolute = { warn = "1s", breach = "3s" }

[[metrics]]
id = "schema_failures"
label = "JSON schema failures"
unit = "%"
better = "lower"
scrape = { numerator = "schema_validation_failures_total", denominator = "vllm:request_success_total", unit = "ratio" }
vs_blue = { breach = "+1pt" }
"#,
    );
    let ttft = find(&s, "ttft_p95_ms").unwrap();
    assert_eq!(
        ttft.absolute,
        Some(Levels {
            warn: 1000.0,
            breach: 3000.0
        })
    );
    // What the entry leaves out stays the preset's.
    assert_eq!(ttft.vs_blue.map(|l| l.breach), Some(Margin::Relative(0.5)));
    assert!(matches!(
        ttft.compute.formula,
        Some(Formula::Quantile { .. })
    ));
    assert_eq!(s.first().map(|m| m.id.as_str()), Some("ttft_p95_ms"));
    let last = s.last().unwrap();
    assert_eq!(last.id, "schema_failures");
    assert_eq!(
        last.vs_blue.map(|l| (l.warn, l.breach)),
        Some((Margin::By(1.0), Margin::By(1.0)))
    );
    assert_eq!(
        last.min_requests, 20,
        "a ratio of requests takes [source] min_requests"
    );
    assert!(last.judged() && last.rollback);
}

#[test]
fn an_entry_over_todays_three_changes_only_what_it_writes() {
    let s = specs(
        r#"
[[metrics]]
id = "p99_ms"
unit = "s"
guard = false

[[metrics]]
id = "quality"
rollback = false
"#,
    );
    // The levels follow the unit: 5000 ms is 5 s.
    assert_eq!(
        s[0].absolute,
        Some(Levels {
            warn: 3.0,
            breach: 5.0
        })
    );
    assert_eq!(s[0].vs_blue.map(|l| l.warn), Some(Margin::By(0.2)));
    assert!(!s[0].judged());
    assert!(s[2].judged() && !s[2].rollback);
    assert_eq!(s[1], legacy::from(&example())[1]);
}

#[test]
fn a_prometheus_query_in_seconds_is_converted() {
    let s = specs(
        r#"
[[metrics]]
id = "p95_ms"
unit = "ms"
better = "lower"
prometheus = { query = 'histogram_quantile(0.95, sum by (le) (rate(lat_bucket{track="$color"}[$window])))', unit = "s" }
absolute = { warn = "2s", breach = "10s" }
"#,
    );
    let m = find(&s, "p95_ms").unwrap();
    let (q, unit) = m.compute.prometheus(crate::model::Color::Blue).unwrap();
    assert!(q.starts_with("histogram_quantile(0.95"));
    assert_eq!(m.shown(10.2, unit), 10200.0);
    assert_eq!(m.absolute.map(|l| l.breach), Some(10_000.0));
    assert_eq!(m.compute.formula, None);
}

#[test]
fn cost_becomes_the_last_metric() {
    let s = specs(
        "[source]\npreset = \"vllm\"\n[cost]\nprompt_per_mtok = 0.5\ncompletion_per_mtok = 1.5\nvs_blue = { breach = \"+30%\" }\n",
    );
    let c = s.last().unwrap();
    assert_eq!((c.id.as_str(), c.unit), (super::cost::ID, Unit::Dollars));
    assert_eq!(c.vs_blue.map(|l| l.breach), Some(Margin::Relative(0.3)));
}

#[test]
fn an_unknown_key_is_named_with_a_suggestion_and_its_line() {
    let e = error("[[metrics]]\nid = \"x\"\nlable = \"X\"\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(
        e.message
            .contains("`lable` is unknown; did you mean `label`?"),
        "{e}"
    );
    let e = error("\n[[metrics]]\nid = \"x\"\nscrape = { histogram = \"h\", qq = 0.9 }\n");
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("did you mean `q`?"), "{e}");
    assert_eq!(e.key.as_deref(), Some("metrics[0].scrape.qq"), "{e}");
    let e = error("[cost]\nprompt_per_mtk = 1.0\n");
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("did you mean `prompt_per_mtok`?"), "{e}");
}

#[test]
fn bad_values_are_refused_where_they_are_written() {
    let e = error("[[metrics]]\nid = \"x\"\nunit = \"msec\"\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(3), Some("metrics[0].unit")),
        "{e}"
    );
    assert!(e.message.contains("did you mean `ms`?"), "{e}");
    let e = error("[[metrics]]\nid = \"p99_ms\"\nabsolute = { breach = \"5 parsecs\" }\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("is not a threshold"), "{e}");
    let e = error("[[metrics]]\nid = \"x\"\nscrape = { histogram = 'h{a=b}', q = 0.9 }\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("must be quoted"), "{e}");
}

/// Resolution errors: `(key, line, words)`.
#[test]
fn resolution_errors_name_the_key_and_line() {
    let cases = [
        // A threshold in another unit than the metric's.
        (
            "[[metrics]]\nid = \"p99_ms\"\nabsolute = { warn = \"1s\", breach = \"5%\" }\n",
            "metrics[0].absolute.breach",
            3,
            "is in `%`, but the metric is measured in `ms`",
        ),
        (
            "[[metrics]]\nid = \"new\"\nbetter = \"lower\"\n",
            "metrics[0].unit",
            1,
            "is new and needs `unit`",
        ),
        (
            "[[metrics]]\nid = \"new\"\nunit = \"ms\"\nbetter = \"lower\"\n",
            "metrics[0]",
            1,
            "says neither how to scrape it",
        ),
        (
            "[[metrics]]\nid = \"Bad-Id\"\n",
            "metrics[0].id",
            2,
            "is not an id",
        ),
        (
            "[[metrics]]\nid = \"a\"\nunit = \"ms\"\nbetter = \"lower\"\nscrape = { histogram = \"h\", q = 1.5 }\n",
            "metrics[0].scrape.q",
            5,
            "is not a quantile",
        ),
        (
            "[[metrics]]\nid = \"a\"\nunit = \"%\"\nbetter = \"lower\"\nscrape = { numerator = \"e\" }\n",
            "metrics[0].scrape.denominator",
            5,
            "needs `denominator` too",
        ),
        (
            "[[metrics]]\nid = \"a\"\nunit = \"ms\"\nbetter = \"lower\"\nscrape = { counter = \"c\", gauge = \"g\" }\n",
            "metrics[0].scrape",
            5,
            "give exactly one of",
        ),
        (
            "[[metrics]]\nid = \"a\"\nunit = \"ms\"\nbetter = \"lower\"\nscrape = { gauge = \"g\", unit = \"%\" }\n",
            "metrics[0].unit",
            3,
            "cannot be shown in `ms`",
        ),
        (
            "[[metrics]]\nid = \"a\"\nunit = \"ratio\"\nbetter = \"lower\"\nscrape = { gauge = \"g\" }\n",
            "metrics[0].unit",
            3,
            "show the metric in `%`",
        ),
        (
            "[[metrics]]\nid = \"a\"\nunit = \"ms\"\nbetter = \"lower\"\nprometheus = { query = \"up\" }\n",
            "metrics[0].prometheus.query",
            5,
            "has no `$color`",
        ),
        (
            "[[metrics]]\nid = \"p99_ms\"\nabsolute = { warn = \"6s\", breach = \"5s\" }\n",
            "metrics[0].absolute.warn",
            3,
            "must not exceed breach",
        ),
        (
            "[[metrics]]\nid = \"quality\"\nabsolute = { warn = 0.6, breach = 0.7 }\n",
            "metrics[0].absolute.warn",
            3,
            "at or above breach",
        ),
        (
            "[[metrics]]\nid = \"p99_ms\"\nvs_blue = { warn = \"+50%\", breach = \"+30%\" }\n",
            "metrics[0].vs_blue.warn",
            3,
            "must not exceed breach",
        ),
        (
            "[[metrics]]\nid = \"p99_ms\"\n[[metrics]]\nid = \"p99_ms\"\n",
            "metrics[1].id",
            4,
            "already the id of metrics[0]",
        ),
        (
            "[source]\npreset = \"vlm\"\n",
            "source.preset",
            2,
            "did you mean `vllm`?",
        ),
        (
            "[cost]\nper_replica_hour = 2.0\n",
            "cost.replicas",
            1,
            "needs `replicas",
        ),
        (
            "[[metrics]]\nid = \"error_rate\"\nabsolute = { breach = 150 }\n",
            "metrics[0].absolute.breach",
            3,
            "not a percentage",
        ),
    ];
    for (text, key, line, words) in cases {
        let e = error(text);
        assert_eq!(e.key.as_deref(), Some(key), "{text}\n{e}");
        assert_eq!(e.line, Some(line), "{text}\n{e}");
        assert!(e.message.contains(words), "{text}\n{e}");
    }
}

/// Every TOML example in the draft docs reads as it says.
#[test]
fn the_docs_examples_parse() {
    let doc = include_str!("../../docs/metrics.md");
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(blocks.len() >= 3, "{}", blocks.len());
    for b in blocks {
        from_toml(b, &example()).unwrap_or_else(|e| panic!("{e}\n{b}"));
    }
}
