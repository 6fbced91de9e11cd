//! Simulated request streams: Poisson arrivals at 1,000 requests per
//! second, errors, time to first token (log-normal) and a quality score per
//! request (normal), per colour, per 2.5 s half-poll.
//!
//! Where a colour serves few requests in a half-poll (at most 200) every
//! request is drawn; above that the sums are drawn from their normal
//! approximation (exact means, variances and covariance) and the histogram
//! buckets by binomial splitting: the tests see the sums, the thresholds
//! the buckets, and both are right in distribution.

use cutover::stats::Moments;

/// Time to first token: log-normal with median 250 ms and σ 0.6 (mean
/// 299 ms, p99 about 1,000 ms).
pub const TTFT_MU: f64 = 5.521_460_917_862_246; // ln 250
pub const TTFT_SIGMA: f64 = 0.6;
/// Per-request quality: mean 0.85, sd 0.10.
pub const QUALITY: (f64, f64) = (0.85, 0.10);
pub const BLUE_ERRORS: f64 = 0.005;
/// TTFT histogram edges in ms (a Prometheus-style ladder); +Inf after.
pub const EDGES: [f64; 12] = [
    25.0, 50.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 2500.0, 5000.0, 10000.0,
];
pub const BUCKETS: usize = EDGES.len() + 1;
/// Draw each request below this many per colour and half-poll.
const EXACT_UP_TO: f64 = 200.0;

/// What a colour serves: its error rate, TTFT scale and quality shift.
#[derive(Debug, Clone, Copy)]
pub struct Truth {
    pub errors: f64,
    pub ttft_scale: f64,
    pub quality_shift: f64,
}

pub const SAME: Truth = Truth {
    errors: BLUE_ERRORS,
    ttft_scale: 1.0,
    quality_shift: 0.0,
};

/// One colour's increments over a span.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    pub requests: f64,
    pub errors: f64,
    pub ttft: Moments,
    /// Requests per TTFT bucket (not cumulative), the last one +Inf.
    pub buckets: [f64; BUCKETS],
    pub quality: Moments,
}

impl Span {
    pub fn add(&mut self, o: &Span) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.ttft.add(&o.ttft);
        self.quality.add(&o.quality);
        for (a, b) in self.buckets.iter_mut().zip(o.buckets) {
            *a += b;
        }
    }
}

pub fn zero_moments() -> Moments {
    Moments {
        count: 0.0,
        sum: 0.0,
        sum_sq: Some(0.0),
    }
}

pub fn empty_span() -> Span {
    Span {
        ttft: zero_moments(),
        quality: zero_moments(),
        ..Span::default()
    }
}

/// The standard normal CDF, from erfc by its Chebyshev fit (Numerical
/// Recipes in C, 2nd ed., §6.2 `erfcc`: fractional error below 1.2e-7).
pub fn phi(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

pub struct Sampler(pub fastrand::Rng);

impl Sampler {
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.0.f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.0.f64()).cos()
    }

    /// Poisson: Knuth's product of uniforms below 30, a rounded normal above.
    pub fn poisson(&mut self, mean: f64) -> f64 {
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

    /// Binomial(n, p): inversion while the mean is small, else normal.
    pub fn binomial(&mut self, n: f64, p: f64) -> f64 {
        if p <= 0.0 || n <= 0.0 {
            return 0.0;
        }
        if p >= 1.0 {
            return n;
        }
        if n * p.min(1.0 - p) >= 30.0 {
            let sd = (n * p * (1.0 - p)).sqrt();
            return (n * p + sd * self.normal()).round().clamp(0.0, n);
        }
        if p > 0.5 {
            return n - self.binomial(n, 1.0 - p);
        }
        let (u, q) = (self.0.f64(), p / (1.0 - p));
        let (mut k, mut pmf) = (0.0, (1.0 - p).powf(n));
        let mut cdf = pmf;
        while cdf < u && k < n {
            pmf *= q * (n - k) / (k + 1.0);
            k += 1.0;
            cdf += pmf;
        }
        k
    }

    /// One colour's requests over a span with `mean` requests expected.
    pub fn span(&mut self, mean: f64, t: &Truth) -> Span {
        let n = self.poisson(mean);
        let mut s = empty_span();
        s.requests = n;
        s.errors = self.binomial(n, t.errors);
        if n <= EXACT_UP_TO {
            self.each_request(n, t, &mut s);
        } else {
            self.sums(n, t, &mut s);
        }
        s
    }

    fn each_request(&mut self, n: f64, t: &Truth, s: &mut Span) {
        for _ in 0..n as usize {
            let x = (TTFT_MU + TTFT_SIGMA * self.normal()).exp() * t.ttft_scale;
            s.ttft.sum += x;
            s.ttft.sum_sq = s.ttft.sum_sq.map(|v| v + x * x);
            let k = EDGES.iter().position(|e| x <= *e).unwrap_or(EDGES.len());
            s.buckets[k] += 1.0;
            let q = QUALITY.0 + t.quality_shift + QUALITY.1 * self.normal();
            s.quality.sum += q;
            s.quality.sum_sq = s.quality.sum_sq.map(|v| v + q * q);
        }
        s.ttft.count = n;
        s.quality.count = n;
    }

    fn sums(&mut self, n: f64, t: &Truth, s: &mut Span) {
        // Raw moments of a log-normal: E[X^k] = exp(kμ + k²σ²/2)·scale^k.
        let m = |k: f64| {
            (k * TTFT_MU + k * k * TTFT_SIGMA * TTFT_SIGMA / 2.0).exp() * t.ttft_scale.powf(k)
        };
        let (m1, m2, m3, m4) = (m(1.0), m(2.0), m(3.0), m(4.0));
        let (v1, v2, cov) = (m2 - m1 * m1, m4 - m2 * m2, m3 - m1 * m2);
        let r = cov / (v1 * v2).sqrt();
        let (z1, z2) = (self.normal(), self.normal());
        let sum = n * m1 + (n * v1).sqrt() * z1;
        let sum_sq = n * m2 + (n * v2).sqrt() * (r * z1 + (1.0 - r * r).max(0.0).sqrt() * z2);
        s.ttft = Moments {
            count: n,
            sum,
            sum_sq: Some(sum_sq.max(sum * sum / n)),
        };
        // Buckets: each in turn takes its share of the requests left.
        let (mut left, mut below) = (n, 0.0);
        for (k, edge) in EDGES.iter().enumerate() {
            let cdf = phi(((edge / t.ttft_scale).ln() - TTFT_MU) / TTFT_SIGMA);
            let p = ((cdf - below) / (1.0 - below)).clamp(0.0, 1.0);
            s.buckets[k] = self.binomial(left, p);
            left -= s.buckets[k];
            below = cdf;
        }
        s.buckets[EDGES.len()] = left;
        // Normal values: the sum and the χ² of the spread.
        let (mu, sd) = (QUALITY.0 + t.quality_shift, QUALITY.1);
        let qsum = n * mu + sd * n.sqrt() * self.normal();
        let spread = sd * sd * ((n - 1.0) + (2.0 * (n - 1.0)).sqrt() * self.normal()).max(0.0);
        s.quality = Moments {
            count: n,
            sum: qsum,
            sum_sq: Some(spread + qsum * qsum / n),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_by_table() {
        assert!((phi(0.0) - 0.5).abs() < 1e-7);
        assert!((phi(1.96) - 0.975_002).abs() < 1e-6);
        assert!((phi(-2.326_348) - 0.01).abs() < 1e-6);
    }
}
