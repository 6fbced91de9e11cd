//! The shared vocabulary: colours, splits, metrics, readings, snapshots and
//! verdicts. Everything here is plain data; no IO, no clocks.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// One side of the cutover. Blue serves before the cutover; green is the
/// candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    Blue,
    Green,
}

impl Color {
    pub const BOTH: [Color; 2] = [Color::Blue, Color::Green];

    /// The colour's place in per-colour arrays (`[blue, green]`), the
    /// order of [`Color::BOTH`].
    pub fn index(self) -> usize {
        match self {
            Color::Blue => 0,
            Color::Green => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::Green => "green",
        }
    }

    pub fn upper(self) -> &'static str {
        match self {
            Color::Blue => "BLUE",
            Color::Green => "GREEN",
        }
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Percentage of traffic on green, 0..=100. Blue gets the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Split(u8);

/// A split of a share known to be valid, as tests write one (`split(25)`).
#[cfg(test)]
pub fn split(green_pct: u8) -> Split {
    Split::new(green_pct).expect("a green share of 0 to 100 %")
}

impl Split {
    pub const ZERO: Split = Split(0);
    pub const FULL: Split = Split(100);

    pub fn new(green_pct: u8) -> Option<Split> {
        (green_pct <= 100).then_some(Split(green_pct))
    }

    pub fn green(self) -> u8 {
        self.0
    }

    pub fn blue(self) -> u8 {
        100 - self.0
    }

    /// The same shares with the colours swapped: blue's share as green's
    /// (a router that names its weights the other way round).
    pub fn flipped(self) -> Split {
        Split(100 - self.0)
    }

    /// Percentage of traffic a colour receives.
    pub fn share(self, color: Color) -> u8 {
        match color {
            Color::Blue => self.blue(),
            Color::Green => self.green(),
        }
    }
}

impl TryFrom<u8> for Split {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Split::new(v).ok_or_else(|| format!("split {v} is over 100"))
    }
}

impl From<Split> for u8 {
    fn from(s: Split) -> u8 {
        s.0
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// The places of today's three metrics in the readings of a config that
/// names no others (no `[source] preset`, no `[[metrics]]`): what old
/// journals' samples and the legacy sources' tests index by. Every layer
/// works from the config's metric specs; this names no unit or bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    P99Ms,
    ErrorRate,
    Quality,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::P99Ms, Metric::ErrorRate, Metric::Quality];

    pub fn index(self) -> usize {
        match self {
            Metric::P99Ms => 0,
            Metric::ErrorRate => 1,
            Metric::Quality => 2,
        }
    }

    /// The id its spec has (`p99_ms`, `error_rate`, `quality`).
    pub fn key(self) -> &'static str {
        match self {
            Metric::P99Ms => "p99_ms",
            Metric::ErrorRate => "error_rate",
            Metric::Quality => "quality",
        }
    }
}

/// Why a reading has no value. Never treated as healthy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum NoData {
    /// The metric has no source configured; it is not judged at all.
    NotConfigured,
    /// The first poll only sets the baseline for counter deltas.
    Baseline,
    /// A target could not be reached (connection refused, DNS, HTTP status).
    Unreachable(String),
    /// A target did not answer within the timeout.
    Timeout(String),
    /// No requests were counted in the window, so there is nothing to judge.
    NoRequests,
    /// Too few requests in the window to judge: `(seen, needed)`. One error
    /// in three requests is not a 33 % error rate worth a rollback.
    FewRequests(u64, u64),
    /// A counter went backwards (a pod restarted); the baseline was reset.
    CounterReset,
    /// The series the metric needs is absent from the scrape or query.
    Missing(String),
    /// The exposition text could not be parsed, or samples were dropped.
    Parse(String),
    /// The quantile lies above the histogram's highest finite bucket: it is
    /// at least this much (in the metric's unit), but how much more is
    /// unknown. Enough to prove a breach, never enough to pass.
    AboveRange(f64),
    /// Anything else, with the source's own words.
    Other(String),
}

impl fmt::Display for NoData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoData::NotConfigured => f.write_str("not configured"),
            NoData::Baseline => f.write_str("first poll (baseline)"),
            NoData::Unreachable(s) => write!(f, "unreachable: {s}"),
            NoData::Timeout(s) => write!(f, "timeout: {s}"),
            NoData::NoRequests => f.write_str("no requests in window"),
            NoData::FewRequests(seen, needed) => {
                write!(f, "only {seen} requests in window (judging needs {needed})")
            }
            NoData::CounterReset => f.write_str("counter reset"),
            NoData::Missing(s) => write!(f, "missing series: {s}"),
            NoData::Parse(s) => write!(f, "parse: {s}"),
            NoData::AboveRange(v) => write!(f, "above the highest bucket (≥ {v:.0})"),
            NoData::Other(s) => f.write_str(s),
        }
    }
}

/// One metric of one colour: a value, or no data with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    Value(f64),
    NoData(NoData),
}

impl Reading {
    pub fn value(&self) -> Option<f64> {
        match self {
            Reading::Value(v) if v.is_finite() => Some(*v),
            _ => None,
        }
    }

    pub fn is_configured(&self) -> bool {
        !matches!(self, Reading::NoData(NoData::NotConfigured))
    }
}

/// The cumulative totals behind one metric's reading, summed over the
/// colour's pods: what the sequential tests take increments of between
/// polls. A pod that restarts makes the totals fall, which the tests read
/// as a span lost rather than as negative traffic.
#[derive(Debug, Clone, PartialEq)]
pub enum Tally {
    /// A ratio's counters: `requests` is the denominator, `events` the
    /// numerator (with `complement`, the requests not counted by it).
    Counts { requests: f64, events: f64 },
    /// A histogram's cumulative buckets as `(le, count)`, `le` in the
    /// metric's unit and sorted, the last `+Inf`; `count` is the `+Inf`
    /// bucket's. `sum` (in the metric's unit) where the source reads it.
    Buckets {
        count: f64,
        buckets: Vec<(f64, f64)>,
        sum: Option<f64>,
    },
    /// A mean's counters: `count` requests (the denominator) and the `sum`
    /// of their values (the numerator), in the metric's unit. No source
    /// exports a sum of squares; the test of means estimates the spread
    /// from the increments between polls (`stats::means`).
    Moments { count: f64, sum: f64 },
}

/// Everything measured of one colour in one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct ColorReadings {
    /// One reading per metric, in the order of the config's metrics
    /// (`Config::metric_specs`); a source may give fewer, and the missing
    /// ones read as not configured (see [`ColorReadings::at`]).
    pub metrics: Vec<Reading>,
    /// Requests per second seen in the window, when counted.
    pub rps: Option<f64>,
    /// True when every target of this colour answered the poll.
    pub up: bool,
    /// Targets of this colour up, of all its targets (`pods 3/4 up`), where
    /// the source knows them (Prometheus' `up` query).
    pub pods_up: Option<(u32, u32)>,
    /// Warnings that do not make a reading invalid (e.g. samples that the
    /// parser dropped), shown in the event log.
    pub warnings: Vec<String>,
    /// Each CloudWatch alarm of this colour in `ALARM`, with its own
    /// `StateReason` (`alarm chat-green-errors in ALARM: Threshold
    /// Crossed: ...`): shown in the event log like a warning, and named
    /// behind a breach of the alarms metric and in its rollback.
    pub alarms: Vec<String>,
    /// The span of time this colour's rates and quantiles cover: zero for
    /// a baseline or a failed poll, short right after its history
    /// restarted. The gate judges each colour on its own span.
    pub span: Duration,
    /// Per metric, in the order of `metrics`, the cumulative totals a test
    /// can take increments of: `None` for what no test can judge (gauges,
    /// rates, costs, PromQL templates) or what the source did not read; a
    /// source may give fewer (see [`ColorReadings::tally`]).
    pub tallies: Vec<Option<Tally>>,
}

/// What a metric a source does not give reads as.
static NOT_CONFIGURED: Reading = Reading::NoData(NoData::NotConfigured);

impl ColorReadings {
    /// Readings for a colour whose poll failed as a whole: today's three.
    pub fn all_no_data(reason: NoData) -> Self {
        Self::no_data(3, reason)
    }

    /// Readings of `n` metrics for a colour whose poll failed as a whole.
    pub fn no_data(n: usize, reason: NoData) -> Self {
        ColorReadings {
            metrics: vec![Reading::NoData(reason); n],
            rps: None,
            up: false,
            pods_up: None,
            warnings: Vec::new(),
            alarms: Vec::new(),
            span: Duration::ZERO,
            tallies: Vec::new(),
        }
    }

    /// The reading of the metric at `index` in the config's order.
    pub fn at(&self, index: usize) -> &Reading {
        self.metrics.get(index).unwrap_or(&NOT_CONFIGURED)
    }

    /// The cumulative totals of the metric at `index`, when the source
    /// gave them.
    pub fn tally(&self, index: usize) -> Option<&Tally> {
        self.tallies.get(index).and_then(Option::as_ref)
    }

    /// The reading of one of today's three, in a config of only those.
    pub fn get(&self, m: Metric) -> &Reading {
        self.at(m.index())
    }
}

/// One poll of both colours. A number is never shown or judged without the
/// time it was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// When the poll completed (monotonic, for ages and windows).
    pub at: Instant,
    /// Wall-clock time the data was measured at (a server's own timestamp
    /// where it gives one), for history and the journal.
    pub wall: SystemTime,
    /// The span of time the rates and quantiles cover (zero for the baseline).
    pub window: Duration,
    pub blue: ColorReadings,
    pub green: ColorReadings,
}

impl Snapshot {
    pub fn color(&self, c: Color) -> &ColorReadings {
        match c {
            Color::Blue => &self.blue,
            Color::Green => &self.green,
        }
    }
}

/// The judgement of a reading against its guardrail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    /// Past the warn level: shown in amber, and holds the advance gate.
    Warn,
    /// Past the breach level: shown in red, counts toward auto-rollback.
    Breach,
    /// No value to judge; never treated as healthy.
    NoData,
}

impl Verdict {
    /// A word that carries the verdict without colour.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::Warn => "WARN",
            Verdict::Breach => "BREACH",
            Verdict::NoData => "NO DATA",
        }
    }

    /// A one-character symbol that carries the verdict without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Verdict::Ok => "✓",
            Verdict::Warn => "!",
            Verdict::Breach => "✗",
            Verdict::NoData => "?",
        }
    }

    /// Ordering used to pick the worst of several: Breach > Warn > NoData > Ok.
    pub fn severity(self) -> u8 {
        match self {
            Verdict::Ok => 0,
            Verdict::NoData => 1,
            Verdict::Warn => 2,
            Verdict::Breach => 3,
        }
    }

    pub fn worst(self, other: Verdict) -> Verdict {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Runs of points without a gap, for drawing a line: a missing or
/// non-finite value breaks the line, and empty runs are left out.
pub fn unbroken_runs(points: impl IntoIterator<Item = (f64, Option<f64>)>) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (t, v) in points {
        match v {
            Some(v) if v.is_finite() => out.last_mut().expect("one run").push((t, v)),
            _ => {
                if !out.last().expect("one run").is_empty() {
                    out.push(Vec::new());
                }
            }
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colours_index_is_its_place_in_both() {
        for (i, c) in Color::BOTH.into_iter().enumerate() {
            assert_eq!(c.index(), i);
        }
    }

    #[test]
    fn split_bounds_and_shares() {
        assert!(Split::new(101).is_none());
        let s = Split::new(25).unwrap();
        assert_eq!(s.share(Color::Green), 25);
        assert_eq!(s.share(Color::Blue), 75);
        assert_eq!(s.to_string(), "25%");
    }

    #[test]
    fn nan_and_inf_are_not_values() {
        assert_eq!(Reading::Value(f64::NAN).value(), None);
        assert_eq!(Reading::Value(f64::INFINITY).value(), None);
        assert_eq!(Reading::Value(1.5).value(), Some(1.5));
    }

    #[test]
    fn worst_verdict() {
        assert_eq!(Verdict::Ok.worst(Verdict::NoData), Verdict::NoData);
        assert_eq!(Verdict::Warn.worst(Verdict::NoData), Verdict::Warn);
        assert_eq!(Verdict::Breach.worst(Verdict::Warn), Verdict::Breach);
    }
}
