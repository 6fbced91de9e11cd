//! The test of means (quality per request, tokens per request, mean TTFT):
//! the mixture sequential probability ratio test with a N(0, τ²) prior on
//! the difference (Johari, Pekelis & Walsh), on running totals of count,
//! sum and spread per colour since green's start:
//!
//!   Λ = sqrt(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²))),
//!   θ̂ = x̄_G − x̄_B,  V = s_G²/n_G + s_B²/n_B.
//!
//! The variances are plugged in, so the guarantee holds once the means are
//! near normal: nothing is judged before a burn-in of requests per colour.
//!
//! The spread s² comes from the sum of squares where every span brought
//! one. Prometheus exports none (a histogram or a `_sum`/`_count` pair
//! gives count and sum only), so otherwise it is estimated from the
//! **batch means**: each poll's increment is a batch of n_k requests with
//! mean x̄_k, and for independent values of variance σ²
//!
//!   E[ Σ_k n_k (x̄_k − x̄)² ] = (K − 1) σ²
//!
//! over K batches, whatever their sizes and the values' distribution. The
//! buckets' midpoints (`histogram::sum_sq_estimate`) were the other
//! choice, and a worse one: a `_sum`/`_count` pair (Triton's durations, a
//! mean per request) has no buckets at all, and a histogram's `+Inf`
//! bucket has no midpoint, so its values are put at the last edge; the
//! tail of a latency is where its variance lives, so a green slower only
//! in its tail would show too little spread and V would be understated.
//! Load that moves both colours' means over time only widens the batch
//! means' spread: the test is then slower, never bolder. Its cost is the
//! batches: no spread before [`MIN_BATCHES`] polls with requests of each
//! colour.

use super::effect::MinEffect;
use super::increments::Moments;
use super::needed::{Needed, smallest};

/// Requests per colour before the test may act.
pub const BURN_IN: f64 = 100.0;

/// Polls with requests per colour before a spread from batch means is
/// used: with fewer, the estimate is noisy enough (K − 1 degrees of
/// freedom) that an understated V would inflate Λ. In the A/A simulation
/// of `simulation_tests.rs` (1 s polls, log-normal TTFT, α 5 %) 5 batches
/// already kept the false alarms at 2 %; 10 leaves a margin for tails
/// heavier than the simulation's.
pub const MIN_BATCHES: f64 = 10.0;

/// log Λ for an estimated difference `d`, its variance `v` and prior `tau`.
pub fn log_msprt(d: f64, v: f64, tau: f64) -> f64 {
    let t2 = tau * tau;
    0.5 * (v / (v + t2)).ln() + d * d * t2 / (2.0 * v * (v + t2))
}

/// One colour's running totals since green's start, and the batch means
/// its spread is estimated from when no sum of squares comes with them.
#[derive(Debug, Clone, Copy)]
struct Sample {
    totals: Moments,
    /// Polls that brought requests.
    batches: f64,
    /// Σ n_k (x̄_k − x̄)², updated in West's weighted form (no difference
    /// of large sums, which would cancel for a large mean and a small
    /// spread).
    between: f64,
    /// x̄ over the batches so far.
    mean: f64,
}

impl Sample {
    fn new() -> Sample {
        Sample {
            totals: Moments {
                sum_sq: Some(0.0),
                ..Moments::default()
            },
            batches: 0.0,
            between: 0.0,
            mean: 0.0,
        }
    }

    fn add(&mut self, m: &Moments) {
        self.totals.add(m);
        let Some(batch_mean) = m.mean() else { return };
        self.batches += 1.0;
        let delta = batch_mean - self.mean;
        self.mean += delta * m.count / self.totals.count;
        self.between += m.count * delta * (batch_mean - self.mean);
    }

    /// True when the spread is estimated from batch means.
    fn batched(&self) -> bool {
        self.totals.sum_sq.is_none()
    }

    /// The per-request variance: the sample variance from the sum of
    /// squares, or the batch means' estimate once there are enough batches.
    fn variance(&self) -> Option<f64> {
        if !self.batched() {
            return self.totals.variance();
        }
        (self.batches >= MIN_BATCHES).then(|| (self.between / (self.batches - 1.0)).max(0.0))
    }
}

#[derive(Debug, Clone)]
pub struct MeanTest {
    higher_is_worse: bool,
    min_effect: MinEffect,
    blue: Sample,
    green: Sample,
    /// Fixed once, when the burn-in ends, from blue's mean then: a prior
    /// that kept moving with the data would void the mixture's guarantee.
    tau: Option<f64>,
    log_lambda: f64,
    max_log_lambda: f64,
}

impl MeanTest {
    pub fn new(min_effect: MinEffect, higher_is_worse: bool) -> MeanTest {
        MeanTest {
            higher_is_worse,
            min_effect,
            blue: Sample::new(),
            green: Sample::new(),
            tau: None,
            log_lambda: 0.0,
            max_log_lambda: 0.0,
        }
    }

    pub fn e_value(&self) -> f64 {
        self.log_lambda.exp()
    }

    pub fn max_e_value(&self) -> f64 {
        self.max_log_lambda.exp()
    }

    /// Green requests still to come before the burn-in is over.
    pub fn burn_in_left(&self) -> f64 {
        (BURN_IN - self.green.totals.count.min(self.blue.totals.count)).max(0.0)
    }

    /// Polls with requests still to come before a spread from batch means
    /// may be used (0 with a sum of squares).
    pub fn polls_left(&self) -> f64 {
        let short = |s: &Sample| match s.batched() {
            true => (MIN_BATCHES - s.batches).max(0.0),
            false => 0.0,
        };
        short(&self.blue).max(short(&self.green))
    }

    /// Whether the burn-in still holds the test back (requests or polls).
    pub fn burning_in(&self) -> bool {
        self.burn_in_left() > 0.0 || self.polls_left() > 0.0
    }

    /// How much worse green's mean is (positive: worse), with its variance.
    fn difference(&self) -> Option<(f64, f64)> {
        let (mb, mg) = (self.blue.totals.mean()?, self.green.totals.mean()?);
        let v = self.green.variance()? / self.green.totals.count
            + self.blue.variance()? / self.blue.totals.count;
        let d = if self.higher_is_worse {
            mg - mb
        } else {
            mb - mg
        };
        Some((d, v))
    }

    /// Green worse than blue, judged: the estimate points the bad way.
    pub fn points_worse(&self) -> bool {
        self.difference().is_some_and(|(d, _)| d > 0.0)
    }

    /// Adds one poll's increments of both colours.
    pub fn update(&mut self, blue: Moments, green: Moments) {
        self.blue.add(&blue);
        self.green.add(&green);
        if self.burning_in() {
            return;
        }
        if self.tau.is_none() {
            let tau = self
                .blue
                .totals
                .mean()
                .map(|m| self.min_effect.mean_difference(m));
            self.tau = tau.filter(|t| *t > 0.0 && t.is_finite());
        }
        match (self.tau, self.difference()) {
            (Some(tau), Some((d, v))) if v > 0.0 => {
                self.log_lambda = log_msprt(d, v, tau);
                self.max_log_lambda = self.max_log_lambda.max(self.log_lambda);
            }
            _ => {}
        }
    }

    /// Green requests still needed, at green's share `rho`, before a
    /// difference of the minimum effect would give Λ ≥ 1/`level`.
    pub fn needed(&self, rho: f64, level: f64) -> Option<Needed> {
        if !(rho > 0.0 && rho < 1.0) {
            return None;
        }
        let tau = self.tau?;
        let (vg, vb) = (self.green.variance()?, self.blue.variance()?);
        let (ng, nb) = (self.green.totals.count, self.blue.totals.count);
        let goal = (1.0 / level).ln();
        // The variance small enough that θ̂ = τ reaches the goal: log Λ
        // falls as V grows, so bisect on log V.
        let reached = |log_v: f64| log_msprt(tau, log_v.exp(), tau) < goal;
        let v_star = smallest(-700.0, (tau * tau).ln() + 50.0, reached).exp();
        let blue_per_green = (1.0 - rho) / rho;
        let v_after = |m: f64| vg / (ng + m) + vb / (nb + m * blue_per_green);
        if v_after(0.0) <= v_star {
            return Some(Needed::none());
        }
        let mut hi = 1.0;
        while v_after(hi) > v_star && hi < 1e15 {
            hi *= 2.0;
        }
        Some(Needed::green(smallest(0.0, hi, |m| v_after(m) <= v_star)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moments of `n` values: half at `mean − sd`, half at `mean + sd`
    /// (so the mean is `mean` and the population variance `sd²`).
    fn two_point(n: f64, mean: f64, sd: f64) -> Moments {
        Moments {
            count: n,
            sum: n * mean,
            sum_sq: Some(n * (mean * mean + sd * sd)),
        }
    }

    #[test]
    fn msprt_by_hand() {
        // V = 1, τ = 1, θ̂ = 2: sqrt(1/2)·exp(4·1/(2·1·2)) = 0.7071068·e = 1.9221155
        assert!((log_msprt(2.0, 1.0, 1.0).exp() - 1.922_115_514).abs() < 1e-8);
        // θ̂ = 0: sqrt(V/(V + τ²)) alone, below 1
        assert!((log_msprt(0.0, 1.0, 1.0).exp() - 0.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn judged_after_the_burn_in_only() {
        let mut t = MeanTest::new(MinEffect::Absolute(0.03), false);
        // 99 requests each: a huge gap, but inside the burn-in
        t.update(two_point(99.0, 0.85, 0.1), two_point(99.0, 0.5, 0.1));
        assert_eq!(t.e_value(), 1.0);
        assert_eq!(t.burn_in_left(), 1.0);
        // 1,000 each: blue 0.85, green 0.82 (lower is worse: d = +0.03),
        // sample variances 0.01·1000/999, V = 2·0.01/999 = 2.002e-5,
        // τ = 0.03: log Λ = ½ ln(V/(V+9e-4)) + 9e-4·9e-4/(2V(V+9e-4))
        //                 = −1.9138 + 21.9884 = 20.0746
        let mut t = MeanTest::new(MinEffect::Absolute(0.03), false);
        t.update(two_point(1000.0, 0.85, 0.1), two_point(1000.0, 0.82, 0.1));
        assert!(t.points_worse());
        let v: f64 = 2.0 * 0.01 / 999.0;
        let want = 0.5 * (v / (v + 9e-4)).ln() + 8.1e-7 / (2.0 * v * (v + 9e-4));
        assert!(
            (t.e_value().ln() - want).abs() < 1e-6,
            "{} {want}",
            t.e_value().ln()
        );
        assert!((want - 20.0746).abs() < 1e-3, "{want}");
    }

    /// `n` values whose sum is `n · mean`, without a sum of squares.
    fn batch(n: f64, mean: f64) -> Moments {
        Moments {
            count: n,
            sum: n * mean,
            sum_sq: None,
        }
    }

    #[test]
    fn batch_means_estimate_the_spread() {
        let mut s = Sample::new();
        // batches of 2 at 1, 4 at 4, 2 at 7: x̄ = 32/8 = 4,
        // Σ n_k (x̄_k − x̄)² = 2·9 + 0 + 2·9 = 36
        for (n, mean) in [(2.0, 1.0), (4.0, 4.0), (2.0, 7.0)] {
            s.add(&batch(n, mean));
        }
        assert_eq!((s.batches, s.mean, s.between), (3.0, 4.0, 36.0));
        assert_eq!(s.variance(), None, "too few batches");
        // 7 more batches at the mean add nothing to the spread; a poll
        // without requests is no batch: s² = 36 / (10 − 1) = 4
        s.add(&batch(0.0, 0.0));
        for _ in 0..7 {
            s.add(&batch(5.0, 4.0));
        }
        assert_eq!(s.batches, MIN_BATCHES);
        assert_eq!(s.variance(), Some(4.0));
    }

    #[test]
    fn without_a_sum_of_squares_the_batch_means_judge() {
        let mut t = MeanTest::new(MinEffect::Absolute(0.03), false);
        // 20 polls of 100 requests each colour (judged from the 10th on):
        // blue's batch means alternate 0.86 and 0.84, green's 0.84 and 0.82
        for k in 0..20 {
            let wobble = if k % 2 == 0 { 0.01 } else { -0.01 };
            t.update(batch(100.0, 0.85 + wobble), batch(100.0, 0.83 + wobble));
            if k < 9 {
                assert_eq!(t.polls_left(), f64::from(9 - k));
                assert_eq!(t.e_value(), 1.0);
            }
        }
        // s² = 20·100·0.01² / 19 per colour, V = 2 s² / 2000 = 1.0526e-5,
        // d = 0.02, τ = 0.03: log Λ = ½ ln(V/(V + 9e-4))
        //   + 4e-4·9e-4 / (2V(V + 9e-4)) = −2.2300 + 18.7803 = 16.5503
        assert_eq!(t.polls_left(), 0.0);
        assert!(t.points_worse());
        assert!(
            (t.e_value().ln() - 16.550_274_6).abs() < 1e-4,
            "{}",
            t.e_value().ln()
        );
    }

    #[test]
    fn requests_needed_reach_the_level() {
        // Blue and green equal at 300 ± 600 ms after the burn-in (a long
        // tail); +30 % of 300 ms is τ = 90 ms. By hand (bisection):
        // Λ(θ̂ = τ) = 100 at V* = 634.8; with s² = 360,000·n/(n − 1),
        // s_G²/(100 + m) + s_B²/(2000 + 19 m) = 634.8 at m = 502.4.
        let mut t = MeanTest::new(MinEffect::Relative(0.3), true);
        t.update(
            two_point(2000.0, 300.0, 600.0),
            two_point(100.0, 300.0, 600.0),
        );
        let n = t.needed(0.05, 0.01).unwrap().green_requests;
        assert_eq!(n, 503.0);
        // and a green that has seen them needs none
        t.update(
            two_point(9_500.0, 300.0, 600.0),
            two_point(503.0, 300.0, 600.0),
        );
        assert!(t.needed(0.05, 0.01).unwrap().is_done());
    }
}
