//! Kayenta's Mann-Whitney classifier: the Hodges–Lehmann estimate of the
//! shift (experiment − control) with its confidence interval, at 98 %;
//! "High" when the interval's lower end is above a quarter of the
//! estimate's size, "Low" when its upper end is below minus that
//! (kayenta-judge, MannWhitneyClassifier: fraction 0.25).

/// z for a two-sided 98 % interval.
const Z98: f64 = 2.326_348;
const FRACTION: f64 = 0.25;

/// The estimate and interval from the sorted pairwise differences: the
/// interval's ends are the order statistics k + 1 and N − k with
/// k = N/2 − z·sqrt(n m (n + m + 1) / 12) (the normal approximation of
/// the rank-sum's distribution, as for samples of 50).
fn shift(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let mut d: Vec<f64> = x
        .iter()
        .flat_map(|a| y.iter().map(move |b| a - b))
        .collect();
    d.sort_by(f64::total_cmp);
    let n = d.len();
    let median = if n % 2 == 1 {
        d[n / 2]
    } else {
        0.5 * (d[n / 2 - 1] + d[n / 2])
    };
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let k = (nx * ny / 2.0 - Z98 * (nx * ny * (nx + ny + 1.0) / 12.0).sqrt())
        .floor()
        .max(0.0) as usize;
    (median, d[k.min(n - 1)], d[(n - 1 - k).min(n - 1)])
}

pub fn high(experiment: &[f64], control: &[f64]) -> bool {
    if experiment == control {
        return false;
    }
    let (estimate, lower, _) = shift(experiment, control);
    lower > FRACTION * estimate.abs()
}

pub fn low(experiment: &[f64], control: &[f64]) -> bool {
    if experiment == control {
        return false;
    }
    let (estimate, _, upper) = shift(experiment, control);
    upper < -FRACTION * estimate.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_by_hand() {
        // x = 4, 5, 6 against y = 1, 2, 3: differences 1..5 with median 3
        let (est, _, _) = shift(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]);
        assert_eq!(est, 3.0);
    }
}
