//! A fast A/A simulation: blue and green identical, the plan's steps
//! (1 → 5 → 25 → 50 %), the evidence checked at every poll. The share of
//! cutovers that ever alarm must be at most α. The full version, with
//! regressions and the comparisons, is examples/bench_evidence.rs.

use super::*;

struct Sampler(fastrand::Rng);

impl Sampler {
    fn normal(&mut self) -> f64 {
        // Box–Muller; 1 − u keeps the logarithm finite.
        let u = 1.0 - self.0.f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.0.f64()).cos()
    }

    /// Poisson: Knuth's product of uniforms below 30, a rounded normal
    /// above (request counts; the tests condition on them).
    fn poisson(&mut self, mean: f64) -> f64 {
        if mean >= 30.0 {
            return (mean + mean.sqrt() * self.normal()).round().max(0.0);
        }
        let (limit, mut k, mut p) = ((-mean).exp(), 0.0, 1.0);
        loop {
            p *= self.0.f64();
            if p <= limit {
                return k;
            }
            k += 1.0;
        }
    }

    /// `n` values from N(mean, sd²): each one while few, else their sum and
    /// sum of squares (χ² by its normal approximation).
    fn moments(&mut self, n: f64, mean: f64, sd: f64) -> Moments {
        if n <= 100.0 {
            let mut m = Moments {
                count: n,
                sum: 0.0,
                sum_sq: Some(0.0),
            };
            for _ in 0..n as usize {
                let x = mean + sd * self.normal();
                m.add(&Moments {
                    count: 0.0,
                    sum: x,
                    sum_sq: Some(x * x),
                });
            }
            return m;
        }
        let sum = n * mean + sd * n.sqrt() * self.normal();
        let ss = sd * sd * ((n - 1.0) + (2.0 * (n - 1.0)).sqrt() * self.normal()).max(0.0);
        Moments {
            count: n,
            sum,
            sum_sq: Some(ss + sum * sum / n),
        }
    }
}

impl Sampler {
    /// The sum of `n` values from a log-normal with log-mean `mu` and
    /// log-sd `sigma`: each one while few, else by the normal
    /// approximation with the exact mean and variance.
    fn lognormal_sum(&mut self, n: f64, mu: f64, sigma: f64) -> f64 {
        if n <= 100.0 {
            return (0..n as usize)
                .map(|_| (mu + sigma * self.normal()).exp())
                .sum();
        }
        let mean = (mu + sigma * sigma / 2.0).exp();
        let var = ((sigma * sigma).exp() - 1.0) * mean * mean;
        n * mean + (n * var).sqrt() * self.normal()
    }
}

/// `n` requests summed without a sum of squares, as Prometheus gives them.
fn summed(n: f64, sum: f64) -> Moments {
    Moments {
        count: n,
        sum,
        sum_sq: None,
    }
}

/// One cutover judged on means only, as Prometheus gives them (count and
/// sum, the spread from batch means), at 1 s polls and 1,000 requests per
/// second through 1 → 5 → 25 → 50 % (5 minutes each): TTFT log-normal
/// (median 250 ms, mean 299 ms; green's ×`ttft` slower) and quality
/// N(0.85, 0.1²). True when either test ever found green worse.
fn cutover_batched(s: &mut Sampler, alpha: f64, ttft: f64) -> bool {
    let mut set = EvidenceSet::new(vec![
        Judged::means(
            "ttft",
            TestConfig::new(alpha, MinEffect::Relative(0.3)).unwrap(),
            true,
        ),
        Judged::means(
            "quality",
            TestConfig::new(alpha, MinEffect::Absolute(0.03)).unwrap(),
            false,
        ),
    ]);
    let (mu, sigma) = (250f64.ln(), 0.598);
    let mut totals = [Moments::default(); 4];
    for share in [0.01, 0.05, 0.25, 0.50] {
        for _ in 0..300 {
            let nb = s.poisson(1_000.0 * (1.0 - share));
            let ng = s.poisson(1_000.0 * share);
            let quality = |s: &mut Sampler, n: f64| n * 0.85 + 0.1 * n.sqrt() * s.normal();
            let polled = [
                summed(nb, s.lognormal_sum(nb, mu, sigma)),
                summed(ng, ttft * s.lognormal_sum(ng, mu, sigma)),
                summed(nb, quality(s, nb)),
                summed(ng, quality(s, ng)),
            ];
            for (t, p) in totals.iter_mut().zip(polled) {
                t.add(&p);
            }
            set.get_mut("ttft")
                .unwrap()
                .observe_moments(Some(totals[0]), Some(totals[1]));
            set.get_mut("quality")
                .unwrap()
                .observe_moments(Some(totals[2]), Some(totals[3]));
            if !set.worse().is_empty() {
                return true;
            }
        }
    }
    false
}

/// One cutover; true when any metric ever found green worse.
fn cutover(s: &mut Sampler, alpha: f64, green_error: f64) -> bool {
    let mut set = EvidenceSet::new(vec![
        Judged::counts(
            "error rate",
            TestConfig::new(alpha, MinEffect::Points(0.5)).unwrap(),
        ),
        Judged::means(
            "quality",
            TestConfig::new(alpha, MinEffect::Absolute(0.03)).unwrap(),
            false,
        ),
    ]);
    let (mut cb, mut cg) = (Counts::default(), Counts::default());
    let (mut mb, mut mg) = (
        Moments {
            sum_sq: Some(0.0),
            ..Moments::default()
        },
        Moments {
            sum_sq: Some(0.0),
            ..Moments::default()
        },
    );
    for share in [0.01, 0.05, 0.25, 0.50] {
        // 5 minutes of 5 s polls at 1,000 requests per second
        for _ in 0..60 {
            let nb = s.poisson(5_000.0 * (1.0 - share));
            let ng = s.poisson(5_000.0 * share);
            cb.requests += nb;
            cb.events += s.poisson(nb * 0.005);
            cg.requests += ng;
            cg.events += s.poisson(ng * green_error);
            mb.add(&s.moments(nb, 0.85, 0.1));
            mg.add(&s.moments(ng, 0.85, 0.1));
            set.get_mut("error rate")
                .unwrap()
                .observe_counts(Some(cb), Some(cg));
            set.get_mut("quality")
                .unwrap()
                .observe_moments(Some(mb), Some(mg));
            if !set.worse().is_empty() {
                return true;
            }
        }
    }
    false
}

/// Wilson score interval for `k` of `n` at 95 %.
fn wilson(k: f64, n: f64) -> (f64, f64) {
    let (z, p) = (1.96, k / n);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    (centre - half, centre + half)
}

#[test]
fn wilson_by_hand() {
    // 0 of 100: p = 0, upper = z²/n / (1 + z²/n) = 0.038416/1.038416 = 0.036995
    let (lo, hi) = wilson(0.0, 100.0);
    assert!(
        lo.abs() < 1e-12 && (hi - 0.036_995).abs() < 1e-5,
        "{lo} {hi}"
    );
}

/// Runs `runs` A/A cutovers at level `alpha` and asserts that the share
/// that ever alarmed is not significantly above α.
fn within_alpha(what: &str, s: &mut Sampler, alpha: f64, cutover: fn(&mut Sampler, f64) -> bool) {
    let runs = 300.0;
    let alarms = (0..runs as u32).filter(|_| cutover(s, alpha)).count() as f64;
    let (lo, hi) = wilson(alarms, runs);
    eprintln!("{what}: {alarms} of {runs} alarmed, 95 % interval [{lo:.4}, {hi:.4}]");
    // The share's interval must reach down to α or below: an observed
    // share significantly above α would break the guarantee.
    assert!(
        lo <= alpha,
        "{what}: {alarms} of {runs} alarmed: [{lo:.4}, {hi:.4}] above α {alpha}"
    );
}

#[test]
fn a_a_false_alarms_stay_within_alpha() {
    let mut s = Sampler(fastrand::Rng::with_seed(19));
    within_alpha("A/A", &mut s, 0.05, |s, alpha| cutover(s, alpha, 0.005));
}

#[test]
fn a_a_false_alarms_stay_within_alpha_with_the_spread_from_batch_means() {
    let mut s = Sampler(fastrand::Rng::with_seed(23));
    within_alpha("A/A, batch means", &mut s, 0.05, |s, alpha| {
        cutover_batched(s, alpha, 1.0)
    });
    // and a TTFT 30 % slower is caught
    let caught = (0..40)
        .filter(|_| cutover_batched(&mut s, 0.01, 1.3))
        .count();
    assert!(caught >= 38, "{caught} of 40");
}

#[test]
fn a_doubled_error_rate_is_caught_in_the_same_simulation() {
    let mut s = Sampler(fastrand::Rng::with_seed(7));
    let caught = (0..40).filter(|_| cutover(&mut s, 0.01, 0.010)).count();
    assert!(caught >= 38, "{caught} of 40");
}

/// Issue 19's acceptance scenario, on the statistics alone: green serves
/// 25 % of 1,000 requests per second, blue 0.5 % errors, green `green_error`,
/// `test = { alpha = 0.01, min_effect = "+0.25pt" }` on the error rate.
/// Returns the seconds until green is found worse, within `secs`.
fn found_within(s: &mut Sampler, green_error: f64, secs: u32) -> Option<u32> {
    let cfg = TestConfig::new(0.01, MinEffect::parse("+0.25pt").unwrap()).unwrap();
    let mut set = EvidenceSet::new(vec![Judged::counts("error rate", cfg)]);
    let (mut cb, mut cg) = (Counts::default(), Counts::default());
    for t in (0..=secs).step_by(5) {
        let (nb, ng) = (s.poisson(3_750.0), s.poisson(1_250.0));
        cb.requests += nb;
        cb.events += s.poisson(nb * 0.005);
        cg.requests += ng;
        cg.events += s.poisson(ng * green_error);
        set.get_mut("error rate")
            .unwrap()
            .observe_counts(Some(cb), Some(cg));
        if !set.worse().is_empty() {
            return Some(t);
        }
    }
    None
}

#[test]
fn the_issues_scenario_rolls_back_within_120_s_and_a_healthy_green_does_not() {
    let mut s = Sampler(fastrand::Rng::with_seed(25));
    let times: Vec<Option<u32>> = (0..100).map(|_| found_within(&mut s, 0.010, 120)).collect();
    assert!(times.iter().all(Option::is_some), "{times:?}");
    let healthy = (0..100)
        .filter(|_| found_within(&mut s, 0.005, 120).is_some())
        .count();
    assert!(healthy <= 3, "{healthy} of 100 healthy greens found worse");
}
