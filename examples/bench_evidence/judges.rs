//! The three ways of judging the same streams: the evidence of src/stats,
//! today's threshold guardrails (config.example.toml's defaults), and
//! Kayenta's Mann-Whitney judge on one-minute points.

use cutover::stats::{Counts, EvidenceSet, Judged, MinEffect, Moments, TestConfig};

use crate::mann_whitney;
use crate::sim::{BUCKETS, EDGES, Span, empty_span};

/// The judged metrics, in the order of `Metric::ALL`.
pub const METRICS: [&str; 3] = ["error rate", "TTFT", "quality"];

/// Evidence on cumulative counters, as the cockpit would keep them: the
/// counters restart with a process, and a colour may have no data.
pub struct Evidence {
    set: EvidenceSet,
    cum: [Span; 2],
}

impl Evidence {
    /// α over the three metrics: error rate `+0.5pt`, TTFT `+30%`,
    /// quality `0.03` (lower is worse).
    pub fn new(alpha: f64) -> Evidence {
        let t = |e: &str| TestConfig::new(alpha, MinEffect::parse(e).unwrap()).unwrap();
        Evidence {
            set: EvidenceSet::new(vec![
                Judged::counts(METRICS[0], t("+0.5pt")),
                Judged::means(METRICS[1], t("+30%"), true),
                Judged::means(METRICS[2], t("0.03"), false),
            ]),
            cum: [empty_span(), empty_span()],
        }
    }

    /// One poll: each colour's increment, whether its reading is missing
    /// (the counters still count; the poll only could not read them), and
    /// whether its process restarted just before it. Returns which metrics
    /// found green worse.
    pub fn poll(
        &mut self,
        spans: [&Span; 2],
        missing: [bool; 2],
        restarted: [bool; 2],
    ) -> [bool; 3] {
        let mut seen: [Option<Span>; 2] = [None, None];
        for c in 0..2 {
            if restarted[c] {
                self.cum[c] = empty_span();
            }
            self.cum[c].add(spans[c]);
            if !missing[c] {
                seen[c] = Some(self.cum[c]);
            }
        }
        let counts = |s: &Option<Span>| {
            s.map(|s| Counts {
                requests: s.requests,
                events: s.errors,
            })
        };
        let ttft = |s: &Option<Span>| s.map(|s| s.ttft);
        let quality = |s: &Option<Span>| s.map(|s| s.quality);
        let [b, g] = &seen;
        self.set
            .get_mut(METRICS[0])
            .unwrap()
            .observe_counts(counts(b), counts(g));
        self.set
            .get_mut(METRICS[1])
            .unwrap()
            .observe_moments(ttft(b), ttft(g));
        self.set
            .get_mut(METRICS[2])
            .unwrap()
            .observe_moments(quality(b), quality(g));
        let worse = |i: usize| self.set.metrics()[i].is_worse();
        [worse(0), worse(1), worse(2)]
    }
}

/// Today's guardrails at their defaults: a 30 s window (6 polls of 5 s),
/// at least 20 requests in it for p99 and error rate, breach levels error
/// rate > 5 % or > blue + 2 pt, p99 > 5000 ms or > blue + 1000 ms (here on
/// TTFT), quality < 0.70 or < blue − 0.05; 2 consecutive polls roll back.
pub struct Thresholds {
    window: std::collections::VecDeque<[Span; 2]>,
    streak: [u32; 3],
}

const WINDOW_POLLS: usize = 6;
const MIN_REQUESTS: f64 = 20.0;
const CONSECUTIVE: u32 = 2;

/// `histogram_quantile` as Prometheus computes it: linear within the
/// bucket; in the +Inf bucket, the highest finite edge.
pub fn quantile(buckets: &[f64; BUCKETS], q: f64) -> f64 {
    let total: f64 = buckets.iter().sum();
    let rank = q * total;
    let (mut below, mut lower) = (0.0, 0.0);
    for (k, edge) in EDGES.iter().enumerate() {
        if below + buckets[k] >= rank {
            return lower + (edge - lower) * (rank - below) / buckets[k].max(f64::MIN_POSITIVE);
        }
        below += buckets[k];
        lower = *edge;
    }
    EDGES[EDGES.len() - 1]
}

impl Thresholds {
    pub fn new() -> Thresholds {
        Thresholds {
            window: Default::default(),
            streak: [0; 3],
        }
    }

    /// One poll; returns which metrics' breach streak reached 2.
    pub fn poll(&mut self, spans: [&Span; 2]) -> [bool; 3] {
        self.window.push_back([*spans[0], *spans[1]]);
        if self.window.len() > WINDOW_POLLS {
            self.window.pop_front();
        }
        let mut w = [empty_span(), empty_span()];
        for polls in &self.window {
            w[0].add(&polls[0]);
            w[1].add(&polls[1]);
        }
        let [b, g] = &w;
        let enough = |s: &Span| s.requests >= MIN_REQUESTS;
        let err = |s: &Span| 100.0 * s.errors / s.requests;
        let p99 = |s: &Span| quantile(&s.buckets, 0.99);
        let quality = |s: &Span| s.quality.mean();
        // None: no data, the streak is held ("hold", the default).
        let breach = [
            enough(g).then(|| err(g) > 5.0 || (enough(b) && err(g) - err(b) > 2.0)),
            enough(g).then(|| p99(g) > 5000.0 || (enough(b) && p99(g) - p99(b) > 1000.0)),
            quality(g).map(|qg| qg < 0.70 || quality(b).is_some_and(|qb| qb - qg > 0.05)),
        ];
        let mut fired = [false; 3];
        for i in 0..3 {
            match breach[i] {
                Some(true) => self.streak[i] += 1,
                Some(false) => self.streak[i] = 0,
                None => {}
            }
            fired[i] = self.streak[i] >= CONSECUTIVE;
        }
        fired
    }
}

/// Kayenta's judge: one point per minute per colour (the minute's error
/// rate, mean TTFT, mean quality), judged once at 50 points.
pub struct Kayenta {
    minute: [Span; 2],
    polls: u32,
    points: [[Vec<f64>; 3]; 2],
}

pub const KAYENTA_POINTS: usize = 50;

impl Kayenta {
    pub fn new() -> Kayenta {
        Kayenta {
            minute: [empty_span(), empty_span()],
            polls: 0,
            points: Default::default(),
        }
    }

    /// One 5 s poll; at the 50th minute returns the verdict per metric.
    pub fn poll(&mut self, spans: [&Span; 2]) -> Option<[bool; 3]> {
        self.minute[0].add(spans[0]);
        self.minute[1].add(spans[1]);
        self.polls += 1;
        if !self.polls.is_multiple_of(12) {
            return None;
        }
        for c in 0..2 {
            let m = &self.minute[c];
            let mean = |x: &Moments| x.mean().unwrap_or(0.0);
            let err = if m.requests > 0.0 {
                m.errors / m.requests
            } else {
                0.0
            };
            for (i, v) in [err, mean(&m.ttft), mean(&m.quality)]
                .into_iter()
                .enumerate()
            {
                self.points[c][i].push(v);
            }
            self.minute[c] = empty_span();
        }
        if self.points[0][0].len() != KAYENTA_POINTS {
            return None;
        }
        let high = |i: usize| mann_whitney::high(&self.points[1][i], &self.points[0][i]);
        let low = |i: usize| mann_whitney::low(&self.points[1][i], &self.points[0][i]);
        Some([high(0), high(1), low(2)])
    }
}
