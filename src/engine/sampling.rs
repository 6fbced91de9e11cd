//! The journal's samples: both colours' numbers and the split, written now
//! and then during a cutover so that `cutover report` can chart it. Pure:
//! the engine asks [`Sampler::take`] at each poll and writes the line.
//!
//! The size stays bounded however long a cutover lasts: at most one sample
//! per interval, and the interval doubles after every [`PER_LEVEL`]
//! samples (up to [`MAX_LEVEL`] doublings). With `sample_every = "15s"` a
//! sample line is about 135 bytes: the first hour takes 240 lines (about
//! 32 KB), a whole day about 1,100 (about 150 KB); past ten days one line
//! an hour. Outside a cutover (green at 0 %) nothing is sampled but a
//! short tail after green leaves, which shows the drain of a rollback.
//! A metric with a test adds its evidence and level, about 30 bytes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::metricspec::MetricSpec;
use crate::model::{Color, Snapshot};

/// Samples taken at one interval before it doubles.
pub const PER_LEVEL: u32 = 240;
/// The interval doubles at most this many times (15 s grows to 64 min).
pub const MAX_LEVEL: u32 = 8;
/// Samples taken after green's share returns to 0 %.
pub const TAIL: u32 = 4;

/// One sample's numbers, with short keys: a long cutover writes many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Green's share of traffic, percent, as the router last said.
    #[serde(rename = "pct", skip_serializing_if = "Option::is_none", default)]
    pub green_pct: Option<u8>,
    /// The metrics' ids, in the order of `b` and `g`. Left out for today's
    /// three (`p99_ms`, `error_rate`, `quality`), as every sample written
    /// before metrics were data reads.
    #[serde(
        rename = "m",
        skip_serializing_if = "is_legacy",
        default = "legacy_ids"
    )]
    pub ids: Vec<String>,
    /// Blue's readings, in the order of `ids`; `null` where there was no
    /// data.
    #[serde(rename = "b")]
    pub blue: Vec<Option<f64>>,
    /// Green's readings, in the same order.
    #[serde(rename = "g")]
    pub green: Vec<Option<f64>>,
    /// Requests per second, blue then green, where counted.
    #[serde(rename = "rps", skip_serializing_if = "no_rps", default)]
    pub rps: [Option<f64>; 2],
    /// The evidence (e-value) on each tested metric, by id: the report
    /// charts it over time. Absent when no metric has a test, and from
    /// samples written before samples carried it.
    #[serde(rename = "e", skip_serializing_if = "BTreeMap::is_empty", default)]
    pub evidence: BTreeMap<String, f64>,
    /// The level each of them is tested at (its α over the tested metrics,
    /// Bonferroni), by id: the evidence rejects at 1 / level. Journaled so
    /// that the report, which reads the journal alone, draws the line the
    /// engine used, whatever the config says by then.
    #[serde(rename = "a", skip_serializing_if = "BTreeMap::is_empty", default)]
    pub levels: BTreeMap<String, f64>,
}

fn no_rps(r: &[Option<f64>; 2]) -> bool {
    r.iter().all(Option::is_none)
}

/// The metrics of a sample that names none: today's three, in the order
/// every sample before metrics were data wrote them.
const LEGACY: [&str; 3] = ["p99_ms", "error_rate", "quality"];

/// Today's three ids, the metrics of a sample that names none.
pub fn legacy_ids() -> Vec<String> {
    LEGACY.map(String::from).to_vec()
}

fn is_legacy(ids: &[String]) -> bool {
    ids.iter().map(String::as_str).eq(LEGACY)
}

impl Sample {
    /// The numbers of `snap`, whose readings are in the order of `specs`.
    pub fn of<S: AsRef<MetricSpec>>(snap: &Snapshot, specs: &[S], green_pct: Option<u8>) -> Sample {
        let values = |c: Color| {
            (0..specs.len())
                .map(|i| snap.color(c).at(i).value().map(round))
                .collect()
        };
        Sample {
            green_pct,
            ids: specs.iter().map(|s| s.as_ref().id.clone()).collect(),
            blue: values(Color::Blue),
            green: values(Color::Green),
            rps: [
                snap.color(Color::Blue).rps.map(round),
                snap.color(Color::Green).rps.map(round),
            ],
            evidence: BTreeMap::new(),
            levels: BTreeMap::new(),
        }
    }

    /// With the evidence `e_values` (by id, the engine's tested metrics
    /// that a test can judge) and the level each is tested at (`levels`,
    /// by the same ids: α after the engine's Bonferroni split).
    pub fn with_evidence(
        mut self,
        e_values: BTreeMap<String, f64>,
        levels: BTreeMap<String, f64>,
    ) -> Sample {
        self.levels = levels.into_iter().map(|(id, a)| (id, round(a))).collect();
        // JSON has no infinity (serde would write `null`, which does not
        // read back as a number): evidence past 1e300 either way is written
        // as 1e300 or 1e-300, which no chart tells apart.
        self.evidence = e_values
            .into_iter()
            .filter(|(_, e)| !e.is_nan())
            .map(|(id, e)| (id, round(e.clamp(1e-300, 1e300)).clamp(1e-300, 1e300)))
            .collect();
        self
    }

    /// The reading of the metric `id` for `color`.
    pub fn get(&self, color: Color, id: &str) -> Option<f64> {
        let i = self.ids.iter().position(|m| m == id)?;
        let values = match color {
            Color::Blue => &self.blue,
            Color::Green => &self.green,
        };
        values.get(i).copied().flatten()
    }
}

/// Four significant digits: more than a chart or a reviewer can use, and
/// `0.012345678901` would cost ten bytes more a value.
pub fn round(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let digits = 3 - v.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    (v * scale).round() / scale
}

/// Decides which polls become samples.
#[derive(Debug, Clone)]
pub struct Sampler {
    every: Duration,
    last: Option<Instant>,
    /// Samples taken in the current cutover.
    taken: u32,
    in_cutover: bool,
    /// Samples still to take after green left (the tail).
    tail_left: u32,
}

impl Sampler {
    /// `every` zero turns sampling off.
    pub fn new(every: Duration) -> Sampler {
        Sampler {
            every,
            last: None,
            taken: 0,
            in_cutover: false,
            tail_left: 0,
        }
    }

    /// The interval between samples now.
    pub fn interval(&self) -> Duration {
        self.every * 2u32.pow((self.taken / PER_LEVEL).min(MAX_LEVEL))
    }

    /// True when a poll at `now`, with green at `green_pct`, is to be
    /// written as a sample (and counts it).
    pub fn take(&mut self, now: Instant, green_pct: Option<u8>) -> bool {
        if self.every.is_zero() {
            return false;
        }
        match green_pct {
            // The router could not be read: the split is unknown.
            None => return false,
            Some(0) => {
                if self.in_cutover {
                    // Green just left: its drain is sampled at once.
                    self.in_cutover = false;
                    self.tail_left = TAIL;
                    self.last = None;
                }
                if self.tail_left == 0 {
                    return false;
                }
            }
            Some(_) => {
                if !self.in_cutover {
                    // A new cutover: it gets the finest interval again.
                    self.taken = 0;
                    self.last = None;
                }
                self.in_cutover = true;
                self.tail_left = 0;
            }
        }
        if self
            .last
            .is_some_and(|l| now.duration_since(l) < self.interval())
        {
            return false;
        }
        self.last = Some(now);
        self.taken += 1;
        if !self.in_cutover {
            self.tail_left -= 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_sample_per_interval_and_only_in_a_cutover() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut sm = Sampler::new(s(15));
        assert!(!sm.take(t0, Some(0)), "no cutover yet");
        assert!(!sm.take(t0, None));
        assert!(sm.take(t0 + s(1), Some(5)));
        assert!(!sm.take(t0 + s(6), Some(5)));
        assert!(!sm.take(t0 + s(15), Some(5)));
        assert!(sm.take(t0 + s(16), Some(5)));
        // Rollback: the drain is sampled at once, then TAIL in all.
        let mut n = 0;
        for i in 0..100 {
            n += u32::from(sm.take(t0 + s(17 + i * 15), Some(0)));
        }
        assert_eq!(n, TAIL);
        assert!(!sm.take(t0 + s(5000), Some(0)));
    }

    #[test]
    fn the_interval_doubles_so_a_long_cutover_stays_small() {
        let t0 = Instant::now();
        let mut sm = Sampler::new(Duration::from_secs(15));
        let day = 24 * 3600;
        let mut n = 0;
        for i in 0..(day / 5) {
            n += u32::from(sm.take(t0 + Duration::from_secs(i * 5), Some(50)));
        }
        // 240 at 15 s (1 h), 240 at 30 s (2 h), ... : 1,200 by 31 h.
        assert!((1000..1300).contains(&n), "{n} samples in a day");
        assert!(sm.interval() > Duration::from_secs(15));
        // A new cutover starts fine again.
        sm.take(t0 + Duration::from_secs(day), Some(0));
        for i in 0..u64::from(TAIL) {
            sm.take(t0 + Duration::from_secs(day + 1 + i * 600), Some(0));
        }
        assert!(sm.take(t0 + Duration::from_secs(day + 9000), Some(1)));
        assert_eq!(sm.interval(), Duration::from_secs(15));
    }

    #[test]
    fn off_when_zero_and_values_are_rounded() {
        let mut sm = Sampler::new(Duration::ZERO);
        assert!(!sm.take(Instant::now(), Some(50)));
        assert_eq!(round(0.0123456789), 0.01235);
        assert_eq!(round(1234.5678), 1235.0);
        assert_eq!(round(0.0), 0.0);
    }

    #[test]
    fn a_sample_line_is_compact() {
        let s = Sample {
            green_pct: Some(25),
            ids: legacy_ids(),
            blue: vec![Some(412.3), Some(0.5123), Some(0.9312)],
            green: vec![Some(398.1), None, Some(0.9287)],
            rps: [Some(75.2), Some(25.1)],
            evidence: BTreeMap::new(),
            levels: BTreeMap::new(),
        };
        let rec = crate::engine::journal::Record::sample(std::time::SystemTime::UNIX_EPOCH, s);
        let line = serde_json::to_string(&rec).unwrap();
        assert!(line.len() < 140, "{} bytes: {line}", line.len());
        assert!(!line.contains("user"), "{line}");
        let back: crate::engine::journal::Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, rec);
    }

    #[test]
    fn a_sample_carries_the_evidence_and_the_level_the_engine_tests_at() {
        let s = Sample {
            green_pct: Some(5),
            ids: legacy_ids(),
            blue: vec![None; 3],
            green: vec![None; 3],
            rps: [None, None],
            evidence: BTreeMap::new(),
            levels: BTreeMap::new(),
        };
        // Two of the three can be tested (the gauge carries no e-value),
        // each at the level the engine gives it.
        let e_values = BTreeMap::from([
            ("p99_ms".to_string(), 1.0 / 3.0),
            ("error_rate".to_string(), f64::INFINITY),
        ]);
        let levels = BTreeMap::from([
            ("p99_ms".to_string(), 0.005),
            ("error_rate".to_string(), 0.005),
        ]);
        let s = s.with_evidence(e_values, levels);
        assert_eq!(s.levels["error_rate"], 0.005);
        assert_eq!(s.levels.len(), 2);
        assert_eq!(s.evidence["p99_ms"], 0.3333);
        assert_eq!(s.evidence["error_rate"], 1e300);
        let line = serde_json::to_string(&s).unwrap();
        assert!(
            line.contains(r#""e":{"error_rate":1e+300,"p99_ms":0.3333}"#),
            "{line}"
        );
        assert!(
            line.contains(r#""a":{"error_rate":0.005,"p99_ms":0.005}"#),
            "{line}"
        );
        let back: Sample = serde_json::from_str(&line).unwrap();
        assert_eq!(back, s);
        let old: Sample = serde_json::from_str(r#"{"b":[1,2,3],"g":[1,2,3]}"#).unwrap();
        assert!(old.evidence.is_empty() && old.levels.is_empty());
    }

    #[test]
    fn other_metrics_are_named_and_todays_three_read_as_ever() {
        let old = r#"{"pct":5,"b":[400,0.5,0.93],"g":[410,null,0.92]}"#;
        let s: Sample = serde_json::from_str(old).unwrap();
        assert_eq!(s.get(Color::Blue, "error_rate"), Some(0.5));
        assert_eq!(s.get(Color::Green, "error_rate"), None);
        assert_eq!(s.get(Color::Green, "quality"), Some(0.92));
        let llm = Sample {
            green_pct: Some(5),
            ids: vec!["ttft_p95".into(), "error_rate".into()],
            blue: vec![Some(0.2), Some(0.1)],
            green: vec![Some(1.5), Some(0.0)],
            rps: [None, None],
            evidence: BTreeMap::new(),
            levels: BTreeMap::new(),
        };
        let line = serde_json::to_string(&llm).unwrap();
        assert!(line.contains(r#""m":["ttft_p95","error_rate"]"#), "{line}");
        let back: Sample = serde_json::from_str(&line).unwrap();
        assert_eq!(back.get(Color::Green, "ttft_p95"), Some(1.5));
        assert_eq!(back.get(Color::Green, "p99_ms"), None);
    }
}
