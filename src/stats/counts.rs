//! The count test: is green's per-request event rate (errors, schema
//! failures, requests over a latency bound) higher than blue's?
//!
//! Given the requests of a poll, each event under H0 (equal rates) is
//! green's with probability ρ, green's observed share of the poll's
//! requests. Betting that it is green's with q = q(θ̂, ρ), where θ̂ is fixed
//! from earlier polls only, multiplies the evidence by
//! (q/ρ)^c_G · ((1−q)/(1−ρ))^c_B, a factor of mean 1 under H0 whatever θ̂
//! is: the product is a test martingale however the split moves (the
//! plug-in form of Lindon & Malek, NeurIPS 2022; docs/statistics.md).

use super::effect::MinEffect;
use super::increments::Counts;
use super::needed::Needed;

/// Pseudo-events on each side when estimating θ̂, so that the first few
/// events do not make a wild bet.
const PSEUDO_EVENTS: f64 = 2.0;
/// The largest rate ratio bet on: past it a single blue event costs more
/// evidence than a bet can win back.
const THETA_MAX: f64 = 20.0;

/// The probability that an event is green's when green's rate is θ times
/// blue's and green has a share ρ of the requests.
pub fn green_share_of_events(theta: f64, rho: f64) -> f64 {
    rho * theta / (rho * theta + 1.0 - rho)
}

/// Kullback–Leibler divergence of Bernoulli(q) from Bernoulli(ρ): the mean
/// log-evidence one event adds when the truth is q and the null ρ.
pub fn kl_bernoulli(q: f64, rho: f64) -> f64 {
    let term = |a: f64, b: f64| if a > 0.0 { a * (a / b).ln() } else { 0.0 };
    term(q, rho) + term(1.0 - q, 1.0 - rho)
}

/// The plug-in e-process for one count metric since green's start.
#[derive(Debug, Clone)]
pub struct CountTest {
    min_effect: MinEffect,
    log_e: f64,
    max_log_e: f64,
    blue: Counts,
    green: Counts,
    /// The log-evidence a regression of exactly `min_effect` would have been
    /// expected to add on the requests seen so far (for "no regression").
    info: f64,
}

impl CountTest {
    pub fn new(min_effect: MinEffect) -> CountTest {
        CountTest {
            min_effect,
            log_e: 0.0,
            max_log_e: 0.0,
            blue: Counts::default(),
            green: Counts::default(),
            info: 0.0,
        }
    }

    /// The evidence against "green no worse than blue": E_t.
    pub fn e_value(&self) -> f64 {
        self.log_e.exp()
    }

    /// The largest E seen: what Ville's inequality bounds.
    pub fn max_e_value(&self) -> f64 {
        self.max_log_e.exp()
    }

    /// Totals since green's start: (blue, green).
    pub fn totals(&self) -> (Counts, Counts) {
        (self.blue, self.green)
    }

    /// Blue's event rate per request from the data so far, nudged off zero
    /// (half an event) so that a clean blue still gives a usable rate.
    pub fn blue_rate(&self) -> Option<f64> {
        (self.blue.requests > 0.0).then(|| (self.blue.events + 0.5) / (self.blue.requests + 1.0))
    }

    /// θ1, the rate ratio of a regression of exactly `min_effect`: known
    /// at once for a relative effect, from blue's rate for an absolute one.
    pub fn theta_min(&self) -> Option<f64> {
        if let MinEffect::Relative(r) = self.min_effect {
            return Some(1.0 + r);
        }
        let p = self.blue_rate()?;
        Some((p + self.min_effect.rate_difference(p)) / p)
    }

    /// The ratio bet on in the next poll, from earlier polls only: green's
    /// rate over blue's with pseudo-events at the pooled rate, never below
    /// θ1 (the test is tuned to regressions worth acting on) or 1.
    pub fn bet(&self) -> f64 {
        let (g, b) = (self.green, self.blue);
        let pooled = (g.events + b.events + 1.0) / (g.requests + b.requests + 2.0);
        let pseudo_requests = PSEUDO_EVENTS / pooled;
        let rate_g = (g.events + PSEUDO_EVENTS) / (g.requests + pseudo_requests);
        let rate_b = (b.events + PSEUDO_EVENTS) / (b.requests + pseudo_requests);
        let floor = self.theta_min().unwrap_or(1.0).max(1.0);
        (rate_g / rate_b).max(floor).min(THETA_MAX)
    }

    /// Adds one poll's increments of both colours.
    pub fn update(&mut self, blue: Counts, green: Counts) {
        let n = blue.requests + green.requests;
        // Without requests of both colours there is no share to compare
        // against; events without requests are a counting slip, not data.
        if blue.requests > 0.0 && green.requests > 0.0 {
            let rho = green.requests / n;
            let q = green_share_of_events(self.bet(), rho);
            self.log_e +=
                green.events * (q / rho).ln() + blue.events * ((1.0 - q) / (1.0 - rho)).ln();
            self.max_log_e = self.max_log_e.max(self.log_e);
            if let (Some(p), Some(t1)) = (self.blue_rate(), self.theta_min()) {
                let events = p * (t1 * green.requests + blue.requests);
                self.info += events * kl_bernoulli(green_share_of_events(t1, rho), rho);
            }
        }
        self.blue.requests += blue.requests;
        self.blue.events += blue.events;
        self.green.requests += green.requests;
        self.green.events += green.events;
    }

    /// The green requests still needed, at green's share `rho`, before a
    /// regression of `min_effect` would be expected to reach 1/`level`.
    /// `None` until blue has served requests (no rate to scale from).
    pub fn needed(&self, rho: f64, level: f64) -> Option<Needed> {
        if !(rho > 0.0 && rho < 1.0) {
            return None;
        }
        let p = self.blue_rate()?;
        let t1 = self.theta_min()?;
        let remaining = (1.0 / level).ln() - self.info;
        if remaining <= 0.0 {
            return Some(Needed::none());
        }
        let events = remaining / kl_bernoulli(green_share_of_events(t1, rho), rho);
        let requests = events / (p * (rho * t1 + 1.0 - rho));
        Some(Needed::green(rho * requests))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(requests: f64, events: f64) -> Counts {
        Counts { requests, events }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn one_poll_by_hand() {
        // No earlier data: θ̂ from pseudo-events is 1, floored at θ1 = 2
        // (+100 %). ρ = 50/100 = 0.5, q = 0.5·2/(0.5·2 + 0.5) = 2/3.
        // log E = 3 ln((2/3)/0.5) + 1 ln((1/3)/0.5)
        //       = 3·0.2876821 − 0.4054651 = 0.4575811
        let mut t = CountTest::new(MinEffect::Relative(1.0));
        assert_eq!(t.bet(), 2.0);
        t.update(c(50.0, 1.0), c(50.0, 3.0));
        assert!(
            close(t.e_value().ln(), 0.457_581_109_247_178),
            "{}",
            t.e_value().ln()
        );
    }

    #[test]
    fn the_bet_follows_earlier_polls_as_the_split_moves() {
        // +10 %: θ1 = 1.1. Poll 1 at ρ = 0.5 with θ̂ = 1.1:
        // q = 0.55/1.05; 3 ln(q/0.5) + ln((1−q)/0.5) = 0.0907699
        let mut t = CountTest::new(MinEffect::Relative(0.1));
        t.update(c(50.0, 1.0), c(50.0, 3.0));
        assert!(close(t.e_value().ln(), 0.090_769_882_735_247));
        // Poll 2's bet from poll 1: pooled (4+1)/(100+2), pseudo requests
        // 2/pooled = 40.8 on each side, so θ̂ = (3+2)/(1+2) = 5/3.
        assert!(close(t.bet(), 5.0 / 3.0));
        // Poll 2 at ρ = 25/100: q = (0.25·5/3)/(0.25·5/3 + 0.75) = 5/14;
        // 2 ln((5/14)/0.25) + 2 ln((9/14)/0.75) = 0.4050485
        t.update(c(75.0, 2.0), c(25.0, 2.0));
        assert!(close(t.e_value().ln(), 0.495_818_410_958_195));
    }

    #[test]
    fn polls_without_both_colours_move_nothing() {
        let mut t = CountTest::new(MinEffect::Relative(1.0));
        t.update(c(0.0, 0.0), c(10.0, 3.0));
        t.update(c(10.0, 1.0), c(0.0, 0.0));
        assert_eq!(t.e_value(), 1.0);
        // events with no requests at all
        t.update(c(0.0, 2.0), c(0.0, 2.0));
        assert_eq!(t.e_value(), 1.0);
    }

    #[test]
    fn kl_and_share_by_hand() {
        // STATISTICS.md's worked example: ρ = 5 %, θ1 = 2:
        // q1 = 0.1/1.05 = 0.0952381,
        // KL = q1 ln(q1/0.05) + (1−q1) ln((1−q1)/0.95)
        //    = 0.0952381·0.6443570 + 0.9047619·(−0.0487902) = 0.0172239
        let q1 = green_share_of_events(2.0, 0.05);
        assert!(close(q1, 0.1 / 1.05));
        assert!((kl_bernoulli(q1, 0.05) - 0.017_223_9).abs() < 1e-6);
        assert_eq!(kl_bernoulli(0.3, 0.3), 0.0);
    }

    #[test]
    fn requests_needed_match_the_worked_example() {
        // Blue at 0.5 % on a million requests; +0.5pt gives θ1 ≈ 2. At
        // α = 0.01/3: ln(300) / 0.0172239 = 331 events, over
        // 0.005·(0.05·2 + 0.95) = 0.00525 events per request: 63,080
        // requests, 5 % of them green: about 3,150.
        let mut t = CountTest::new(MinEffect::Points(0.5));
        t.update(c(1_000_000.0, 5_000.0), c(0.0, 0.0));
        let n = t.needed(0.05, 0.01 / 3.0).unwrap().green_requests;
        assert!((3_140.0..3_170.0).contains(&n), "{n}");
        // At 1 %: about 300,000 requests, 3,000 green.
        let n1 = t.needed(0.01, 0.01 / 3.0).unwrap().green_requests;
        assert!((2_950.0..3_100.0).contains(&n1), "{n1}");
    }

    #[test]
    fn requests_seen_count_down_what_is_needed() {
        let mut t = CountTest::new(MinEffect::Points(0.5));
        t.update(c(1_000_000.0, 5_000.0), c(0.0, 0.0));
        let before = t.needed(0.05, 0.01).unwrap().green_requests;
        // 1,000 green requests at 5 % (19,000 blue), as many errors as blue's
        t.update(c(19_000.0, 95.0), c(1_000.0, 5.0));
        let after = t.needed(0.05, 0.01).unwrap().green_requests;
        assert!(
            (before - after - 1_000.0).abs() < 10.0,
            "{before} → {after}"
        );
        // far more than needed: none left
        t.update(c(1_900_000.0, 9_500.0), c(100_000.0, 500.0));
        assert_eq!(t.needed(0.05, 0.01).unwrap().green_requests, 0.0);
        assert_eq!(
            CountTest::new(MinEffect::Points(0.5)).needed(0.05, 0.01),
            None
        );
    }
}
