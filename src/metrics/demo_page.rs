//! The demo fleet's pods as a model server's `/metrics` page. The fleet
//! (`crate::demo`, below this layer) keeps the numbers; the page is
//! written here by the scrape source's own writers ([`VllmPage`],
//! [`TgiPage`], [`TritonPage`]), so the demo serves what the scrape source
//! is tested on. Every server's page is written from the same simulated
//! requests, so a scenario means the same under each.

use std::sync::Arc;

use crate::demo::llm::{GENERATION_TOKENS, PROMPT_TOKENS};
use crate::demo::server::Render;
use crate::demo::stats::{PodStats, QUALITY_GAUGE};

use super::scrape::tgi::TgiPage;
use super::scrape::triton::TritonPage;
use super::scrape::vllm::VllmPage;

/// The model the demo's server serves, as its `model_name` (vLLM) or
/// `model` (Triton) label says.
const MODEL: &str = "demo/chat-model";

/// The page for `[source] preset`; `None`: the fleet's own families (the
/// `http` preset's names, which are also read without a preset).
pub fn for_preset(preset: Option<&str>) -> Option<Render> {
    match preset {
        Some("vllm") => Some(Arc::new(vllm)),
        Some("tgi") => Some(Arc::new(tgi)),
        Some("triton") => Some(Arc::new(triton)),
        _ => None,
    }
}

/// One pod as one vLLM engine.
pub fn vllm(stats: &PodStats) -> String {
    let llm = &stats.llm;
    let page = VllmPage {
        model_name: MODEL.into(),
        engines: 1,
        requests: stats.count,
        errors: stats.errors(),
        ttft: llm.ttft.spread(),
        itl: llm.itl.spread(),
        e2e: llm.e2e.spread(),
        queue: llm.queue.spread(),
        running: llm.running,
        waiting: llm.waiting,
        kv_cache_usage: llm.kv_cache_usage,
        prompt_tokens: PROMPT_TOKENS,
        generation_tokens: GENERATION_TOKENS,
    };
    with_quality(page.render(), stats)
}

/// One pod as one TGI router: a slower first token shows in its time per
/// token, which includes prefill.
pub fn tgi(stats: &PodStats) -> String {
    let llm = &stats.llm;
    let page = TgiPage {
        requests: stats.count,
        errors: stats.errors(),
        duration: llm.e2e.spread(),
        queue: llm.queue.spread(),
        time_per_token: llm.time_per_token.spread(),
        input_tokens: PROMPT_TOKENS,
        generated_tokens: GENERATION_TOKENS,
        queue_size: llm.waiting,
        batch_size: llm.running,
    };
    with_quality(page.render(), stats)
}

/// One pod as one Triton serving the model's short completions: its
/// request time is the HTTP view's latency (a mean under a second, which
/// the triton preset's absolute guardrails expect), which a slower first
/// token lengthens; its queue time the LLM view's.
pub fn triton(stats: &PodStats) -> String {
    let llm = &stats.llm;
    let page = TritonPage {
        model: MODEL.into(),
        version: "1".into(),
        requests: stats.count,
        errors: stats.errors(),
        request_s: stats.sum,
        queue_s: llm.queue.sum(),
        pending: llm.waiting,
        gpu_utilization: llm.kv_cache_usage.max(0.35),
    };
    with_quality(page.render(), stats)
}

/// The pod's quality score as an extra gauge after the server's page
/// (which a `[[metrics]]` entry can read).
fn with_quality(page: String, stats: &PodStats) -> String {
    let q = QUALITY_GAUGE;
    format!(
        "{page}# HELP {q} Model quality score (0..1, higher is better).\n# TYPE {q} gauge\n{q} {}\n",
        stats.quality
    )
}
