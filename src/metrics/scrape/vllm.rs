//! A vLLM `/metrics` page for one colour, written from given values: the
//! fixture `assets/fixtures/vllm.prom` is one, and the demo fleet and the
//! benchmarks can serve others. Names, label names and bucket bounds are
//! vLLM V1's (its documented `vllm:` metrics, `model_name` and `engine`
//! labels, plus the API server's `http_*` and the Python client's process
//! and gc metrics); the layout is prometheus_client's (`text`). Pure:
//! builds a string.

use super::text::Text;
use crate::config::ScrapeConfig;

/// vLLM's bucket bounds for time to first token, seconds.
pub const TTFT_BOUNDS: [f64; 22] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
/// vLLM's bucket bounds for inter-token latency (and time per output
/// token), seconds.
pub const ITL_BOUNDS: [f64; 19] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
];
/// vLLM's bucket bounds for request-level latencies (end to end, queue,
/// inference, prefill, decode), seconds.
pub const REQUEST_BOUNDS: [f64; 21] = [
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
];
/// vLLM's 1-2-5 bounds for token counts, up to a max_model_len of 8192.
pub const TOKEN_BOUNDS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];

/// Where requests fell: `(observed value, share of requests)`. Shares
/// should add up to 1; the last entry takes what rounding leaves.
pub type Spread = Vec<(f64, f64)>;

/// What one colour's page says, cumulative since its engines started.
#[derive(Debug, Clone, PartialEq)]
pub struct VllmPage {
    pub model_name: String,
    /// Data-parallel engines, labelled `engine="0"`, `"1"`, ...; each
    /// reports the same values.
    pub engines: usize,
    /// Requests finished per engine.
    pub requests: u64,
    /// Of those, requests that failed: `finished_reason="abort"` and
    /// `status="5xx"` on the chat endpoint.
    pub errors: u64,
    pub ttft: Spread,
    /// Inter-token latency (also written as time per output token).
    pub itl: Spread,
    pub e2e: Spread,
    pub queue: Spread,
    pub running: f64,
    pub waiting: f64,
    /// 0..=1 (1 = 100 %), as vLLM reports it.
    pub kv_cache_usage: f64,
    /// Tokens per request.
    pub prompt_tokens: u64,
    pub generation_tokens: u64,
}

/// When the fixture's engines started (prometheus_client's `_created`).
const STARTED: f64 = 1_764_763_200.0;

impl VllmPage {
    /// The values of `assets/fixtures/vllm.prom`: two engines of one model,
    /// 1,000 requests each, 20 of them failed.
    pub fn fixture() -> Self {
        VllmPage {
            model_name: "meta-llama/Llama-3.1-8B-Instruct".into(),
            engines: 2,
            requests: 1000,
            errors: 20,
            ttft: vec![(0.07, 0.6), (0.2, 0.3), (0.9, 0.1)],
            itl: vec![(0.02, 0.7), (0.04, 0.25), (0.12, 0.05)],
            e2e: vec![(2.2, 0.5), (4.0, 0.4), (12.0, 0.1)],
            queue: vec![(0.1, 0.9), (0.6, 0.1)],
            running: 12.0,
            waiting: 3.0,
            kv_cache_usage: 0.42,
            prompt_tokens: 350,
            generation_tokens: 180,
        }
    }

    /// `cfg` with today's three reading vLLM's names: time to first token
    /// as the latency, the HTTP counter with 5xx as errors, KV cache usage
    /// as the gauge (what a config without `[[metrics]]` could name).
    pub fn legacy_names(mut cfg: ScrapeConfig) -> ScrapeConfig {
        cfg.latency_histogram = "vllm:time_to_first_token_seconds".into();
        cfg.requests_counter = "http_requests_total".into();
        cfg.status_label = "status".into();
        cfg.error_status_prefixes = vec!["5".into()];
        cfg.quality_gauge = Some("vllm:kv_cache_usage_perc".into());
        cfg
    }

    /// The page as vLLM's API server would answer `GET /metrics`.
    pub fn render(&self) -> String {
        let mut out = Text::new(STARTED);
        self.engine_families(&mut out);
        self.http_families(&mut out);
        process_families(&mut out);
        out.finish()
    }

    fn labels(&self, engine: usize) -> String {
        format!("model_name=\"{}\",engine=\"{engine}\"", self.model_name)
    }

    fn engine_families(&self, out: &mut Text) {
        let labels: Vec<String> = (0..self.engines).map(|e| self.labels(e)).collect();
        let each =
            |v: f64| -> Vec<(String, f64)> { labels.iter().map(|l| (l.clone(), v)).collect() };
        let info = format!("{CACHE_CONFIG},{}", self.labels(0));
        out.family(
            "vllm:cache_config_info",
            "gauge",
            "Information of the LLMEngine CacheConfig",
            &[(info, 1.0)],
        );
        for (name, help, v) in [
            (GAUGES[0].0, GAUGES[0].1, self.running),
            (GAUGES[1].0, GAUGES[1].1, self.waiting),
            (GAUGES[2].0, GAUGES[2].1, self.kv_cache_usage),
        ] {
            out.family(name, "gauge", help, &each(v));
        }
        let reqs = self.requests as f64;
        let prompt = reqs * self.prompt_tokens as f64;
        let values = [
            0.0,
            prompt,
            reqs * self.generation_tokens as f64,
            prompt,
            prompt * 0.3,
        ];
        for ((name, help), v) in COUNTERS.iter().zip(values) {
            out.counter(name, help, &each(v));
        }
        let length = self.requests / 10;
        let stop = self.requests.saturating_sub(length + self.errors);
        let finished: Vec<(String, f64)> = labels
            .iter()
            .flat_map(|l| {
                [("stop", stop), ("length", length), ("abort", self.errors)]
                    .map(|(r, n)| (format!("{l},finished_reason=\"{r}\""), n as f64))
            })
            .collect();
        out.counter(
            "vllm:request_success",
            "Count of successfully processed requests.",
            &finished,
        );
        let tokens = |t: u64| vec![(t as f64, 1.0)];
        let spreads = [
            &self.ttft,
            &self.itl,
            &self.itl,
            &self.e2e,
            &self.queue,
            &self.e2e,
            &self.ttft,
            &self.e2e,
            &tokens(self.prompt_tokens),
            &tokens(self.generation_tokens),
            &tokens(self.generation_tokens * 2),
        ];
        for ((name, help, bounds), spread) in HISTOGRAMS.iter().zip(spreads) {
            let obs = observations(spread, self.requests);
            out.histogram(name, help, bounds, &labels, &vec![obs; labels.len()]);
        }
    }

    fn http_families(&self, out: &mut Text) {
        let total = self.requests * self.engines as u64;
        let errors = self.errors * self.engines as u64;
        // (handler, method, 2xx, 4xx, 5xx)
        let handlers: [(&str, &str, u64, u64, u64); 5] = [
            ("/v1/chat/completions", "POST", total - errors, 4, errors),
            ("/v1/completions", "POST", total / 20, 1, 0),
            ("/v1/models", "GET", 12, 0, 0),
            ("/health", "GET", 4_320, 0, 0),
            ("/metrics", "GET", 8_640, 0, 0),
        ];
        let mut requests = Vec::new();
        let mut per_handler = Vec::new();
        for (h, m, ok, client, server) in handlers {
            let l = format!("handler=\"{h}\",method=\"{m}\"");
            for (status, n) in [("2xx", ok), ("4xx", client), ("5xx", server)] {
                if n > 0 {
                    requests.push((format!("{l},status=\"{status}\""), n as f64));
                }
            }
            per_handler.push((l, ok + client + server));
        }
        out.counter(
            "http_requests_total",
            "Total number of requests by method, status and handler.",
            &requests,
        );
        let sizes: Vec<(String, f64, f64)> = per_handler
            .iter()
            .map(|(l, n)| (l.clone(), *n as f64, *n as f64 * 850.0))
            .collect();
        out.summary(
            "http_request_size_bytes",
            "Content length of incoming requests by handler.",
            &sizes,
        );
        out.summary(
            "http_response_size_bytes",
            "Content length of outgoing responses by handler.",
            &sizes,
        );
        let labels: Vec<String> = per_handler.iter().map(|(l, _)| l.clone()).collect();
        // Generation takes the requests' end-to-end time; the other
        // handlers answer in milliseconds.
        let fast: Spread = vec![(0.004, 0.95), (0.02, 0.05)];
        let obs: Vec<Vec<(f64, u64)>> = per_handler
            .iter()
            .map(|(l, n)| {
                let generates = l.contains("completions");
                observations(if generates { &self.e2e } else { &fast }, *n)
            })
            .collect();
        out.histogram(
            "http_request_duration_seconds",
            "Latency with only few buckets by handler.",
            &[0.1, 0.5, 1.0],
            &labels,
            &obs,
        );
        let all: Vec<(f64, u64)> = obs.iter().flatten().copied().collect();
        out.histogram(
            "http_request_duration_highr_seconds",
            "Latency with many buckets but no API specific labels.",
            &HIGHR_BOUNDS,
            &[String::new()],
            &[all],
        );
    }
}

const CACHE_CONFIG: &str = "block_size=\"16\",cache_dtype=\"auto\",enable_prefix_caching=\"True\",\
    gpu_memory_utilization=\"0.9\",num_cpu_blocks=\"None\",num_gpu_blocks=\"27000\"";

const GAUGES: [(&str, &str); 3] = [
    (
        "vllm:num_requests_running",
        "Number of requests in model execution batches.",
    ),
    (
        "vllm:num_requests_waiting",
        "Number of requests waiting to be processed.",
    ),
    (
        "vllm:kv_cache_usage_perc",
        "KV-cache usage. 1 means 100 percent usage.",
    ),
];

/// Counters by base name, in the order `engine_families` gives values.
const COUNTERS: [(&str, &str); 5] = [
    (
        "vllm:num_preemptions",
        "Cumulative number of preemption from the engine.",
    ),
    ("vllm:prompt_tokens", "Number of prefill tokens processed."),
    (
        "vllm:generation_tokens",
        "Number of generation tokens processed.",
    ),
    (
        "vllm:prefix_cache_queries",
        "Prefix cache queries, in terms of number of queried tokens.",
    ),
    (
        "vllm:prefix_cache_hits",
        "Prefix cache hits, in terms of number of cached tokens.",
    ),
];

/// Histograms, in the order `engine_families` gives spreads.
const HISTOGRAMS: [(&str, &str, &[f64]); 11] = [
    (
        "vllm:time_to_first_token_seconds",
        "Histogram of time to first token in seconds.",
        &TTFT_BOUNDS,
    ),
    (
        "vllm:inter_token_latency_seconds",
        "Histogram of inter-token latency in seconds.",
        &ITL_BOUNDS,
    ),
    (
        "vllm:time_per_output_token_seconds",
        "Histogram of time per output token in seconds.",
        &ITL_BOUNDS,
    ),
    (
        "vllm:e2e_request_latency_seconds",
        "Histogram of e2e request latency in seconds.",
        &REQUEST_BOUNDS,
    ),
    (
        "vllm:request_queue_time_seconds",
        "Histogram of time spent in WAITING phase for request.",
        &REQUEST_BOUNDS,
    ),
    (
        "vllm:request_inference_time_seconds",
        "Histogram of time spent in RUNNING phase for request.",
        &REQUEST_BOUNDS,
    ),
    (
        "vllm:request_prefill_time_seconds",
        "Histogram of time spent in PREFILL phase for request.",
        &REQUEST_BOUNDS,
    ),
    (
        "vllm:request_decode_time_seconds",
        "Histogram of time spent in DECODE phase for request.",
        &REQUEST_BOUNDS,
    ),
    (
        "vllm:request_prompt_tokens",
        "Number of prefill tokens processed.",
        &TOKEN_BOUNDS,
    ),
    (
        "vllm:request_generation_tokens",
        "Number of generation tokens processed.",
        &TOKEN_BOUNDS,
    ),
    (
        "vllm:request_max_num_generation_tokens",
        "Histogram of maximum number of requested generation tokens.",
        &TOKEN_BOUNDS,
    ),
];

/// prometheus-fastapi-instrumentator's high-resolution latency buckets.
const HIGHR_BOUNDS: [f64; 21] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0,
    7.5, 10.0, 30.0, 60.0,
];

/// The Python client's own families, constant.
fn process_families(out: &mut Text) {
    let gens = |vals: [f64; 3]| -> Vec<(String, f64)> {
        vals.iter()
            .enumerate()
            .map(|(g, v)| (format!("generation=\"{g}\""), *v))
            .collect()
    };
    out.family(
        "python_gc_objects_collected_total",
        "counter",
        "Objects collected during gc",
        &gens([48_211.0, 9_113.0, 1_082.0]),
    );
    out.family(
        "python_gc_objects_uncollectable_total",
        "counter",
        "Uncollectable objects found during GC",
        &gens([0.0; 3]),
    );
    out.family(
        "python_gc_collections_total",
        "counter",
        "Number of times this generation was collected",
        &gens([2_961.0, 269.0, 17.0]),
    );
    let info =
        "implementation=\"CPython\",major=\"3\",minor=\"12\",patchlevel=\"11\",version=\"3.12.11\"";
    out.family(
        "python_info",
        "gauge",
        "Python platform information",
        &[(info.to_string(), 1.0)],
    );
    for (name, kind, help, v) in PROCESS {
        out.family(name, kind, help, &[(String::new(), v)]);
    }
}

const PROCESS: [(&str, &str, &str, f64); 6] = [
    (
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        3.4187e10,
    ),
    (
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        2.9481e9,
    ),
    (
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        STARTED,
    ),
    (
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        1_234.56,
    ),
    (
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        95.0,
    ),
    (
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
        1_048_576.0,
    ),
];

/// `(observed value, how many)` for `requests` spread by shares; the last
/// entry takes the rounding remainder, so the counts add up to `requests`.
pub(super) fn observations(spread: &Spread, requests: u64) -> Vec<(f64, u64)> {
    let mut left = requests;
    let mut out = Vec::with_capacity(spread.len());
    for (i, (value, share)) in spread.iter().enumerate() {
        let n = if i + 1 == spread.len() {
            left
        } else {
            ((requests as f64 * share).round() as u64).min(left)
        };
        left -= n;
        out.push((*value, n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_add_up_to_the_requests() {
        let o = observations(&vec![(0.1, 0.333), (0.2, 0.333), (0.3, 0.333)], 1000);
        assert_eq!(o, [(0.1, 333), (0.2, 333), (0.3, 334)]);
    }
}
