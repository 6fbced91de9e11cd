//! The test of means (quality per request, tokens per request, mean TTFT):
//! the mixture sequential probability ratio test with a N(0, τ²) prior on
//! the difference (Johari, Pekelis & Walsh), on running totals of count,
//! sum and sum of squares per colour since green's start:
//!
//!   Λ = sqrt(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²))),
//!   θ̂ = x̄_G − x̄_B,  V = s_G²/n_G + s_B²/n_B.
//!
//! The variances are plugged in, so the guarantee holds once the means are
//! near normal: nothing is judged before a burn-in of requests per colour.

use super::effect::MinEffect;
use super::increments::Moments;
use super::needed::{Needed, smallest};

/// Requests per colour before the test may act.
pub const BURN_IN: f64 = 100.0;

/// log Λ for an estimated difference `d`, its variance `v` and prior `tau`.
pub fn log_msprt(d: f64, v: f64, tau: f64) -> f64 {
    let t2 = tau * tau;
    0.5 * (v / (v + t2)).ln() + d * d * t2 / (2.0 * v * (v + t2))
}

#[derive(Debug, Clone)]
pub struct MeanTest {
    higher_is_worse: bool,
    min_effect: MinEffect,
    blue: Moments,
    green: Moments,
    /// Fixed once, when the burn-in ends, from blue's mean then: a prior
    /// that kept moving with the data would void the mixture's guarantee.
    tau: Option<f64>,
    log_lambda: f64,
    max_log_lambda: f64,
    /// A span came without a sum of squares: no spread, no test.
    no_spread: bool,
}

impl MeanTest {
    pub fn new(min_effect: MinEffect, higher_is_worse: bool) -> MeanTest {
        MeanTest {
            higher_is_worse,
            min_effect,
            blue: Moments {
                sum_sq: Some(0.0),
                ..Moments::default()
            },
            green: Moments {
                sum_sq: Some(0.0),
                ..Moments::default()
            },
            tau: None,
            log_lambda: 0.0,
            max_log_lambda: 0.0,
            no_spread: false,
        }
    }

    pub fn e_value(&self) -> f64 {
        self.log_lambda.exp()
    }

    pub fn max_e_value(&self) -> f64 {
        self.max_log_lambda.exp()
    }

    /// True when the data lacked a sum of squares: the test cannot run.
    pub fn lacks_spread(&self) -> bool {
        self.no_spread
    }

    /// Green requests still to come before the burn-in is over.
    pub fn burn_in_left(&self) -> f64 {
        (BURN_IN - self.green.count.min(self.blue.count)).max(0.0)
    }

    /// How much worse green's mean is (positive: worse), with its variance.
    fn difference(&self) -> Option<(f64, f64)> {
        let (mb, mg) = (self.blue.mean()?, self.green.mean()?);
        let v = self.green.variance()? / self.green.count + self.blue.variance()? / self.blue.count;
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
        if blue.sum_sq.is_none() || green.sum_sq.is_none() {
            self.no_spread = true;
        }
        self.blue.add(&blue);
        self.green.add(&green);
        if self.burn_in_left() > 0.0 {
            return;
        }
        if self.tau.is_none() {
            let tau = self.blue.mean().map(|m| self.min_effect.mean_difference(m));
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
        let goal = (1.0 / level).ln();
        // The variance small enough that θ̂ = τ reaches the goal: log Λ
        // falls as V grows, so bisect on log V.
        let reached = |log_v: f64| log_msprt(tau, log_v.exp(), tau) < goal;
        let v_star = smallest(-700.0, (tau * tau).ln() + 50.0, reached).exp();
        let blue_per_green = (1.0 - rho) / rho;
        let v_after =
            |m: f64| vg / (self.green.count + m) + vb / (self.blue.count + m * blue_per_green);
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

    #[test]
    fn without_a_sum_of_squares_there_is_no_test() {
        let mut t = MeanTest::new(MinEffect::Relative(0.3), true);
        let m = Moments {
            count: 500.0,
            sum: 1e5,
            sum_sq: None,
        };
        t.update(m, m);
        assert!(t.lacks_spread());
        assert_eq!(t.e_value(), 1.0);
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
