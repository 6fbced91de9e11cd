//! The token timings of a simulated LLM request, and one pod's record of
//! them: what a model server's page (vLLM's, TGI's or Triton's, through
//! `crate::metrics`) is written from. Driven by the same behaviour as the HTTP view: a
//! slower colour is slower to its first token and between tokens. Pure.

use super::sim::{Behaviour, Rng};

/// Time to first token of a healthy request, median, seconds; with
/// [`TTFT_SIGMA`] its p95 is about 300 ms.
const TTFT_MEDIAN_S: f64 = 0.12;
const TTFT_SIGMA: f64 = 0.55;
/// Inter-token latency, median, seconds (p95 about 36 ms).
const ITL_MEDIAN_S: f64 = 0.022;
const ITL_SIGMA: f64 = 0.3;
/// Time a request waits for a batch slot, mean, seconds.
const QUEUE_MEAN_S: f64 = 0.002;
/// The HTTP view's median latency that counts as unslowed.
const BASE_MEDIAN_S: f64 = 0.060;
/// Tokens of every request, prompt and generated.
pub const PROMPT_TOKENS: u64 = 350;
pub const GENERATION_TOKENS: u64 = 180;
/// Sequences at which the KV cache is half full.
const KV_HALF: f64 = 1500.0;

/// One request's timings, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LlmTimes {
    /// Queue wait and prefill: the time to the first token.
    pub ttft_s: f64,
    pub itl_s: f64,
    pub queue_s: f64,
    pub e2e_s: f64,
    /// How much of `ttft_s` the behaviour's regression added.
    pub ttft_excess_s: f64,
}

impl LlmTimes {
    /// Draws one request's timings. `z` is the draw of its HTTP latency:
    /// a request slow to answer is slow to start.
    pub fn draw(b: &Behaviour, z: f64, rng: &mut Rng) -> LlmTimes {
        let slow = b.median_s / BASE_MEDIAN_S;
        let base = TTFT_MEDIAN_S * slow * (TTFT_SIGMA * z).exp();
        let ttft_s = base * b.ttft_factor;
        let itl_s = ITL_MEDIAN_S * slow * (ITL_SIGMA * rng.normal()).exp();
        let queue_s = (QUEUE_MEAN_S * slow * -(1.0 - rng.next_f64()).ln()).min(ttft_s);
        LlmTimes {
            ttft_s,
            itl_s,
            queue_s,
            e2e_s: ttft_s + (GENERATION_TOKENS - 1) as f64 * itl_s,
            ttft_excess_s: ttft_s - base,
        }
    }
}

/// Log-spaced bucket bounds: 1e-4 s to 1e4 s, 50 per decade, so any
/// server's bounds fall within 5 % of one.
const PER_DECADE: f64 = 50.0;
const LOWEST: f64 = 1e-4;
const BOUNDS: usize = 401;

/// A histogram fine enough to be written in any server's buckets: counts
/// and sums per bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Timings {
    counts: Vec<u64>,
    sums: Vec<f64>,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            counts: vec![0; BOUNDS + 1],
            sums: vec![0.0; BOUNDS + 1],
        }
    }
}

impl Timings {
    pub fn record(&mut self, v: f64) {
        let k = (PER_DECADE * (v / LOWEST).log10()).ceil();
        let i = if k.is_nan() || k < 0.0 {
            0
        } else {
            (k as usize).min(BOUNDS)
        };
        self.counts[i] += 1;
        self.sums[i] += v;
    }

    /// Where the observations fell: `(mean of a bucket, its share of
    /// all)` for each bucket that holds any, in order. Empty without any.
    pub fn spread(&self) -> Vec<(f64, f64)> {
        let total: u64 = self.counts.iter().sum();
        self.counts
            .iter()
            .zip(&self.sums)
            .filter(|(n, _)| **n > 0)
            .map(|(n, s)| (s / *n as f64, *n as f64 / total as f64))
            .collect()
    }

    pub fn sum(&self) -> f64 {
        self.sums.iter().sum()
    }
}

/// One pod's record of its requests' timings and its load gauges.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LlmStats {
    pub ttft: Timings,
    pub itl: Timings,
    pub queue: Timings,
    pub e2e: Timings,
    /// Each request's mean time per generated token, prefill included (as
    /// TGI measures it: inference time over tokens), seconds.
    pub time_per_token: Timings,
    /// Requests being generated and waiting, and the KV cache's use (0..1),
    /// as of the last [`LlmStats::settle`].
    pub running: f64,
    pub waiting: f64,
    pub kv_cache_usage: f64,
    /// Seconds of generation and of waiting recorded since the last settle.
    busy_s: f64,
    queued_s: f64,
}

impl LlmStats {
    pub fn record(&mut self, t: &LlmTimes) {
        self.ttft.record(t.ttft_s);
        self.itl.record(t.itl_s);
        self.queue.record(t.queue_s);
        self.e2e.record(t.e2e_s);
        self.time_per_token
            .record((t.e2e_s - t.queue_s) / GENERATION_TOKENS as f64);
        self.busy_s += t.e2e_s;
        self.queued_s += t.queue_s;
    }

    /// Turns the time recorded over the last `dt` into gauges (Little's
    /// law: requests in flight are seconds of work per second).
    pub fn settle(&mut self, dt: std::time::Duration) {
        let dt = dt.as_secs_f64();
        if dt <= 0.0 {
            return;
        }
        self.running = std::mem::take(&mut self.busy_s) / dt;
        self.waiting = std::mem::take(&mut self.queued_s) / dt;
        self.kv_cache_usage = self.running / (self.running + KV_HALF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_keep_every_observation_in_its_bucket() {
        let mut t = Timings::default();
        for v in [0.25, 0.26, 0.26, 3.0, 1e6, 0.0] {
            t.record(v);
        }
        let s = t.spread();
        assert_eq!(s.len(), 5);
        assert!((s.iter().map(|(_, share)| share).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(s[0], (0.0, 1.0 / 6.0));
        assert!((s[2].0 - 0.26).abs() < 1e-12 && (s[2].1 - 2.0 / 6.0).abs() < 1e-12);
        assert!((t.sum() - (1e6 + 3.77)).abs() < 1e-6);
        // A bucket spans under 5 %: 0.25 and 0.26 are apart.
        assert!((s[1].0 - 0.25).abs() < 1e-12);
    }

    #[test]
    fn gauges_follow_the_work_of_the_last_tick() {
        let mut s = LlmStats::default();
        let t = LlmTimes {
            ttft_s: 0.2,
            itl_s: 0.02,
            queue_s: 0.01,
            e2e_s: 4.0,
            ttft_excess_s: 0.0,
        };
        for _ in 0..50 {
            s.record(&t);
        }
        // (4.0 - 0.01) s of inference over 180 tokens.
        let tpt = s.time_per_token.spread();
        assert_eq!(tpt.len(), 1);
        assert!((tpt[0].0 - 3.99 / 180.0).abs() < 1e-12);
        s.settle(std::time::Duration::from_millis(100));
        assert!((s.running - 2000.0).abs() < 1e-9);
        assert!((s.waiting - 5.0).abs() < 1e-9);
        assert!(s.kv_cache_usage > 0.5 && s.kv_cache_usage < 1.0);
        s.settle(std::time::Duration::from_millis(100));
        assert_eq!(s.running, 0.0);
    }
}
