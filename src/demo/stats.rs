//! One simulated pod's cumulative counters and their Prometheus text
//! exposition. Pure: the server renders, the generator records.

use std::fmt::Write;

use super::llm::LlmStats;
use super::sim::{CODES, Sample};

/// Upper bounds of the latency histogram, seconds (`+Inf` is implied).
/// Buckets above 5 s let an interpolated p99 exceed 5000 ms.
pub const BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0];

/// The common names (the `http` preset's), which the scrape source's
/// defaults (`request_duration_seconds`, `requests_total`) predate.
pub const LATENCY_HISTOGRAM: &str = "http_request_duration_seconds";
pub const REQUESTS_COUNTER: &str = "http_requests_total";
pub const QUALITY_GAUGE: &str = "model_quality_score";

/// Counters of one pod since it started.
#[derive(Debug, Clone, PartialEq)]
pub struct PodStats {
    /// Requests by status code, indexed like [`CODES`].
    pub codes: [u64; CODES.len()],
    /// Requests per latency bucket (not cumulative); the last is `+Inf`.
    pub buckets: [u64; BUCKETS.len() + 1],
    /// Sum of latencies, seconds.
    pub sum: f64,
    pub count: u64,
    /// Latest model quality reading.
    pub quality: f64,
    /// The same requests' token timings, for a model server's page.
    pub llm: LlmStats,
}

impl Default for PodStats {
    fn default() -> Self {
        PodStats {
            codes: [0; CODES.len()],
            buckets: [0; BUCKETS.len() + 1],
            sum: 0.0,
            count: 0,
            quality: 0.0,
            llm: LlmStats::default(),
        }
    }
}

impl PodStats {
    pub fn record(&mut self, s: Sample) {
        let ci = CODES.iter().position(|&c| c == s.code).unwrap_or(1);
        self.codes[ci] += 1;
        let bi = BUCKETS
            .iter()
            .position(|&le| s.latency_s <= le)
            .unwrap_or(BUCKETS.len());
        self.buckets[bi] += 1;
        self.sum += s.latency_s;
        self.count += 1;
        self.llm.record(&s.llm);
    }

    /// Requests that failed (any code but the first of [`CODES`]).
    pub fn errors(&self) -> u64 {
        self.codes[1..].iter().sum()
    }

    /// The `q` quantile in seconds, interpolated linearly inside the bucket
    /// as Prometheus' `histogram_quantile` does. `None` without requests.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q * self.count as f64;
        let mut below = 0u64;
        let mut lower = 0.0;
        for (i, &n) in self.buckets.iter().enumerate() {
            let Some(&upper) = BUCKETS.get(i) else {
                // Rank falls in +Inf: Prometheus answers the highest bound.
                return Some(lower);
            };
            if n > 0 && (below + n) as f64 >= rank {
                return Some(lower + (upper - lower) * (rank - below as f64) / n as f64);
            }
            below += n;
            lower = upper;
        }
        Some(lower)
    }

    /// Appends the Prometheus text exposition of these counters.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP {REQUESTS_COUNTER} Requests served, by status code."
        );
        let _ = writeln!(out, "# TYPE {REQUESTS_COUNTER} counter");
        for (code, n) in CODES.iter().zip(self.codes) {
            let _ = writeln!(out, "{REQUESTS_COUNTER}{{code=\"{code}\"}} {n}");
        }
        let h = LATENCY_HISTOGRAM;
        let _ = writeln!(out, "# HELP {h} Request latency in seconds.");
        let _ = writeln!(out, "# TYPE {h} histogram");
        let mut cumulative = 0;
        for (le, n) in BUCKETS.iter().zip(self.buckets) {
            cumulative += n;
            let _ = writeln!(out, "{h}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{h}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{h}_sum {}", self.sum);
        let _ = writeln!(out, "{h}_count {}", self.count);
        let _ = writeln!(
            out,
            "# HELP {QUALITY_GAUGE} Model quality score (0..1, higher is better)."
        );
        let _ = writeln!(out, "# TYPE {QUALITY_GAUGE} gauge");
        let _ = writeln!(out, "{QUALITY_GAUGE} {}", self.quality);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(code: u16, ms: u32) -> Sample {
        let latency_s = f64::from(ms) / 1000.0;
        Sample {
            code,
            latency_s,
            llm: crate::demo::llm::LlmTimes {
                ttft_s: latency_s,
                itl_s: 0.02,
                queue_s: 0.0,
                e2e_s: latency_s + 1.0,
                ttft_excess_s: 0.0,
            },
        }
    }

    #[test]
    fn records_codes_and_buckets() {
        let mut s = PodStats::default();
        for (c, ms) in [(200, 10), (200, 300), (500, 300), (503, 20_000), (200, 100)] {
            s.record(sample(c, ms));
        }
        assert_eq!(s.codes, [3, 1, 1]);
        assert_eq!(s.buckets, [1, 1, 0, 2, 0, 0, 0, 0, 0, 1]);
        assert_eq!(s.count, 5);
        assert_eq!(s.errors(), 2);
        assert_eq!(s.llm.e2e.spread().len(), 4);
        assert!((s.sum - 20.71).abs() < 1e-9);
    }

    #[test]
    fn quantile_interpolates_like_prometheus() {
        let mut s = PodStats::default();
        assert_eq!(s.quantile(0.99), None);
        for _ in 0..50 {
            s.record(sample(200, 30)); // (0, 0.05]
        }
        for _ in 0..50 {
            s.record(sample(200, 300)); // (0.25, 0.5]
        }
        assert!((s.quantile(0.5).unwrap() - 0.05).abs() < 1e-12);
        assert!((s.quantile(0.75).unwrap() - 0.375).abs() < 1e-12);
        s.record(sample(200, 60_000));
        s.record(sample(200, 60_000));
        assert_eq!(s.quantile(0.999), Some(10.0));
    }

    #[test]
    fn renders_all_families_cumulatively() {
        let mut s = PodStats::default();
        s.record(sample(200, 30));
        s.record(sample(500, 700));
        s.quality = 0.87;
        let mut out = String::new();
        s.render(&mut out);
        for line in [
            "# TYPE http_requests_total counter",
            "http_requests_total{code=\"200\"} 1",
            "http_requests_total{code=\"500\"} 1",
            "http_requests_total{code=\"503\"} 0",
            "# TYPE http_request_duration_seconds histogram",
            "http_request_duration_seconds_bucket{le=\"0.05\"} 1",
            "http_request_duration_seconds_bucket{le=\"0.5\"} 1",
            "http_request_duration_seconds_bucket{le=\"1\"} 2",
            "http_request_duration_seconds_bucket{le=\"+Inf\"} 2",
            "http_request_duration_seconds_sum 0.73",
            "http_request_duration_seconds_count 2",
            "# TYPE model_quality_score gauge",
            "model_quality_score 0.87",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }
}
