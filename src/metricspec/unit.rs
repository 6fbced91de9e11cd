//! Units: what a number means, how a source's unit becomes the shown one
//! (a histogram in seconds shown in ms, a 0..1 ratio shown as %), and how a
//! value is written. Pure.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A unit a metric is shown in, or a source reports in. The shown units
/// are ms, s, %, tokens/s, $ and none; `us` and `ratio` are only ever a
/// source's (Triton's `_us` counters, an error ratio 0..1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Micros,
    Millis,
    Seconds,
    /// 0..=100.
    Percent,
    /// 0..=1, shown as a percentage.
    Ratio,
    TokensPerSec,
    Dollars,
    None,
}

/// What a unit measures: only units of one dimension convert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Time,
    Share,
    Throughput,
    Money,
    Plain,
}

impl Unit {
    /// Every unit with the word it is written as; the first spelling is
    /// the one shown.
    const WORDS: [(Unit, &'static [&'static str]); 8] = [
        (Unit::Micros, &["us", "µs"]),
        (Unit::Millis, &["ms"]),
        (Unit::Seconds, &["s"]),
        (Unit::Percent, &["%"]),
        (Unit::Ratio, &["ratio"]),
        (Unit::TokensPerSec, &["tokens/s"]),
        (Unit::Dollars, &["$"]),
        (Unit::None, &["none"]),
    ];

    /// The units a metric may be shown in.
    pub const SHOWN: [Unit; 6] = [
        Unit::Millis,
        Unit::Seconds,
        Unit::Percent,
        Unit::TokensPerSec,
        Unit::Dollars,
        Unit::None,
    ];

    pub fn word(self) -> &'static str {
        Self::WORDS
            .iter()
            .find(|(u, _)| *u == self)
            .map_or("none", |(_, w)| w[0])
    }

    /// Reads a unit as written in the config. The error lists the known
    /// words and suggests the nearest.
    pub fn parse(text: &str) -> Result<Unit, String> {
        let t = text.trim();
        if let Some((u, _)) = Self::WORDS.iter().find(|(_, w)| w.contains(&t)) {
            return Ok(*u);
        }
        // Common ways of writing the same unit.
        let alias = match t.to_ascii_lowercase().as_str() {
            "sec" | "secs" | "second" | "seconds" => Some(Unit::Seconds),
            "msec" | "millis" | "milliseconds" => Some(Unit::Millis),
            "usec" | "micros" | "microseconds" => Some(Unit::Micros),
            "percent" | "pct" => Some(Unit::Percent),
            "tok/s" | "tokens_per_second" | "tps" => Some(Unit::TokensPerSec),
            "usd" | "dollars" => Some(Unit::Dollars),
            "" | "1" => Some(Unit::None),
            _ => None,
        };
        let words: Vec<String> = Self::WORDS
            .iter()
            .map(|(_, w)| format!("`{}`", w[0]))
            .collect();
        let hint = match alias {
            Some(u) => format!("did you mean `{}`?", u.word()),
            None => format!("the units are {}", words.join(", ")),
        };
        Err(format!("`{t}` is not a unit; {hint}"))
    }

    pub fn dimension(self) -> Dimension {
        match self {
            Unit::Micros | Unit::Millis | Unit::Seconds => Dimension::Time,
            Unit::Percent | Unit::Ratio => Dimension::Share,
            Unit::TokensPerSec => Dimension::Throughput,
            Unit::Dollars => Dimension::Money,
            Unit::None => Dimension::Plain,
        }
    }

    /// How many of the dimension's base unit (seconds, 0..1 share) one of
    /// this unit is.
    fn scale(self) -> f64 {
        match self {
            Unit::Micros => 1e-6,
            Unit::Millis => 1e-3,
            Unit::Percent => 1e-2,
            _ => 1.0,
        }
    }

    /// The factor that turns a value in `self` into one in `to`, or why not.
    pub fn factor_to(self, to: Unit) -> Result<f64, String> {
        if self.dimension() != to.dimension() {
            return Err(format!(
                "a value in `{}` cannot be shown in `{}`",
                self.word(),
                to.word()
            ));
        }
        Ok(self.scale() / to.scale())
    }

    /// `v` in `self`, converted to `to`.
    pub fn convert(self, v: f64, to: Unit) -> Result<f64, String> {
        self.factor_to(to).map(|f| v * f)
    }

    /// A value in this unit as shown on screen: `412 ms`, `2.31 %`,
    /// `1.25 s`, `38.0 tokens/s`, `$0.042`, `0.871`.
    pub fn format(self, v: f64) -> String {
        if v.is_nan() {
            return "NaN".into();
        }
        if v.is_infinite() {
            let sign = if v > 0.0 { "+" } else { "-" };
            return format!("{sign}Inf {}", self.word());
        }
        match self {
            Unit::Millis | Unit::Micros if v.abs() >= 100.0 => format!("{v:.0} {}", self.word()),
            Unit::Millis | Unit::Micros => format!("{v:.1} {}", self.word()),
            Unit::Seconds => format!("{v:.2} s"),
            Unit::Percent => format!("{v:.2} %"),
            Unit::Ratio => format!("{v:.4}"),
            Unit::TokensPerSec => format!("{v:.1} tokens/s"),
            Unit::Dollars if v.abs() >= 1.0 => format!("${v:.2}"),
            Unit::Dollars => format!("${v:.4}"),
            Unit::None => format!("{v:.3}"),
        }
    }

    /// A difference (green − blue) in this unit, signed: `+200 ms`,
    /// `+0.50 pt` (percentage points), `-0.020`.
    pub fn format_delta(self, d: f64) -> String {
        // Decimals and the word after the number: a difference of
        // percentages is in points, and a ratio or a plain number has none.
        let (decimals, word) = match self {
            Unit::Millis | Unit::Micros => (0, self.word()),
            Unit::Seconds => (2, "s"),
            Unit::Percent => (2, "pt"),
            Unit::Ratio => (4, ""),
            Unit::TokensPerSec => (1, "tokens/s"),
            Unit::Dollars => (4, "$"),
            Unit::None => (3, ""),
        };
        let number = format!("{d:+.decimals$}");
        if word.is_empty() {
            number
        } else {
            format!("{number} {word}")
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.word())
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Unit::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Warnings for values that look like another unit than the declared one:
/// the Grafana panel pasted as-is (seconds read as ms, a 0..1 ratio read as
/// a percentage). `values` are in `unit`, over a span of polls; nothing is
/// said until at least one value is above zero.
pub fn plausibility(label: &str, unit: Unit, values: &[f64]) -> Vec<String> {
    let seen: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let max = seen.iter().copied().fold(f64::NAN, f64::max);
    if seen.is_empty() || max.is_nan() || max <= 0.0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    match unit {
        Unit::Millis if max < 0.1 => out.push(format!(
            "{label}: a latency under 0.1 ms (at most {max:.4} ms): is the source in seconds? \
             Declare its unit as \"s\""
        )),
        Unit::Seconds if max > 1000.0 => out.push(format!(
            "{label}: a latency over 1000 s (up to {max:.0} s): is the source in ms? \
             Declare its unit as \"ms\""
        )),
        Unit::Percent if max <= 1.0 => out.push(format!(
            "{label}: a percentage that never exceeds 1 (at most {max:.4} %): is the source a \
             ratio 0..1? Declare its unit as \"ratio\""
        )),
        Unit::Percent if max > 100.0 => out.push(format!(
            "{label}: a percentage over 100 ({max:.1} %): the source may already be scaled"
        )),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back() {
        for (u, words) in Unit::WORDS {
            for w in words {
                assert_eq!(Unit::parse(w), Ok(u));
            }
            assert_eq!(Unit::parse(u.word()), Ok(u));
        }
    }

    #[test]
    fn a_misspelt_unit_is_named_with_a_suggestion() {
        let e = Unit::parse("msec").unwrap_err();
        assert!(
            e.contains("`msec` is not a unit; did you mean `ms`?"),
            "{e}"
        );
        let e = Unit::parse("furlongs").unwrap_err();
        assert!(e.contains("`ms`") && e.contains("`tokens/s`"), "{e}");
    }

    #[test]
    fn seconds_become_milliseconds_and_ratios_percent() {
        assert_eq!(Unit::Seconds.convert(1.5, Unit::Millis), Ok(1500.0));
        assert_eq!(Unit::Micros.convert(2500.0, Unit::Millis), Ok(2.5));
        assert_eq!(
            Unit::Ratio.convert(0.27, Unit::Percent).map(|v| v.round()),
            Ok(27.0)
        );
        assert_eq!(Unit::Percent.convert(5.0, Unit::Ratio), Ok(0.05));
        assert_eq!(Unit::Dollars.convert(3.0, Unit::Dollars), Ok(3.0));
    }

    #[test]
    fn units_of_other_dimensions_do_not_convert() {
        let e = Unit::Seconds.convert(1.0, Unit::Percent).unwrap_err();
        assert!(e.contains("`s` cannot be shown in `%`"), "{e}");
        assert!(Unit::TokensPerSec.factor_to(Unit::None).is_err());
    }

    #[test]
    fn values_are_written_in_their_unit() {
        assert_eq!(Unit::Millis.format(412.4), "412 ms");
        assert_eq!(Unit::Millis.format(12.34), "12.3 ms");
        assert_eq!(Unit::Percent.format(2.314), "2.31 %");
        assert_eq!(Unit::Dollars.format(0.04213), "$0.0421");
        assert_eq!(Unit::TokensPerSec.format(38.04), "38.0 tokens/s");
        assert_eq!(Unit::None.format(0.8714), "0.871");
        assert_eq!(Unit::Millis.format(f64::INFINITY), "+Inf ms");
    }

    #[test]
    fn differences_are_signed_in_their_unit() {
        let cases = [
            (Unit::Micros, 12.4, "+12 us"),
            (Unit::Millis, 200.0, "+200 ms"),
            (Unit::Seconds, -0.5, "-0.50 s"),
            (Unit::Percent, 0.5, "+0.50 pt"),
            (Unit::Ratio, 0.01, "+0.0100"),
            (Unit::TokensPerSec, 3.25, "+3.2 tokens/s"),
            (Unit::Dollars, 0.002, "+0.0020 $"),
            (Unit::None, -0.02, "-0.020"),
        ];
        for (unit, d, text) in cases {
            assert_eq!(unit.format_delta(d), text, "{unit:?}");
        }
    }

    #[test]
    fn seconds_read_as_milliseconds_are_warned_of() {
        // A p99 of 0.012 to 0.031 "ms" is a p99 in seconds.
        let w = plausibility("p99", Unit::Millis, &[0.012, 0.031]);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("a latency under 0.1 ms"), "{w:?}");
        assert!(plausibility("p99", Unit::Millis, &[0.05, 12.0]).is_empty());
    }

    #[test]
    fn a_ratio_read_as_percent_is_warned_of() {
        // 27 % errors as a ratio reads 0.27 "%": never above 1.
        let w = plausibility("errors", Unit::Percent, &[0.0, 0.27, 0.1]);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("a percentage that never exceeds 1"), "{w:?}");
        assert!(plausibility("errors", Unit::Percent, &[0.2, 3.0]).is_empty());
    }

    #[test]
    fn nothing_is_said_before_a_value_above_zero() {
        assert!(plausibility("errors", Unit::Percent, &[0.0, 0.0]).is_empty());
        assert!(plausibility("p99", Unit::Millis, &[]).is_empty());
        assert!(plausibility("p99", Unit::Millis, &[f64::NAN]).is_empty());
    }
}
