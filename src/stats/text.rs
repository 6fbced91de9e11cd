//! The evidence in the user's words: "green's error rate is higher than
//! blue's, evidence 40× against equality (α 1 %)".

use super::evidence::{Finding, Judged};
use super::needed::Needed;

/// A whole number with thousands separators: 63,250.
pub fn grouped(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count rounded to two significant figures, for "about" (1,862 → 1,900).
pub fn about(n: f64) -> String {
    if n < 100.0 {
        return grouped(n.ceil());
    }
    let scale = 10f64.powi(n.log10().floor() as i32 - 1);
    grouped((n / scale).round() * scale)
}

/// An e-value as a factor: `2.5×`, `40×`, `1,200×`, past a million
/// `over 1,000,000×` (more digits mean nothing).
pub fn times(e: f64) -> String {
    if e >= 1e6 {
        "over 1,000,000×".into()
    } else if e >= 10.0 {
        format!("{}×", grouped(e.round()))
    } else {
        format!("{e:.1}×")
    }
}

/// The always-valid p-value 1/E as odds: `1 in 40`.
pub fn one_in(max_e: f64) -> String {
    if max_e < 1.5 {
        "1 in 1".into()
    } else {
        format!("1 in {}", times(max_e).trim_end_matches('×'))
    }
}

/// α as a percentage: `α 1 %`, `α 0.5 %`.
pub fn alpha(a: f64) -> String {
    let s = format!("{:.4}", a * 100.0);
    format!("α {} %", s.trim_end_matches('0').trim_end_matches('.'))
}

fn needed_text(j: &Judged, n: &Needed, green_rps: Option<f64>) -> String {
    let effect = j.config.min_effect.text(j.higher_is_worse);
    let mut s = format!(
        "no difference detectable yet: about {} more green requests to see {effect} at this split",
        about(n.green_requests)
    );
    if let Some(t) = green_rps.and_then(|r| n.time_at(r)) {
        s.push_str(&format!(
            " (about {} at the current rate)",
            crate::format::age(t)
        ));
    }
    s
}

/// What a burn-in still waits for: "40 more green requests", "12 more
/// polls", or both joined by "and".
fn burn_in_left(green_requests: f64, polls: f64) -> String {
    let requests =
        (green_requests > 0.0).then(|| format!("{} more green requests", grouped(green_requests)));
    let polls = match polls {
        p if p <= 0.0 => None,
        p if p <= 1.0 => Some("1 more poll".to_string()),
        p => Some(format!("{} more polls", grouped(p))),
    };
    [requests, polls]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" and ")
}

/// One line for the screen and the journal. `green_rps`, green's request
/// rate now, turns the requests still needed into time.
pub fn describe(j: &Judged, finding: &Finding, green_rps: Option<f64>) -> String {
    let a = alpha(j.config.alpha);
    match finding {
        Finding::Worse { e_value } => {
            let way = if j.higher_is_worse { "higher" } else { "lower" };
            format!(
                "green's {} is {way} than blue's, evidence {} against equality ({a})",
                j.name,
                times(*e_value)
            )
        }
        Finding::Inconclusive {
            needed: Some(n), ..
        } => needed_text(j, n, green_rps),
        Finding::Inconclusive {
            e_value,
            needed: None,
        } => format!(
            "no difference detectable yet (evidence {}); waiting for blue's requests to compare with",
            times(*e_value)
        ),
        Finding::BurnIn {
            green_requests,
            polls,
        } => format!(
            "no difference detectable yet: {} before the test may judge",
            burn_in_left(*green_requests, *polls)
        ),
        Finding::NoRegression { .. } => format!(
            "no regression of {} on green: enough requests to have seen one ({a})",
            j.config.min_effect.text(j.higher_is_worse)
        ),
        Finding::NotTestable { why } => format!("not testable ({why})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::effect::{MinEffect, TestConfig};

    #[test]
    fn numbers_in_words() {
        type Say = fn(f64) -> String;
        let cases: [(Say, &[(f64, &str)]); 5] = [
            (
                grouped,
                &[
                    (63_250.0, "63,250"),
                    (999.0, "999"),
                    (1_000_000.0, "1,000,000"),
                ],
            ),
            (
                about,
                &[(1_862.0, "1,900"), (63_250.0, "63,000"), (62.2, "63")],
            ),
            (
                times,
                &[(40.2, "40×"), (2.54, "2.5×"), (3e7, "over 1,000,000×")],
            ),
            (one_in, &[(40.0, "1 in 40")]),
            (alpha, &[(0.01, "α 1 %"), (0.005, "α 0.5 %")]),
        ];
        for (say, examples) in cases {
            for (n, want) in examples {
                assert_eq!(say(*n), *want, "{n}");
            }
        }
    }

    #[test]
    fn findings_in_the_users_words() {
        let cfg = TestConfig::new(0.01, MinEffect::Points(0.5)).unwrap();
        let j = Judged::counts("error rate", cfg);
        assert_eq!(
            describe(&j, &Finding::Worse { e_value: 40.0 }, None),
            "green's error rate is higher than blue's, evidence 40× against equality (α 1 %)"
        );
        let n = Needed::green(1_874.0);
        let f = Finding::Inconclusive {
            e_value: 0.8,
            needed: Some(n),
        };
        assert_eq!(
            describe(&j, &f, None),
            "no difference detectable yet: about 1,900 more green requests to see +0.5 pt at this split"
        );
        assert!(describe(&j, &f, Some(10.0)).ends_with("(about 3m07s at the current rate)"));
        let q = Judged::untestable("quality", cfg, false, "gauge");
        assert_eq!(describe(&q, &q.finding(None), None), "not testable (gauge)");
        let q = Judged::means(
            "quality",
            TestConfig::new(0.01, MinEffect::Absolute(0.03)).unwrap(),
            false,
        );
        let burn_in = |green_requests, polls| Finding::BurnIn {
            green_requests,
            polls,
        };
        assert_eq!(
            describe(&q, &burn_in(40.0, 12.0), None),
            "no difference detectable yet: 40 more green requests and 12 more polls before the test may judge"
        );
        assert_eq!(
            describe(&q, &burn_in(0.0, 1.0), None),
            "no difference detectable yet: 1 more poll before the test may judge"
        );
        assert_eq!(
            describe(&q, &Finding::NoRegression { e_value: 0.2 }, None),
            "no regression of −0.03 on green: enough requests to have seen one (α 1 %)"
        );
    }
}
