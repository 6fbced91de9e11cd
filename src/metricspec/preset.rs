//! Presets: the metrics of real model servers, written in the config's own
//! `[[metrics]]` syntax (`http.toml`, `vllm.toml`, `tgi.toml`,
//! `triton.toml`, and for CloudWatch `lambda.toml` and `sagemaker.toml`
//! beside this file), so a preset reads like the entries
//! that override it and goes through the same checks.

use serde::Deserialize;

use super::MetricSpec;
use super::cost::CostSeries;
use super::entry::MetricEntry;
use super::parse::apply;
use super::selector::Selector;

/// The presets, as `[source] preset` and `--preset` name them.
pub const NAMES: [&str; 6] = ["http", "vllm", "tgi", "triton", "lambda", "sagemaker"];

fn text(name: &str) -> Option<&'static str> {
    match name {
        "http" => Some(include_str!("http.toml")),
        "vllm" => Some(include_str!("vllm.toml")),
        "tgi" => Some(include_str!("tgi.toml")),
        "triton" => Some(include_str!("triton.toml")),
        "lambda" => Some(include_str!("lambda.toml")),
        "sagemaker" => Some(include_str!("sagemaker.toml")),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    metrics: Vec<MetricEntry>,
}

/// The preset's entries as written, or why there is none by that name.
pub fn entries(name: &str) -> Result<Vec<MetricEntry>, String> {
    let Some(text) = text(name) else {
        let known: Vec<String> = NAMES.iter().map(|n| format!("`{n}`")).collect();
        let near = NAMES
            .iter()
            .map(|n| (strsim::jaro_winkler(name, n), n))
            .filter(|(score, _)| *score >= 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        return Err(match near {
            Some((_, n)) => format!("`{name}` is not a preset; did you mean `{n}`?"),
            None => format!(
                "`{name}` is not a preset; the presets are {}",
                known.join(", ")
            ),
        });
    };
    toml::from_str::<PresetFile>(text)
        .map(|f| f.metrics)
        .map_err(|e| format!("preset `{name}` is malformed: {e}"))
}

/// The preset's metrics, resolved; `min_requests` is `[source]`'s.
pub fn specs(name: &str, min_requests: u64) -> Result<Vec<MetricSpec>, String> {
    entries(name)?
        .iter()
        .enumerate()
        .map(|(i, e)| {
            apply(None, e, &format!("metrics[{i}]"), min_requests)
                .map_err(|(k, m)| format!("preset `{name}`, {k}: {m}"))
        })
        .collect()
}

/// The token and request counters `[cost]` uses unless it names its own.
pub fn cost_series(preset: Option<&str>) -> CostSeries {
    let s = |n: &str| Some(Selector::named(n));
    match preset {
        Some("vllm") => CostSeries {
            prompt_tokens: s("vllm:prompt_tokens_total"),
            completion_tokens: s("vllm:generation_tokens_total"),
            requests: Selector::named("vllm:request_success_total"),
        },
        Some("tgi") => CostSeries {
            prompt_tokens: s("tgi_request_input_length_sum"),
            completion_tokens: s("tgi_request_generated_tokens_sum"),
            requests: Selector::named("tgi_request_count"),
        },
        Some("triton") => CostSeries {
            prompt_tokens: None,
            completion_tokens: None,
            requests: Selector::named("nv_inference_request_success"),
        },
        _ => CostSeries {
            prompt_tokens: None,
            completion_tokens: None,
            requests: Selector::named("http_requests_total"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::compute::Formula;
    use super::super::unit::Unit;
    use super::super::{Better, Levels, Margin};
    use super::*;
    use crate::model::Color;

    fn get(name: &str) -> Vec<MetricSpec> {
        specs(name, 20).unwrap()
    }

    #[test]
    fn every_preset_resolves_with_unique_ids_and_a_judged_metric() {
        for name in NAMES {
            let s = get(name);
            let mut ids: Vec<&str> = s.iter().map(|m| m.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), s.len(), "{name}");
            assert!(s.iter().filter(|m| m.judged()).count() >= 2, "{name}");
            let computed = |m: &MetricSpec| match name {
                "lambda" | "sagemaker" => m.compute.cloudwatch.is_some(),
                _ => m.compute.formula.is_some(),
            };
            assert!(s.iter().all(computed), "{name}");
        }
    }

    #[test]
    fn http_is_todays_three_over_the_common_names() {
        let s = get("http");
        let ids: Vec<&str> = s.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["p99_ms", "error_rate", "quality"]);
        assert_eq!(
            s[0].absolute,
            Some(Levels {
                warn: 3000.0,
                breach: 5000.0
            })
        );
        assert_eq!(s[0].vs_blue.map(|l| l.breach), Some(Margin::By(1000.0)));
        assert_eq!(
            s[1].absolute,
            Some(Levels {
                warn: 1.0,
                breach: 5.0
            })
        );
        assert_eq!(s[1].vs_blue.map(|l| l.warn), Some(Margin::By(0.5)));
        assert_eq!(
            s[2].absolute,
            Some(Levels {
                warn: 0.75,
                breach: 0.70
            })
        );
        assert_eq!(
            (s[0].min_requests, s[1].min_requests, s[2].min_requests),
            (20, 20, 0)
        );
        // The Prometheus source gets the same names as the scrape.
        let (p99, unit) = s[0].compute.prometheus(Color::Blue).unwrap();
        assert!(
            p99.contains("http_request_duration_seconds_bucket{track=\"$color\"}"),
            "{p99}"
        );
        assert_eq!(s[0].shown(1.0, unit), 1000.0);
        let (errors, unit) = s[1].compute.prometheus(Color::Blue).unwrap();
        assert!(
            errors.contains("http_requests_total{code=~\"5..\",track=\"$color\"}"),
            "{errors}"
        );
        assert_eq!(s[1].shown(0.27, unit).round(), 27.0);
    }

    #[test]
    fn vllm_judges_time_to_first_token_and_shows_the_kv_cache() {
        let s = get("vllm");
        let ttft = s.iter().find(|m| m.id.contains("ttft")).unwrap();
        assert!(matches!(
            &ttft.compute.formula,
            Some(Formula::Quantile { histogram, q, unit: Unit::Seconds })
                if histogram.name == "vllm:time_to_first_token_seconds" && *q == 0.95
        ));
        assert!(ttft.judged() && ttft.rollback);
        assert_eq!(ttft.unit, Unit::Millis);
        let names: Vec<String> = s
            .iter()
            .filter_map(|m| m.compute.formula.as_ref())
            .map(|f| f.promql(Color::Blue))
            .collect();
        for series in [
            "vllm:inter_token_latency_seconds_bucket",
            "vllm:e2e_request_latency_seconds_bucket",
            "vllm:generation_tokens_total",
            "vllm:num_requests_waiting",
            "vllm:kv_cache_usage_perc",
        ] {
            assert!(names.iter().any(|n| n.contains(series)), "{series}");
        }
        let kv = s.iter().find(|m| m.id == "kv_cache_usage").unwrap();
        assert!(!kv.judged());
        assert_eq!(kv.shown(0.93, Unit::Ratio).round(), 93.0);
        let waiting = s.iter().find(|m| m.id == "requests_waiting").unwrap();
        assert!(waiting.judged() && !waiting.rollback);
        let tokens = s
            .iter()
            .find(|m| m.id == "generation_tokens_per_s")
            .unwrap();
        assert_eq!((tokens.better, tokens.judged()), (Better::Higher, false));
    }

    #[test]
    fn tgi_and_triton_use_their_own_names_and_caveats() {
        let tgi = get("tgi");
        let tpt = tgi
            .iter()
            .find(|m| m.id.starts_with("time_per_token"))
            .unwrap();
        assert!(tpt.label.contains("prefill"));
        let errors = tgi.iter().find(|m| m.id == "error_rate").unwrap();
        assert!(matches!(
            &errors.compute.formula,
            Some(Formula::Ratio {
                complement: true,
                ..
            })
        ));
        let triton = get("triton");
        let avg = triton.iter().find(|m| m.id == "request_avg_ms").unwrap();
        // Microseconds summed over requests: a mean, shown in ms.
        assert_eq!(
            avg.compute.formula.as_ref().map(Formula::unit),
            Some(Unit::Micros)
        );
        assert_eq!(avg.shown(2500.0, Unit::Micros), 2.5);
        assert!(triton.iter().all(|m| !m.label.contains("p9")));
    }

    #[test]
    fn the_aws_presets_read_cloudwatch_in_its_units() {
        use super::super::CloudWatch;
        let sm = get("sagemaker");
        let p99 = &sm[0];
        assert!(matches!(
            &p99.compute.cloudwatch,
            Some(CloudWatch::Stat { metric, stat, unit: Unit::Micros, .. })
                if metric == "ModelLatency" && stat == "p99"
        ));
        // Microseconds from CloudWatch, milliseconds on the screen.
        assert_eq!(p99.shown(2500.0, Unit::Micros), 2.5);
        let lambda = get("lambda");
        let errors = lambda.iter().find(|m| m.id == "error_rate").unwrap();
        assert!(matches!(
            &errors.compute.cloudwatch,
            Some(CloudWatch::Ratio { numerator, .. }) if numerator == &["Errors"]
        ));
        assert_eq!(errors.min_requests, 20);
    }

    #[test]
    fn an_unknown_preset_is_named_with_a_suggestion() {
        let e = specs("vlm", 0).unwrap_err();
        assert_eq!(e, "`vlm` is not a preset; did you mean `vllm`?");
        let e = specs("cloudwatch", 0).unwrap_err();
        assert!(
            e.contains("`http`, `vllm`, `tgi`, `triton`, `lambda`"),
            "{e}"
        );
    }
}
