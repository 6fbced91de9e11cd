//! The demo fleet's pods as a model server's `/metrics` page. The fleet
//! (`crate::demo`, below this layer) keeps the numbers; the page is
//! written here by the scrape source's own writer ([`VllmPage`]), so the
//! demo serves what the scrape source is tested on.

use std::sync::Arc;

use crate::demo::llm::{GENERATION_TOKENS, PROMPT_TOKENS};
use crate::demo::server::Render;
use crate::demo::stats::{PodStats, QUALITY_GAUGE};

use super::scrape::vllm::VllmPage;

/// The model the demo's vLLM serves, as its `model_name` label says.
const MODEL: &str = "demo/chat-model";

/// The page for `[source] preset`; `None`: the fleet's own families (the
/// `http` preset's names, which are also read without a preset).
pub fn for_preset(preset: Option<&str>) -> Option<Render> {
    match preset {
        Some("vllm") => Some(Arc::new(vllm)),
        _ => None,
    }
}

/// One pod as one vLLM engine, and its quality score as an extra gauge
/// (which a `[[metrics]]` entry can read).
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
    let q = QUALITY_GAUGE;
    format!(
        "{}# HELP {q} Model quality score (0..1, higher is better).\n# TYPE {q} gauge\n{q} {}\n",
        page.render(),
        stats.quality
    )
}
