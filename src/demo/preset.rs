//! `cutover demo --preset`: which model server the demo fleet plays,
//! named as `[source] preset` names the metrics read from it.

/// The model servers whose `/metrics` the demo fleet can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoPreset {
    /// The common HTTP names: latency histogram, requests by code, quality.
    Http,
    /// vLLM's page: `vllm:` token timings, queue and KV cache, requests by
    /// handler and status class.
    Vllm,
    /// Text Generation Inference's page: `tgi_` request durations, time
    /// per token (prefill included), queue size, success and count.
    Tgi,
    /// Triton Inference Server's page: `nv_inference_` success and
    /// failure counters, cumulative durations in microseconds, pending
    /// requests, by `model` and `version`.
    Triton,
}

impl DemoPreset {
    pub const ALL: [DemoPreset; 4] = [
        DemoPreset::Http,
        DemoPreset::Vllm,
        DemoPreset::Tgi,
        DemoPreset::Triton,
    ];

    /// The word of `[source] preset` (one of `metricspec::preset::NAMES`).
    pub fn name(&self) -> &'static str {
        match self {
            DemoPreset::Http => "http",
            DemoPreset::Vllm => "vllm",
            DemoPreset::Tgi => "tgi",
            DemoPreset::Triton => "triton",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_are_the_configs_presets_and_clap_values() {
        for p in DemoPreset::ALL {
            assert!(crate::metricspec::preset::NAMES.contains(&p.name()));
            assert_eq!(<DemoPreset as ValueEnum>::from_str(p.name(), false), Ok(p));
        }
    }
}
