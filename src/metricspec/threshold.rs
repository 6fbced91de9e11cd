//! Thresholds as written (`5000`, `"5s"`, `"250ms"`, `"5%"`, `"+30%"`,
//! `"+0.5pt"`) and as judged: a bound in the metric's unit, or a margin
//! over blue, absolute or relative. Pure.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::unit::Unit;

/// What follows the number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Suffix {
    /// A bare number: the metric's own unit.
    Bare,
    Unit(Unit),
    /// Percentage points (`pt`): a difference of two percentages.
    Points,
}

/// One threshold as written in the config.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The sign as written, when written: a margin's direction.
    pub sign: Option<char>,
    /// The number without its sign.
    pub magnitude: f64,
    pub suffix: Suffix,
    /// The text as written, for messages.
    pub written: String,
}

impl Threshold {
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let t = text.trim();
        let bad = |why: &str| {
            format!(
                "`{t}` is not a threshold ({why}); write a number with its unit, e.g. \"250ms\", \"5s\", \"5%\", \"+30%\""
            )
        };
        let (sign, rest) = match t.chars().next() {
            Some(c @ ('+' | '-')) => (Some(c), t[1..].trim_start()),
            _ => (None, t),
        };
        // `$0.05` and `0.05$` are both money.
        let (dollar, rest) = match rest.strip_prefix('$') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_' || c == 'e' || c == 'E'))
            .unwrap_or(rest.len());
        // An exponent's `e` may have eaten the start of a unit: none start with e.
        let (number, unit) = rest.split_at(end);
        let magnitude: f64 = number
            .replace('_', "")
            .parse()
            .map_err(|_| bad("no number"))?;
        if !magnitude.is_finite() {
            return Err(bad("not finite"));
        }
        let unit = unit.trim();
        let suffix = match (dollar, unit) {
            (true, "") => Suffix::Unit(Unit::Dollars),
            (true, _) => return Err(bad("`$` with another unit")),
            (false, "") => Suffix::Bare,
            (false, "pt") => Suffix::Points,
            (false, u) => Suffix::Unit(Unit::parse(u).map_err(|e| bad(&e))?),
        };
        Ok(Threshold {
            sign,
            magnitude,
            suffix,
            written: t.to_string(),
        })
    }

    fn number(v: f64) -> Threshold {
        Threshold {
            sign: (v < 0.0).then_some('-'),
            magnitude: v.abs(),
            suffix: Suffix::Bare,
            written: v.to_string(),
        }
    }

    fn signed(&self) -> f64 {
        if self.sign == Some('-') {
            -self.magnitude
        } else {
            self.magnitude
        }
    }

    /// The value of an `absolute` bound in `unit`, the metric's unit.
    pub fn bound(&self, unit: Unit) -> Result<f64, String> {
        match self.suffix {
            Suffix::Bare => Ok(self.signed()),
            Suffix::Points => Err(format!(
                "`{}`: points (`pt`) are a difference; an absolute bound is a value, e.g. \"5%\"",
                self.written
            )),
            Suffix::Unit(u) => u
                .convert(self.signed(), unit)
                .map_err(|_| self.mismatch(u, unit)),
        }
    }

    /// The margin of a `vs_blue` level: how much worse than blue green may
    /// be. `%` is relative to blue's value; `pt`, a unit or a bare number
    /// is a difference in the metric's unit. A sign, when written, must
    /// point the worse way: `+` is always read as "worse by", `-` only
    /// where lower is worse.
    pub fn margin(&self, unit: Unit, higher_is_better: bool) -> Result<Margin, String> {
        if self.sign == Some('-') && !higher_is_better {
            return Err(format!(
                "`{}`: a margin is how much worse green may be; here higher is worse, so write \"+{}\"",
                self.written,
                self.written.trim_start_matches('-').trim()
            ));
        }
        match self.suffix {
            Suffix::Unit(Unit::Percent) => Ok(Margin::Relative(self.magnitude / 100.0)),
            Suffix::Points if unit == Unit::Percent => Ok(Margin::By(self.magnitude)),
            Suffix::Points => Err(format!(
                "`{}`: points (`pt`) apply to a metric in %, this one is in `{unit}`",
                self.written
            )),
            Suffix::Bare => Ok(Margin::By(self.magnitude)),
            Suffix::Unit(u) => u
                .convert(self.magnitude, unit)
                .map(Margin::By)
                .map_err(|_| self.mismatch(u, unit)),
        }
    }

    fn mismatch(&self, written: Unit, metric: Unit) -> String {
        format!(
            "`{}` is in `{written}`, but the metric is measured in `{metric}`",
            self.written
        )
    }
}

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written)
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a string with its unit, e.g. \"5s\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Threshold, E> {
                Ok(Threshold::number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Threshold, E> {
                Ok(Threshold::number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Threshold, E> {
                if v.is_finite() {
                    Ok(Threshold::number(v))
                } else {
                    Err(E::custom("a threshold must be a finite number"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Threshold, E> {
                Threshold::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Threshold::parse(text)
    }
}

/// How much worse than blue green may be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Margin {
    /// A difference in the metric's unit (ms above, points above, quality below).
    By(f64),
    /// A fraction of blue's value: 0.3 for `+30%`.
    Relative(f64),
}

impl Margin {
    /// The difference allowed when blue reads `blue`.
    pub fn allowed(self, blue: f64) -> f64 {
        match self {
            Margin::By(d) => d,
            Margin::Relative(f) => blue.abs() * f,
        }
    }

    /// As a person writes it: `+30%` or `+200 ms`.
    pub fn text(self, unit: Unit) -> String {
        match self {
            Margin::By(d) => unit.format_delta(d),
            Margin::Relative(f) => format!("{:+}%", (f * 1000.0).round() / 10.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::parsed;

    /// A threshold as written in a test.
    fn t(s: &str) -> Threshold {
        parsed(s)
    }

    #[test]
    fn bounds_with_units_convert_to_the_metrics_unit() {
        let cases = [
            ("5s", Unit::Millis, 5000.0),
            ("250ms", Unit::Millis, 250.0),
            ("250 ms", Unit::Seconds, 0.25),
            ("5%", Unit::Percent, 5.0),
            ("$0.05", Unit::Dollars, 0.05),
            ("0.05$", Unit::Dollars, 0.05),
            ("1_000", Unit::Millis, 1000.0),
            ("-3", Unit::None, -3.0),
        ];
        for (text, unit, want) in cases {
            assert_eq!(t(text).bound(unit), Ok(want), "{text} in {unit:?}");
        }
    }

    #[test]
    fn a_bare_number_is_in_the_metrics_unit() {
        assert_eq!(t("5000").bound(Unit::Millis), Ok(5000.0));
        assert_eq!(t("0.7").bound(Unit::None), Ok(0.7));
    }

    #[test]
    fn a_bound_in_another_dimension_is_refused() {
        let e = t("5%").bound(Unit::Millis).unwrap_err();
        assert!(
            e.contains("`5%` is in `%`, but the metric is measured in `ms`"),
            "{e}"
        );
        assert!(t("5s").bound(Unit::None).is_err());
        assert!(t("2pt").bound(Unit::Percent).is_err());
    }

    #[test]
    fn margins_are_relative_with_percent_and_absolute_otherwise() {
        // (text, unit, higher is better, margin)
        let cases = [
            ("+30%", Unit::Millis, false, Margin::Relative(0.3)),
            ("+200ms", Unit::Millis, false, Margin::By(200.0)),
            ("1s", Unit::Millis, false, Margin::By(1000.0)),
            ("+0.5pt", Unit::Percent, false, Margin::By(0.5)),
            ("0.5", Unit::Percent, false, Margin::By(0.5)),
            // Higher is better: "-20%" reads as 20 % below blue.
            ("-20%", Unit::TokensPerSec, true, Margin::Relative(0.2)),
            ("+20%", Unit::TokensPerSec, true, Margin::Relative(0.2)),
        ];
        for (text, unit, higher_is_better, want) in cases {
            assert_eq!(t(text).margin(unit, higher_is_better), Ok(want), "{text}");
        }
    }

    #[test]
    fn a_margin_pointing_the_better_way_is_refused() {
        let e = t("-30%").margin(Unit::Millis, false).unwrap_err();
        assert!(e.contains("write \"+30%\""), "{e}");
        let e = t("+1pt").margin(Unit::Millis, false).unwrap_err();
        assert!(e.contains("points"), "{e}");
    }

    #[test]
    fn relative_margins_scale_with_blue() {
        assert_eq!(Margin::Relative(0.3).allowed(200.0), 60.0);
        assert_eq!(Margin::By(50.0).allowed(200.0), 50.0);
        assert_eq!(Margin::Relative(0.3).text(Unit::Millis), "+30%");
        assert_eq!(Margin::By(200.0).text(Unit::Millis), "+200 ms");
    }

    #[test]
    fn nonsense_is_refused_with_examples() {
        for bad in ["", "fast", "5 parsecs", "$5ms", "inf"] {
            let e = Threshold::parse(bad).unwrap_err();
            assert!(e.contains("is not a threshold"), "{bad}: {e}");
        }
    }
}
