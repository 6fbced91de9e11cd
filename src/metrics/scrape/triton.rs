//! A Triton Inference Server `/metrics` page for one pod, written from
//! given values, for the demo fleet. Names are Triton's per-model
//! `nv_inference_` families (counters without `_total`, durations as
//! cumulative microseconds, failures by `reason`), labelled `model` and
//! `version` as Triton writes them, plus its GPU and CPU gauges; the
//! layout is [`Text::plain`]'s. Pure: builds a string.

use super::text::Text;

/// Triton's failure reasons; the demo's failures are the backend's.
const REASONS: [&str; 4] = ["BACKEND", "CANCELED", "OTHER", "REJECTED"];

/// What one pod's page says, cumulative since its model loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct TritonPage {
    pub model: String,
    pub version: String,
    /// Requests answered, and of those the ones that failed.
    pub requests: u64,
    pub errors: u64,
    /// Seconds summed over requests: their whole time, and their wait in
    /// the scheduler's queue.
    pub request_s: f64,
    pub queue_s: f64,
    /// Requests waiting for the model now.
    pub pending: f64,
    /// 0..=1, the one GPU's.
    pub gpu_utilization: f64,
}

/// A family's name, help and samples (labels, value).
type Family = (&'static str, &'static str, Vec<(String, f64)>);

/// Microseconds in a second, Triton's unit of duration.
const US: f64 = 1e6;
const GPU: &str = "gpu_uuid=\"GPU-3f6c1a52-8d0e-4b7a-9c1d-2e5f7a9b0c13\"";

impl TritonPage {
    /// The page as Triton would answer `GET /metrics` (port 8002).
    pub fn render(&self) -> String {
        let mut out = Text::plain();
        let model = format!("model=\"{}\",version=\"{}\"", self.model, self.version);
        let one = |v: f64| vec![(model.clone(), v)];
        let ok = self.requests.saturating_sub(self.errors) as f64;
        let failures = self.failures();
        let compute_s = self.request_s - self.queue_s;
        let counters: [Family; 9] = [
            (
                "nv_inference_request_success",
                "Number of successful inference requests, all batch sizes",
                one(ok),
            ),
            (
                "nv_inference_request_failure",
                "Number of failed inference requests, all batch sizes",
                failures,
            ),
            (
                "nv_inference_count",
                "Number of inferences performed (does not include cached requests)",
                one(ok),
            ),
            (
                "nv_inference_exec_count",
                "Number of model executions performed (does not include cached requests)",
                one(ok),
            ),
            (
                "nv_inference_request_duration_us",
                "Cumulative inference request duration in microseconds (includes cached requests)",
                one((self.request_s * US).round()),
            ),
            (
                "nv_inference_queue_duration_us",
                "Cumulative inference queuing duration in microseconds (includes cached requests)",
                one((self.queue_s * US).round()),
            ),
            (
                "nv_inference_compute_input_duration_us",
                "Cumulative compute input duration in microseconds (does not include cached requests)",
                one((compute_s * 0.01 * US).round()),
            ),
            (
                "nv_inference_compute_infer_duration_us",
                "Cumulative compute inference duration in microseconds (does not include cached requests)",
                one((compute_s * 0.98 * US).round()),
            ),
            (
                "nv_inference_compute_output_duration_us",
                "Cumulative inference compute output duration in microseconds (does not include cached requests)",
                one((compute_s * 0.01 * US).round()),
            ),
        ];
        for (name, help, samples) in &counters {
            out.family(name, "counter", help, samples);
        }
        out.family(
            "nv_inference_pending_request_count",
            "gauge",
            "Instantaneous number of pending requests awaiting execution per-model.",
            &one(self.pending),
        );
        device_families(&mut out, self.gpu_utilization);
        out.finish()
    }
}

impl TritonPage {
    /// Failures by reason, every reason written from the start.
    fn failures(&self) -> Vec<(String, f64)> {
        REASONS
            .iter()
            .map(|r| {
                let n = if *r == "BACKEND" { self.errors } else { 0 };
                let labels = format!(
                    "model=\"{}\",reason=\"{r}\",version=\"{}\"",
                    self.model, self.version
                );
                (labels, n as f64)
            })
            .collect()
    }
}

/// The GPU's and the host's gauges, the GPU's by its UUID.
fn device_families(out: &mut Text, utilization: f64) {
    let gpu = |v: f64| vec![(GPU.to_string(), v)];
    let host = |v: f64| vec![(String::new(), v)];
    let total = 85_899_345_920.0;
    let families: [Family; 8] = [
        (
            "nv_gpu_utilization",
            "GPU utilization rate [0.0 - 1.0)",
            gpu(utilization),
        ),
        (
            "nv_gpu_memory_total_bytes",
            "GPU total memory, in bytes",
            gpu(total),
        ),
        (
            "nv_gpu_memory_used_bytes",
            "GPU used memory, in bytes",
            gpu((total * 0.9).round()),
        ),
        (
            "nv_gpu_power_usage",
            "GPU power usage in watts",
            gpu(120.0 + 280.0 * utilization),
        ),
        (
            "nv_gpu_power_limit",
            "GPU power management limit in watts",
            gpu(400.0),
        ),
        (
            "nv_cpu_utilization",
            "CPU utilization rate [0.0 - 1.0]",
            host(0.12),
        ),
        (
            "nv_cpu_memory_total_bytes",
            "CPU total memory (RAM), in bytes",
            host(270_582_939_648.0),
        ),
        (
            "nv_cpu_memory_used_bytes",
            "CPU used memory (RAM), in bytes",
            host(40_587_440_947.0),
        ),
    ];
    for (name, help, samples) in &families {
        out.family(name, "gauge", help, samples);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::scrape::{Value, parse};

    #[test]
    fn counters_in_microseconds_by_model_and_version() {
        let page = TritonPage {
            model: "chat".into(),
            version: "1".into(),
            requests: 100,
            errors: 4,
            request_s: 410.5,
            queue_s: 0.25,
            pending: 2.0,
            gpu_utilization: 0.7,
        };
        let text = page.render();
        let p = parse("pod", &text).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let counter = |name: &str, reason: Option<&str>| {
            p.samples
                .iter()
                .filter(|s| s.metric == name && s.labels.get("reason") == reason)
                .find_map(|s| match s.value {
                    Value::Counter(v) if s.labels.get("model") == Some("chat") => {
                        assert_eq!(s.labels.get("version"), Some("1"));
                        Some(v)
                    }
                    _ => None,
                })
        };
        assert_eq!(counter("nv_inference_request_success", None), Some(96.0));
        assert_eq!(
            counter("nv_inference_request_failure", Some("BACKEND")),
            Some(4.0)
        );
        assert_eq!(
            counter("nv_inference_request_failure", Some("REJECTED")),
            Some(0.0)
        );
        assert_eq!(
            counter("nv_inference_request_duration_us", None),
            Some(410_500_000.0)
        );
        assert_eq!(
            counter("nv_inference_queue_duration_us", None),
            Some(250_000.0)
        );
        assert!(!text.contains("_total{") && !text.contains("_created"));
    }
}
