//! The smallest regression worth acting on, and a metric's test settings:
//! `test = { alpha = 0.01, min_effect = "+0.5pt" }`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How much worse green must be to matter: an absolute difference
/// (`"+0.5pt"`, percentage points of a rate; `"0.03"`, the metric's own
/// unit) or a relative one (`"+30%"`). The sign may be written (`-0.03`
/// for a score where lower is worse) but the metric's direction decides
/// which way is worse, so only the size is kept.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum MinEffect {
    /// Percentage points: `+0.5pt` is 0.5 points, 0.005 as a per-request rate.
    Points(f64),
    /// A relative change: `+30%` is 0.30.
    Relative(f64),
    /// An absolute difference in the metric's own unit: `0.03`.
    Absolute(f64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("min_effect {text:?}: {why} (write e.g. \"+0.5pt\", \"+30%\" or \"0.03\")")]
pub struct EffectError {
    text: String,
    why: &'static str,
}

impl MinEffect {
    pub fn parse(text: &str) -> Result<MinEffect, EffectError> {
        let err = |why| EffectError {
            text: text.to_string(),
            why,
        };
        let t = text.trim();
        let (number, make): (&str, fn(f64) -> MinEffect) = if let Some(n) = t.strip_suffix("pt") {
            (n, MinEffect::Points)
        } else if let Some(n) = t.strip_suffix('%') {
            (n, |v| MinEffect::Relative(v / 100.0))
        } else {
            (t, MinEffect::Absolute)
        };
        let number = number.trim_end();
        let digits = number.strip_prefix(['+', '-', '−']).unwrap_or(number);
        if digits.is_empty() {
            return Err(err("no number"));
        }
        // Only plain decimals: `inf`, `NaN` and `1e3` parse as f64 but are
        // no one's idea of an effect size.
        if !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(err("not a number with an optional pt or % unit"));
        }
        let v: f64 = digits.parse().map_err(|_| err("not a number"))?;
        if v <= 0.0 {
            return Err(err("must be more than zero"));
        }
        let effect = make(v);
        if let MinEffect::Relative(r) = effect
            && r >= 10.0
        {
            return Err(err("a relative effect of 1000 % or more cannot be meant"));
        }
        Ok(effect)
    }

    /// The effect as a difference of per-request rates, given blue's rate:
    /// what the count test needs. Absolute numbers on a count are points.
    pub fn rate_difference(self, blue_rate: f64) -> f64 {
        match self {
            MinEffect::Points(p) | MinEffect::Absolute(p) => p / 100.0,
            MinEffect::Relative(r) => r * blue_rate,
        }
    }

    /// The effect as a difference in the metric's unit, given blue's mean:
    /// what the test of means needs. Points are the metric's unit too (a
    /// metric in percent moves by points).
    pub fn mean_difference(self, blue_mean: f64) -> f64 {
        match self {
            MinEffect::Points(p) | MinEffect::Absolute(p) => p,
            MinEffect::Relative(r) => r * blue_mean.abs(),
        }
    }

    /// In the user's words, signed the way that is worse: `+0.5 pt`,
    /// `+30 %`, `−0.03`.
    pub fn text(self, higher_is_worse: bool) -> String {
        let sign = if higher_is_worse { '+' } else { '−' };
        match self {
            MinEffect::Points(p) => format!("{sign}{} pt", trim(p)),
            MinEffect::Relative(r) => format!("{sign}{} %", trim(r * 100.0)),
            MinEffect::Absolute(a) => format!("{sign}{}", trim(a)),
        }
    }
}

/// A number without trailing zeros: 0.5, 30, 0.03.
fn trim(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl fmt::Display for MinEffect {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            MinEffect::Points(p) => write!(f, "+{}pt", trim(p)),
            MinEffect::Relative(r) => write!(f, "+{}%", trim(r * 100.0)),
            MinEffect::Absolute(a) => write!(f, "{}", trim(a)),
        }
    }
}

impl TryFrom<String> for MinEffect {
    type Error = EffectError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        MinEffect::parse(&s)
    }
}

impl From<MinEffect> for String {
    fn from(e: MinEffect) -> String {
        e.to_string()
    }
}

/// A metric's test: `test = { alpha = 0.01, min_effect = "+0.5pt" }`.
/// `alpha` is the false-alarm rate the user accepts for this metric before
/// the split across judged metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawTest", into = "RawTest")]
pub struct TestConfig {
    pub alpha: f64,
    pub min_effect: MinEffect,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    alpha: f64,
    min_effect: MinEffect,
}

impl TryFrom<RawTest> for TestConfig {
    type Error = String;
    fn try_from(raw: RawTest) -> Result<Self, String> {
        TestConfig::new(raw.alpha, raw.min_effect)
    }
}

impl From<TestConfig> for RawTest {
    fn from(t: TestConfig) -> RawTest {
        RawTest {
            alpha: t.alpha,
            min_effect: t.min_effect,
        }
    }
}

impl TestConfig {
    pub fn new(alpha: f64, min_effect: MinEffect) -> Result<TestConfig, String> {
        // Above 0.5 a "significant" result is likelier wrong than right.
        if !(alpha > 0.0 && alpha <= 0.5) {
            return Err(format!(
                "alpha = {alpha}: the false-alarm rate must be above 0 and at most 0.5 (e.g. 0.01)"
            ));
        }
        Ok(TestConfig { alpha, min_effect })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_points_relative_and_absolute() {
        assert_eq!(MinEffect::parse("+0.5pt"), Ok(MinEffect::Points(0.5)));
        assert_eq!(MinEffect::parse(" 0.25 pt"), Ok(MinEffect::Points(0.25)));
        assert_eq!(MinEffect::parse("+30%"), Ok(MinEffect::Relative(0.3)));
        assert_eq!(MinEffect::parse("-0.03"), Ok(MinEffect::Absolute(0.03)));
        assert_eq!(MinEffect::parse("−2%"), Ok(MinEffect::Relative(0.02)));
    }

    #[test]
    fn bad_effects_say_why() {
        for (text, why) in [
            ("", "no number"),
            ("pt", "no number"),
            ("+0pt", "more than zero"),
            ("abc", "not a number"),
            ("1e3", "not a number"),
            ("+30%%", "not a number"),
            ("NaN", "not a number"),
            ("1.2.3", "not a number"),
            ("+2000%", "1000 %"),
        ] {
            let e = MinEffect::parse(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text:?}: {e}");
            assert!(e.contains("+0.5pt"), "{e}");
        }
    }

    #[test]
    fn effects_in_rates_and_means() {
        // +0.5pt on a 0.5 % blue rate: 0.005 per request
        assert!((MinEffect::Points(0.5).rate_difference(0.005) - 0.005).abs() < 1e-15);
        // +30 % of 0.005 is 0.0015
        assert!((MinEffect::Relative(0.3).rate_difference(0.005) - 0.0015).abs() < 1e-15);
        // +30 % of a 300 ms mean is 90 ms; 0.03 is 0.03 whatever blue's mean
        assert!((MinEffect::Relative(0.3).mean_difference(300.0) - 90.0).abs() < 1e-9);
        assert_eq!(MinEffect::Absolute(0.03).mean_difference(0.85), 0.03);
    }

    #[test]
    fn texts_and_round_trip() {
        assert_eq!(MinEffect::Points(0.5).text(true), "+0.5 pt");
        assert_eq!(MinEffect::Relative(0.3).text(true), "+30 %");
        assert_eq!(MinEffect::Absolute(0.03).text(false), "−0.03");
        for s in ["+0.5pt", "+30%", "0.03"] {
            assert_eq!(MinEffect::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn test_config_deserializes_from_toml() {
        #[derive(Deserialize)]
        struct G {
            test: TestConfig,
        }
        let g: G = toml::from_str(r#"test = { alpha = 0.01, min_effect = "+0.5pt" }"#).unwrap();
        assert_eq!(g.test.alpha, 0.01);
        assert_eq!(g.test.min_effect, MinEffect::Points(0.5));
        let bad = toml::from_str::<G>(r#"test = { alpha = 0.01, min_effect = "lots" }"#);
        let e = bad.err().unwrap().to_string();
        assert!(e.contains("min_effect \"lots\""), "{e}");
        let bad = toml::from_str::<G>(r#"test = { alpha = 1.5, min_effect = "+30%" }"#);
        assert!(bad.err().unwrap().to_string().contains("alpha = 1.5"));
        let bad = toml::from_str::<G>(r#"test = { alpha = 0.01, min_efect = "+30%" }"#);
        assert!(bad.err().unwrap().to_string().contains("min_efect"));
    }
}
