//! The simulation maths of the demo fleet: a seeded PRNG, each colour's
//! behaviour as a function of the scenario and green's history, and
//! per-request samples. Pure: no IO, no clocks (time comes in as `dt`).
//!
//! Latency targets are for the p99 the cockpit shows, which is interpolated
//! linearly inside histogram buckets (as Prometheus' `histogram_quantile`
//! does). Across the 250–500 ms bucket that reads about 25 % above the exact
//! sample p99 of the log-normal, so the parameters below are tuned for the
//! interpolated figure.

use std::time::Duration;

use super::llm::LlmTimes;
use crate::config::Scenario;
use crate::model::{Color, Split};

/// A small seeded PRNG (SplitMix64) with a Box-Muller normal.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    spare_normal: Option<f64>,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng {
            state: seed,
            spare_normal: None,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (mean 0, standard deviation 1).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let u1 = 1.0 - self.next_f64(); // (0, 1]: ln is finite
        let u2 = self.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }
}

/// What green has lived through so far; the fleet advances it every tick.
/// Degradation and drift never heal: rolling back stops green's traffic,
/// not its decline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GreenHistory {
    /// Green's current share.
    pub split: Split,
    /// Total time green has had a share above 0 %.
    pub served: Duration,
    /// Time since green first reached 25 %, if it has.
    pub since_25: Option<Duration>,
}

impl Default for GreenHistory {
    fn default() -> Self {
        GreenHistory {
            split: Split::ZERO,
            served: Duration::ZERO,
            since_25: None,
        }
    }
}

impl GreenHistory {
    /// Records that `dt` passed with `split` in force.
    pub fn advance(&mut self, split: Split, dt: Duration) {
        self.split = split;
        if split.green() > 0 {
            self.served += dt;
        }
        match &mut self.since_25 {
            Some(t) => *t += dt,
            None if split.green() >= 25 => self.since_25 = Some(dt),
            None => {}
        }
    }
}

/// The three status codes the fleet reports, in exposition order.
pub const CODES: [u16; 3] = [200, 500, 503];

/// How long the degrading green takes from healthy to fully degraded.
pub const DEGRADE_RAMP: Duration = Duration::from_secs(12);
/// After this much serving time the slow-quality green starts to drift.
pub const DRIFT_AFTER: Duration = Duration::from_secs(3);
/// Quality lost per second of serving once the drift has started.
pub const DRIFT_PER_SEC: f64 = 0.006;

/// After this much serving time the slow-first-token green's first token
/// takes [`SLOW_FIRST_TOKEN`] times as long.
pub const FIRST_TOKEN_AFTER: Duration = Duration::from_secs(2);
/// About 300 ms to about 1 s at p95: far past the vLLM preset's vs_blue
/// breach (+50 %), below its absolute warn (2 s).
pub const SLOW_FIRST_TOKEN: f64 = 3.3;
/// The share of a slower first token that the HTTP view's latency shows
/// (its requests are short completions).
const HTTP_TTFT_SHARE: f64 = 0.5;

const BLUE_QUALITY: f64 = 0.86;
const QUALITY_NOISE: f64 = 0.0015;

/// One simulated request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub code: u16,
    pub latency_s: f64,
    /// The same request's token timings.
    pub llm: LlmTimes,
}

/// How one colour behaves right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Behaviour {
    /// Median of the log-normal latency, seconds.
    pub median_s: f64,
    /// Shape (standard deviation of ln latency).
    pub sigma: f64,
    /// Probability that a request fails (500 or 503).
    pub error_prob: f64,
    /// Mean model quality score.
    pub quality: f64,
    /// Time to first token, as a multiple of a healthy one's.
    pub ttft_factor: f64,
}

impl Behaviour {
    const BLUE: Behaviour = Behaviour {
        median_s: 0.060,
        sigma: 0.75,
        error_prob: 0.002,
        quality: BLUE_QUALITY,
        ttft_factor: 1.0,
    };
    /// One error in 10,000: at the first step (about 50 requests in a
    /// 5 s window) one error would read as a 2 % error rate, a WARN the
    /// healthy scenario is not meant to show; at 0.1 % that happened in
    /// one window in twenty.
    const GREEN_HEALTHY: Behaviour = Behaviour {
        median_s: 0.060,
        sigma: 0.70,
        error_prob: 0.0001,
        quality: 0.87,
        ttft_factor: 1.0,
    };

    /// The behaviour of `color` under `scenario`, given green's history.
    pub fn of(scenario: Scenario, color: Color, green: &GreenHistory) -> Behaviour {
        if color == Color::Blue {
            return Behaviour::BLUE;
        }
        let healthy = Behaviour::GREEN_HEALTHY;
        match scenario {
            Scenario::Healthy => healthy,
            Scenario::Degrading => {
                let Some(t) = green.since_25 else {
                    return healthy;
                };
                let r = (t.as_secs_f64() / DEGRADE_RAMP.as_secs_f64()).min(1.0);
                Behaviour {
                    // ×22 at the end: interpolated p99 ≈ 7 s.
                    median_s: healthy.median_s * (1.0 + 21.0 * r),
                    error_prob: healthy.error_prob + r * (0.08 - healthy.error_prob),
                    quality: healthy.quality - 0.02 * r,
                    ..healthy
                }
            }
            Scenario::SlowQuality => {
                let drift_s = green.served.saturating_sub(DRIFT_AFTER).as_secs_f64();
                Behaviour {
                    quality: (BLUE_QUALITY - DRIFT_PER_SEC * drift_s).max(0.40),
                    ..healthy
                }
            }
            // Not one error: only the first token's time tells.
            Scenario::SlowFirstToken => Behaviour {
                error_prob: 0.0,
                ttft_factor: if green.served >= FIRST_TOKEN_AFTER {
                    SLOW_FIRST_TOKEN
                } else {
                    1.0
                },
                ..healthy
            },
        }
    }

    /// Draws one request.
    pub fn sample(&self, rng: &mut Rng) -> Sample {
        let z = rng.normal();
        let latency_s = self.median_s * (self.sigma * z).exp();
        let u = rng.next_f64();
        let code = if u >= self.error_prob {
            200
        } else if u < self.error_prob * 0.6 {
            500
        } else {
            503
        };
        let llm = LlmTimes::draw(self, z, rng);
        Sample {
            code,
            // A slower first token delays the whole answer.
            latency_s: latency_s + HTTP_TTFT_SHARE * llm.ttft_excess_s,
            llm,
        }
    }

    /// A reading of the quality gauge: the mean with a little noise.
    pub fn quality_reading(&self, rng: &mut Rng) -> f64 {
        (self.quality + QUALITY_NOISE * rng.normal()).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::stats::PodStats;
    use super::*;

    const N: usize = 20_000;

    struct Measured {
        p99_ms: f64,
        exact_p99_ms: f64,
        error_pct: f64,
        quality: f64,
    }

    fn measure(b: Behaviour, seed: u64) -> Measured {
        let mut rng = Rng::new(seed);
        let mut stats = PodStats::default();
        let mut lat = Vec::with_capacity(N);
        let mut q = 0.0;
        for _ in 0..N {
            let s = b.sample(&mut rng);
            stats.record(s);
            lat.push(s.latency_s);
            q += b.quality_reading(&mut rng);
        }
        lat.sort_by(f64::total_cmp);
        let errors: u64 = stats.codes[1] + stats.codes[2];
        Measured {
            p99_ms: stats.quantile(0.99).unwrap() * 1000.0,
            exact_p99_ms: lat[N * 99 / 100] * 1000.0,
            error_pct: errors as f64 * 100.0 / N as f64,
            quality: q / N as f64,
        }
    }

    fn history(steps: &[(u8, u64)]) -> GreenHistory {
        let mut h = GreenHistory::default();
        for &(g, secs) in steps {
            for _ in 0..secs * 10 {
                h.advance(Split::new(g).unwrap(), Duration::from_millis(100));
            }
        }
        h
    }

    #[test]
    fn rng_is_seeded_and_uniform() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        let mut r = Rng::new(1);
        let (mut sum, mut sq) = (0.0, 0.0);
        for _ in 0..N {
            let u = r.next_f64();
            assert!((0.0..1.0).contains(&u));
            let z = r.normal();
            sum += z;
            sq += z * z;
        }
        let mean = sum / N as f64;
        let var = sq / N as f64 - mean * mean;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn history_latches_25_and_counts_serving() {
        let h = history(&[(0, 3), (5, 4), (25, 2), (0, 5)]);
        assert_eq!(h.split, Split::ZERO);
        assert_eq!(h.served, Duration::from_secs(6));
        assert_eq!(h.since_25, Some(Duration::from_secs(7)));
        assert_eq!(history(&[(5, 10)]).since_25, None);
    }

    #[test]
    fn blue_targets_in_every_scenario() {
        for (i, sc) in Scenario::ALL.into_iter().enumerate() {
            let h = history(&[(50, 60)]);
            let m = measure(Behaviour::of(sc, Color::Blue, &h), 11 + i as u64);
            assert!((400.0..=450.0).contains(&m.p99_ms), "{sc} p99 {}", m.p99_ms);
            assert!(m.exact_p99_ms < m.p99_ms && m.exact_p99_ms > 300.0);
            assert!(
                (0.12..=0.3).contains(&m.error_pct),
                "{sc} err {}",
                m.error_pct
            );
            assert!((m.quality - 0.86).abs() < 0.002, "{sc} q {}", m.quality);
        }
    }

    #[test]
    fn healthy_green_is_slightly_better() {
        let m = measure(
            Behaviour::of(Scenario::Healthy, Color::Green, &history(&[(100, 120)])),
            3,
        );
        assert!((370.0..=400.0).contains(&m.p99_ms), "p99 {}", m.p99_ms);
        assert!(m.error_pct < 0.05, "err {}", m.error_pct);
        assert!((m.quality - 0.87).abs() < 0.002, "q {}", m.quality);
    }

    /// Issue 15, point 7: the healthy demo looks healthy. At the first
    /// step green serves about 50 requests a window; a window with one
    /// error shows 2 %, a WARN. Fewer than one window in a hundred may.
    #[test]
    fn a_healthy_greens_small_windows_rarely_hold_an_error() {
        let b = Behaviour::of(Scenario::Healthy, Color::Green, &history(&[(1, 10)]));
        let mut rng = Rng::new(11);
        let windows = 5_000;
        let with_error = (0..windows)
            .filter(|_| (0..50).any(|_| b.sample(&mut rng).code != 200))
            .count();
        assert!(
            with_error * 100 < windows,
            "{with_error} of {windows} windows of 50 requests hold an error"
        );
    }

    #[test]
    fn degrading_is_healthy_below_25() {
        let h = history(&[(1, 30), (5, 30)]);
        let b = Behaviour::of(Scenario::Degrading, Color::Green, &h);
        assert_eq!(b, Behaviour::GREEN_HEALTHY);
        let m = measure(b, 4);
        assert!((370.0..=400.0).contains(&m.p99_ms), "p99 {}", m.p99_ms);
        assert!(m.error_pct < 0.2, "err {}", m.error_pct);
    }

    #[test]
    fn degrading_ramps_after_25_and_stays_degraded() {
        let at = |secs| {
            let h = history(&[(5, 10), (25, secs)]);
            measure(Behaviour::of(Scenario::Degrading, Color::Green, &h), 5)
        };
        let early = at(2);
        let mid = at(6);
        let late = at(15);
        assert!(early.error_pct < mid.error_pct && mid.error_pct < late.error_pct);
        assert!(early.p99_ms < mid.p99_ms && mid.p99_ms < late.p99_ms);
        assert!(early.error_pct < 5.0, "early err {}", early.error_pct);
        assert!(
            (7.0..=9.0).contains(&late.error_pct),
            "err {}",
            late.error_pct
        );
        assert!(late.p99_ms > 5000.0, "p99 {}", late.p99_ms);
        // Rolled back and re-advanced: still degraded.
        let h = history(&[(25, 15), (0, 30), (1, 5)]);
        let again = measure(Behaviour::of(Scenario::Degrading, Color::Green, &h), 6);
        assert!(again.error_pct > 7.0 && again.p99_ms > 5000.0);
    }

    #[test]
    fn slow_quality_drifts_after_three_seconds_of_serving() {
        let q = |secs| {
            Behaviour::of(Scenario::SlowQuality, Color::Green, &history(&[(5, secs)])).quality
        };
        let blue = Behaviour::BLUE.quality;
        assert!((q(2) - blue).abs() < 1e-9);
        assert!((q(3) - blue).abs() < 1e-9);
        assert!(blue - q(6) < 0.02, "6 s: {}", q(6));
        assert!(blue - q(7) > 0.02, "7 s: {}", q(7));
        assert!(blue - q(11) < 0.05, "11 s: {}", q(11));
        assert!(blue - q(12) > 0.05, "12 s: {}", q(12));
        // Not serving: no further drift.
        let paused = history(&[(5, 20), (0, 60)]);
        assert!(
            (Behaviour::of(Scenario::SlowQuality, Color::Green, &paused).quality - q(20)).abs()
                < 1e-9
        );
        // Latency and errors stay healthy while quality drifts.
        let m = measure(
            Behaviour::of(Scenario::SlowQuality, Color::Green, &history(&[(50, 30)])),
            8,
        );
        assert!((370.0..=400.0).contains(&m.p99_ms), "p99 {}", m.p99_ms);
        assert!(m.error_pct < 0.2, "err {}", m.error_pct);
        assert!(blue - m.quality > 0.05, "q {}", m.quality);
    }

    /// TTFT p95, e2e p99 (ms) and the error rate of `n` requests.
    fn llm(b: Behaviour, seed: u64) -> (f64, f64, f64) {
        let mut rng = Rng::new(seed);
        let (mut ttft, mut e2e, mut errors) = (Vec::new(), Vec::new(), 0);
        for _ in 0..N {
            let s = b.sample(&mut rng);
            ttft.push(s.llm.ttft_s);
            e2e.push(s.llm.e2e_s);
            errors += u64::from(s.code != 200);
        }
        ttft.sort_by(f64::total_cmp);
        e2e.sort_by(f64::total_cmp);
        let at = |v: &[f64], q: f64| v[(N as f64 * q) as usize] * 1000.0;
        (
            at(&ttft, 0.95),
            at(&e2e, 0.99),
            errors as f64 * 100.0 / N as f64,
        )
    }

    /// The vLLM preset's TTFT guardrail: warn at 2 s, breach at 5 s, or
    /// +25 % / +50 % over blue; e2e p99 warns at +25 %.
    #[test]
    fn slow_first_token_breaches_against_blue_with_no_error() {
        let sc = Scenario::SlowFirstToken;
        let h = |secs| history(&[(10, secs)]);
        let (blue_ttft, blue_e2e, _) = llm(Behaviour::of(sc, Color::Blue, &h(30)), 21);
        assert!(
            (250.0..350.0).contains(&blue_ttft),
            "blue ttft p95 {blue_ttft}"
        );
        let (early, _, _) = llm(Behaviour::of(sc, Color::Green, &h(1)), 22);
        assert!(early < blue_ttft * 1.25, "before the regression: {early}");
        let (ttft, e2e, errors) = llm(Behaviour::of(sc, Color::Green, &h(30)), 23);
        assert!(
            ttft > blue_ttft * 2.0,
            "green ttft p95 {ttft} against {blue_ttft}"
        );
        assert!(
            ttft < 2000.0,
            "green ttft p95 {ttft} reaches the absolute warn"
        );
        assert_eq!(errors, 0.0);
        assert!(
            e2e < blue_e2e * 1.25 && e2e < 20_000.0,
            "e2e p99 {e2e} against {blue_e2e}"
        );
        // The HTTP view shows it as a latency rise (p99 +0.5 s: a warn).
        let m = measure(Behaviour::of(sc, Color::Green, &h(30)), 24);
        assert!((600.0..1400.0).contains(&m.p99_ms), "http p99 {}", m.p99_ms);
    }
}
