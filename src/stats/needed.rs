//! "How many more green requests": the countdown of the advance gate's
//! `evidence = "no regression"`.

use std::time::Duration;

/// Green requests still needed before a regression of the minimum effect
/// would have been detected at the current split. An expectation, not a
/// promise: a regression of exactly that size is seen about then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Needed {
    pub green_requests: f64,
}

impl Needed {
    pub fn none() -> Needed {
        Needed {
            green_requests: 0.0,
        }
    }

    pub fn green(requests: f64) -> Needed {
        Needed {
            green_requests: requests.max(0.0).ceil(),
        }
    }

    pub fn is_done(&self) -> bool {
        self.green_requests <= 0.0
    }

    /// How long that takes at `green_rps` green requests per second; `None`
    /// when green serves nothing (it would never come).
    pub fn time_at(&self, green_rps: f64) -> Option<Duration> {
        if self.is_done() {
            return Some(Duration::ZERO);
        }
        (green_rps > 0.0)
            .then(|| Duration::try_from_secs_f64(self.green_requests / green_rps).ok())
            .flatten()
    }
}

/// Finds the smallest `x` in `[lo, hi]` with `ok(x)`, for `ok` false below
/// some point and true above it (bisection on a monotone condition).
pub(crate) fn smallest(mut lo: f64, mut hi: f64, ok: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo <= 1e-9 * hi.abs().max(1e-300) {
            break;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_at_a_rate() {
        // 1,900 requests at 10 per second: 190 s
        let n = Needed::green(1_899.2);
        assert_eq!(n.green_requests, 1_900.0);
        assert_eq!(n.time_at(10.0), Some(Duration::from_secs(190)));
        assert_eq!(n.time_at(0.0), None);
        assert_eq!(Needed::none().time_at(0.0), Some(Duration::ZERO));
    }

    #[test]
    fn bisection_finds_the_edge() {
        let x = smallest(0.0, 100.0, |x| x * x >= 2.0);
        assert!((x - 2f64.sqrt()).abs() < 1e-6);
    }
}
