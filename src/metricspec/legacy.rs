//! Today's three metrics (`p99_ms`, `error_rate`, `quality`) as specs,
//! from the values of today's `[guardrails.*]` and `[source]` keys, so a
//! config without `[[metrics]]` means exactly what it meant. The config
//! layer fills [`Legacy`] from its own types (this module sits below it).

use super::compute::{Aggregate, Compute, Formula, Query};
use super::selector::{Matcher, Op, Selector};
use super::threshold::Margin;
use super::unit::Unit;
use super::{Better, Levels, MetricSpec};
use crate::stats::TestConfig;

/// Where today's three come from, as `[source]` says.
#[derive(Debug, Clone, PartialEq)]
pub enum LegacySource {
    /// `[source.scrape]`'s series names.
    Scrape {
        latency_histogram: String,
        /// `latency_unit = "milliseconds"`; else seconds.
        latency_in_ms: bool,
        requests_counter: String,
        status_label: String,
        error_status_prefixes: Vec<String>,
        quality_gauge: Option<String>,
    },
    /// `[source.prometheus.queries]`: p99 in ms, error rate in %, quality
    /// as is; a query left out is not measured.
    Prometheus {
        p99_ms: Option<String>,
        error_rate: Option<String>,
        quality: Option<String>,
    },
    /// The demo fleet, which serves the `http` preset's common names.
    Demo,
    /// A source whose metrics all come from a preset or `[[metrics]]`
    /// (CloudWatch): today's three name nothing it reads.
    Unnamed,
}

/// Warn and breach of `absolute` and `vs_blue`, as today's `Levels`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LegacyGuardrail {
    pub absolute: Option<(f64, f64)>,
    pub vs_blue: Option<(f64, f64)>,
    /// `test = { alpha, min_effect }`.
    pub test: Option<TestConfig>,
}

/// The values of today's keys that the three metrics depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct Legacy {
    pub source: LegacySource,
    pub p99_ms: LegacyGuardrail,
    pub error_rate: LegacyGuardrail,
    pub quality: LegacyGuardrail,
    /// `[source] min_requests`: p99 and error rate only, as today.
    pub min_requests: u64,
}

/// Today's three, in today's order, with today's ids, labels and units.
pub fn from(l: &Legacy) -> Vec<MetricSpec> {
    let (p99, errors, quality) = computes(&l.source);
    vec![
        spec(
            "p99_ms",
            "p99 latency",
            Unit::Millis,
            Better::Lower,
            p99,
            &l.p99_ms,
            l.min_requests,
        ),
        spec(
            "error_rate",
            "error rate",
            Unit::Percent,
            Better::Lower,
            errors,
            &l.error_rate,
            l.min_requests,
        ),
        spec(
            "quality",
            "quality",
            Unit::None,
            Better::Higher,
            quality,
            &l.quality,
            0,
        ),
    ]
}

fn spec(
    id: &str,
    label: &str,
    unit: Unit,
    better: Better,
    compute: Compute,
    g: &LegacyGuardrail,
    min_requests: u64,
) -> MetricSpec {
    MetricSpec {
        id: id.into(),
        label: label.into(),
        unit,
        better,
        compute,
        absolute: g.absolute.map(|(warn, breach)| Levels { warn, breach }),
        vs_blue: g.vs_blue.map(|(warn, breach)| Levels {
            warn: Margin::By(warn),
            breach: Margin::By(breach),
        }),
        min_requests,
        guard: true,
        rollback: true,
        test: g.test,
    }
}

fn computes(source: &LegacySource) -> (Compute, Compute, Compute) {
    let formula = |f: Option<Formula>| Compute {
        formula: f,
        query: None,
        cloudwatch: None,
    };
    let query = |q: &Option<String>, unit: Unit| Compute {
        formula: None,
        query: q.clone().map(|template| Query { template, unit }),
        cloudwatch: None,
    };
    match source {
        LegacySource::Scrape {
            latency_histogram,
            latency_in_ms,
            requests_counter,
            status_label,
            error_status_prefixes,
            quality_gauge,
        } => {
            let (p99, errors, quality) = scrape_formulas(
                latency_histogram,
                *latency_in_ms,
                requests_counter,
                status_label,
                error_status_prefixes,
                quality_gauge.as_deref(),
            );
            (formula(Some(p99)), formula(Some(errors)), formula(quality))
        }
        LegacySource::Prometheus {
            p99_ms,
            error_rate,
            quality,
        } => (
            query(p99_ms, Unit::Millis),
            query(error_rate, Unit::Percent),
            query(quality, Unit::None),
        ),
        LegacySource::Demo => {
            let (p99, errors, quality) = scrape_formulas(
                "http_request_duration_seconds",
                false,
                "http_requests_total",
                "code",
                &["5".to_string()],
                Some("model_quality_score"),
            );
            (formula(Some(p99)), formula(Some(errors)), formula(quality))
        }
        LegacySource::Unnamed => Default::default(),
    }
}

/// The scrape source's three, as it computes them today: p99 of the
/// histogram, errors (status starting with a prefix) over requests, the
/// quality gauge's mean weighted by each pod's requests.
fn scrape_formulas(
    histogram: &str,
    in_ms: bool,
    requests: &str,
    status_label: &str,
    prefixes: &[String],
    quality: Option<&str>,
) -> (Formula, Formula, Option<Formula>) {
    let p99 = Formula::Quantile {
        histogram: Selector::named(histogram),
        q: 0.99,
        unit: if in_ms { Unit::Millis } else { Unit::Seconds },
    };
    // "Starts with one of the prefixes" as an anchored regex.
    let alternatives: Vec<String> = prefixes.iter().map(|p| regex::escape(p)).collect();
    let errors_of = Selector {
        name: requests.to_string(),
        matchers: vec![
            Matcher::new(
                status_label,
                Op::Re,
                &format!("(?:{}).*", alternatives.join("|")),
            )
            .expect("escaped prefixes form a valid regex"),
        ],
    };
    let errors = Formula::Ratio {
        numerator: vec![errors_of],
        denominator: vec![Selector::named(requests)],
        complement: false,
        unit: Unit::Ratio,
    };
    let quality = quality.map(|g| Formula::Gauge {
        gauge: Selector::named(g),
        aggregate: Aggregate::Mean,
        weight: Some(Selector::named(requests)),
        unit: Unit::None,
    });
    (p99, errors, quality)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Today's defaults (`GuardrailsConfig::default()`), over a scrape
    /// with today's default series names.
    pub fn example() -> Legacy {
        Legacy {
            source: LegacySource::Scrape {
                latency_histogram: "request_duration_seconds".into(),
                latency_in_ms: false,
                requests_counter: "requests_total".into(),
                status_label: "code".into(),
                error_status_prefixes: vec!["5".into()],
                quality_gauge: Some("model_quality_score".into()),
            },
            p99_ms: LegacyGuardrail {
                absolute: Some((3000.0, 5000.0)),
                vs_blue: Some((200.0, 1000.0)),
                test: None,
            },
            error_rate: LegacyGuardrail {
                absolute: Some((1.0, 5.0)),
                vs_blue: Some((0.5, 2.0)),
                test: None,
            },
            quality: LegacyGuardrail {
                absolute: Some((0.75, 0.70)),
                vs_blue: Some((0.02, 0.05)),
                test: None,
            },
            min_requests: 20,
        }
    }

    fn labels<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |k| pairs.iter().find(|(l, _)| *l == k).map(|(_, v)| *v)
    }

    #[test]
    fn the_three_keep_their_ids_units_and_levels() {
        let s = from(&example());
        let ids: Vec<&str> = s.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["p99_ms", "error_rate", "quality"]);
        assert_eq!(s[0].unit, Unit::Millis);
        assert_eq!(s[1].unit, Unit::Percent);
        assert_eq!(s[2].better, Better::Higher);
        assert_eq!(
            s[0].absolute,
            Some(Levels {
                warn: 3000.0,
                breach: 5000.0
            })
        );
        assert_eq!(
            s[1].vs_blue_allowed(3.0),
            Some(Levels {
                warn: 0.5,
                breach: 2.0
            })
        );
        assert_eq!(
            s[2].vs_blue_allowed(0.9),
            Some(Levels {
                warn: 0.02,
                breach: 0.05
            })
        );
        assert_eq!(
            (s[0].min_requests, s[1].min_requests, s[2].min_requests),
            (20, 20, 0)
        );
        assert!(s.iter().all(|m| m.judged() && m.rollback));
    }

    #[test]
    fn the_scrape_histogram_is_read_in_its_unit_and_shown_in_ms() {
        let s = from(&example());
        let Some(Formula::Quantile { q, unit, histogram }) = &s[0].compute.formula else {
            panic!("{:?}", s[0].compute);
        };
        assert_eq!(
            (*q, *unit, histogram.name.as_str()),
            (0.99, Unit::Seconds, "request_duration_seconds")
        );
        assert_eq!(s[0].shown(0.412, *unit), 412.0);
        let mut ms = example();
        if let LegacySource::Scrape { latency_in_ms, .. } = &mut ms.source {
            *latency_in_ms = true;
        }
        assert_eq!(
            from(&ms)[0].compute.formula.as_ref().map(Formula::unit),
            Some(Unit::Millis)
        );
    }

    #[test]
    fn errors_are_statuses_starting_with_a_prefix_shown_as_percent() {
        let mut l = example();
        if let LegacySource::Scrape {
            error_status_prefixes,
            ..
        } = &mut l.source
        {
            *error_status_prefixes = vec!["5".into(), "429".into(), "a.b".into()];
        }
        let s = from(&l);
        let Some(Formula::Ratio {
            numerator, unit, ..
        }) = &s[1].compute.formula
        else {
            panic!();
        };
        let n = &numerator[0];
        for (code, yes) in [
            ("503", true),
            ("5", true),
            ("429", true),
            ("404", false),
            ("axb", false),
            ("a.b", true),
        ] {
            assert_eq!(
                n.matches("requests_total", labels(&[("code", code)])),
                yes,
                "{code}"
            );
        }
        assert_eq!(s[1].shown(0.27, *unit).round(), 27.0);
    }

    #[test]
    fn quality_is_weighted_by_requests_and_absent_when_not_configured() {
        let s = from(&example());
        assert!(matches!(
            &s[2].compute.formula,
            Some(Formula::Gauge { aggregate: Aggregate::Mean, weight: Some(w), .. }) if w.name == "requests_total"
        ));
        let mut l = example();
        if let LegacySource::Scrape { quality_gauge, .. } = &mut l.source {
            *quality_gauge = None;
        }
        assert_eq!(from(&l)[2].compute.formula, None);
    }

    #[test]
    fn prometheus_queries_keep_their_units() {
        let mut l = example();
        l.source = LegacySource::Prometheus {
            p99_ms: Some("p99 $color".into()),
            error_rate: Some("err $color".into()),
            quality: None,
        };
        let s = from(&l);
        use crate::model::Color;
        assert_eq!(
            s[0].compute.prometheus(Color::Blue),
            Some(("p99 $color".into(), Unit::Millis))
        );
        assert_eq!(
            s[1].compute.prometheus(Color::Blue),
            Some(("err $color".into(), Unit::Percent))
        );
        assert_eq!(s[2].compute.prometheus(Color::Blue), None);
    }

    #[test]
    fn the_demo_serves_the_common_names() {
        let mut l = example();
        l.source = LegacySource::Demo;
        let s = from(&l);
        assert!(matches!(
            &s[0].compute.formula,
            Some(Formula::Quantile { histogram, .. }) if histogram.name == "http_request_duration_seconds"
        ));
    }
}
