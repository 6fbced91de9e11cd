//! A Text Generation Inference `/metrics` page for one pod, written from
//! given values, for the demo fleet. Names and bucket bounds are TGI's
//! router's (`tgi_` histograms in seconds whose names end in `duration`,
//! with its geometric duration buckets and token buckets in hundredths of
//! the token limits; counters without `_total`, as the Rust `metrics`
//! exporter writes them); the layout is [`Text::plain`]'s. Pure: builds a
//! string.

use super::text::Text;
use super::vllm::{Spread, observations};

/// TGI's defaults for `--max-input-tokens` and `--max-total-tokens`, which
/// its token histograms' buckets are hundredths of.
const MAX_INPUT_TOKENS: f64 = 1024.0;
const MAX_TOTAL_TOKENS: f64 = 2048.0;

/// What one pod's page says, cumulative since it started.
#[derive(Debug, Clone, PartialEq)]
pub struct TgiPage {
    /// Requests received, and of those the ones that failed
    /// (`tgi_request_failure{err="generation"}`).
    pub requests: u64,
    pub errors: u64,
    /// A request's whole time: validation, queue and inference.
    pub duration: Spread,
    pub queue: Spread,
    /// Inference time over generated tokens, per request: prefill included.
    pub time_per_token: Spread,
    /// Tokens per request.
    pub input_tokens: u64,
    pub generated_tokens: u64,
    /// Requests waiting, and requests in the running batch.
    pub queue_size: f64,
    pub batch_size: f64,
}

impl TgiPage {
    /// The page as TGI's router would answer `GET /metrics`.
    pub fn render(&self) -> String {
        let mut out = Text::plain();
        let one = |v: f64| vec![(String::new(), v)];
        out.family(
            "tgi_request_count",
            "counter",
            "Requests received.",
            &one(self.requests as f64),
        );
        out.family(
            "tgi_request_success",
            "counter",
            "Requests that succeeded.",
            &one(self.requests.saturating_sub(self.errors) as f64),
        );
        // The exporter writes a counter once it has counted: no failure
        // series before the first error.
        if self.errors > 0 {
            out.family(
                "tgi_request_failure",
                "counter",
                "Requests that failed, by error.",
                &[("err=\"generation\"".into(), self.errors as f64)],
            );
        }
        for (name, help, v) in [
            ("tgi_queue_size", "Requests waiting.", self.queue_size),
            (
                "tgi_batch_current_size",
                "Requests in the running batch.",
                self.batch_size,
            ),
            (
                "tgi_batch_current_max_tokens",
                "Tokens the running batch may reach.",
                self.batch_size * (self.input_tokens + self.generated_tokens) as f64,
            ),
        ] {
            out.family(name, "gauge", help, &one(v));
        }
        self.histograms(&mut out);
        out.finish()
    }

    fn histograms(&self, out: &mut Text) {
        let durations = duration_bounds();
        let input = hundredths(MAX_INPUT_TOKENS);
        let total = hundredths(MAX_TOTAL_TOKENS);
        let validation: Spread = vec![(0.0004, 1.0)];
        let tokens = |t: u64| vec![(t as f64, 1.0)];
        let families: [(&str, &str, &[f64], &Spread); 7] = [
            (
                "tgi_request_duration",
                "Request duration, seconds.",
                &durations,
                &self.duration,
            ),
            (
                "tgi_request_validation_duration",
                "Request validation duration, seconds.",
                &durations,
                &validation,
            ),
            (
                "tgi_request_queue_duration",
                "Time in the queue, seconds.",
                &durations,
                &self.queue,
            ),
            (
                "tgi_request_mean_time_per_token_duration",
                "Mean time per generated token, prefill included, seconds.",
                &durations,
                &self.time_per_token,
            ),
            (
                "tgi_request_input_length",
                "Input tokens per request.",
                &input,
                &tokens(self.input_tokens),
            ),
            (
                "tgi_request_generated_tokens",
                "Generated tokens per request.",
                &total,
                &tokens(self.generated_tokens),
            ),
            (
                "tgi_request_max_new_tokens",
                "Maximum new tokens per request.",
                &total,
                &tokens(self.generated_tokens * 2),
            ),
        ];
        for (name, help, bounds, spread) in families {
            let obs = observations(spread, self.requests);
            out.histogram(name, help, bounds, &[String::new()], &[obs]);
        }
    }
}

/// TGI's duration buckets: 35 bounds, each 1.5 times the last, from
/// 0.15 ms to about 145 s.
fn duration_bounds() -> Vec<f64> {
    (1..=35).map(|k| 0.0001 * 1.5f64.powi(k)).collect()
}

/// A hundred even buckets up to `max` tokens.
fn hundredths(max: f64) -> Vec<f64> {
    (1..=100).map(|k| max / 100.0 * f64::from(k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(errors: u64) -> TgiPage {
        TgiPage {
            requests: 100,
            errors,
            duration: vec![(4.0, 1.0)],
            queue: vec![(0.002, 1.0)],
            time_per_token: vec![(0.022, 0.5), (0.03, 0.5)],
            input_tokens: 350,
            generated_tokens: 180,
            queue_size: 0.5,
            batch_size: 8.0,
        }
    }

    #[test]
    fn counters_histograms_and_the_generated_tokens_sum() {
        let text = page(3).render();
        let p = crate::metrics::scrape::parse("pod", &text).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        use crate::metrics::scrape::Value;
        let value = |name: &str| {
            p.samples
                .iter()
                .find(|s| s.metric == name)
                .map(|s| &s.value)
        };
        let number = |name: &str| match value(name) {
            Some(Value::Counter(v) | Value::Untyped(v)) => Some(*v),
            _ => None,
        };
        assert_eq!(number("tgi_request_count"), Some(100.0));
        assert_eq!(number("tgi_request_success"), Some(97.0));
        assert_eq!(number("tgi_request_failure"), Some(3.0));
        assert_eq!(number("tgi_request_generated_tokens_sum"), Some(18_000.0));
        assert!(matches!(
            value("tgi_request_mean_time_per_token_duration"),
            Some(Value::Histogram(_))
        ));
        assert!(!text.contains("_created"));
    }

    #[test]
    fn no_failure_series_before_the_first_error() {
        assert!(!page(0).render().contains("tgi_request_failure"));
    }

    #[test]
    fn duration_buckets_are_tgis() {
        let b = duration_bounds();
        assert_eq!(b.len(), 35);
        assert!((b[0] - 0.00015).abs() < 1e-12);
        assert!(b[34] > 140.0 && b[34] < 150.0);
    }
}
