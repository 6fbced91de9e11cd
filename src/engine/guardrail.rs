//! Guardrails: every judged metric's reading against its bounds, and green
//! judged against blue. Pure: no IO, no clocks.

use std::sync::Arc;

use crate::config::{Levels, NoDataPolicy};
use crate::metricspec::{Margin, MetricSpec};
use crate::model::{Color, NoData, Reading, Snapshot, Split, Verdict};

use super::gate_reason::GateReason;

/// The config's metrics in its order, as the engine holds them: cheap to
/// publish with every state, each spec cheap to hand to a judgement.
pub type Specs = Arc<[Arc<MetricSpec>]>;

/// `specs` shared, in their order.
pub fn shared(specs: Vec<MetricSpec>) -> Specs {
    specs.into_iter().map(Arc::new).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// The value itself against fixed levels.
    Absolute,
    /// Green's value against blue's.
    VsBlue,
}

/// One check of one reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub kind: CheckKind,
    pub verdict: Verdict,
    /// The value judged: the reading for `Absolute`, how much worse green is
    /// than blue for `VsBlue` (ms above, points above, or quality below).
    pub observed: Option<f64>,
    /// The levels in the metric's unit; for `VsBlue`, the differences
    /// allowed at blue's value (NaN when a relative margin meets no blue).
    pub levels: Levels,
    /// `VsBlue`'s margins as written (`+200 ms`, `+30%`), for the texts.
    pub margins: Option<crate::metricspec::Levels<Margin>>,
}

impl Check {
    /// A short statement of the breach bound, e.g. `≤ 5000 ms` or
    /// `≤ blue +1000 ms`.
    pub fn bound_text(&self, spec: &MetricSpec) -> String {
        self.limit_text(spec, self.levels.breach, self.margins.map(|m| m.breach))
    }

    /// The warn bound in the same words, e.g. `≤ blue +200 ms`.
    pub fn warn_bound_text(&self, spec: &MetricSpec) -> String {
        self.limit_text(spec, self.levels.warn, self.margins.map(|m| m.warn))
    }

    /// The bound the current verdict was judged against: the warn level for
    /// a warning, the breach level otherwise.
    pub fn judged_text(&self, spec: &MetricSpec) -> String {
        match self.verdict {
            Verdict::Warn => self.warn_bound_text(spec),
            _ => self.bound_text(spec),
        }
    }

    fn limit_text(&self, spec: &MetricSpec, level: f64, margin: Option<Margin>) -> String {
        let sign = if spec.higher_is_worse() { "≤" } else { "≥" };
        match self.kind {
            CheckKind::Absolute => format!("{sign} {}", spec.format(level)),
            CheckKind::VsBlue => format!("{sign} blue {}", margin_text(spec, level, margin)),
        }
    }

    /// The warn level in the same words.
    pub fn warn_text(&self, spec: &MetricSpec) -> String {
        let w = self.levels.warn;
        match self.kind {
            CheckKind::Absolute => spec.format(w),
            CheckKind::VsBlue => format!(
                "blue {}",
                margin_text(spec, w, self.margins.map(|m| m.warn))
            ),
        }
    }
}

/// A `vs_blue` margin as the bounds write it, signed the worse way:
/// `+1000 ms` above blue, `-0.050` below it, `+30%` of blue's value.
pub fn vs_blue_text(spec: &MetricSpec, margin: Margin) -> String {
    margin_text(spec, f64::NAN, Some(margin))
}

/// A margin signed the worse way (`level` when none is written).
fn margin_text(spec: &MetricSpec, level: f64, margin: Option<Margin>) -> String {
    let sign = if spec.higher_is_worse() { 1.0 } else { -1.0 };
    match margin {
        Some(Margin::Relative(f)) => format!("{:+}%", sign * (f * 1000.0).round() / 10.0),
        Some(Margin::By(d)) => spec.unit.format_delta(sign * d),
        None => spec.unit.format_delta(sign * level),
    }
}

/// The judgement of one metric of one colour: the worst of its checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub color: Color,
    pub metric: Arc<MetricSpec>,
    pub verdict: Verdict,
    pub value: Option<f64>,
    /// Why there is no value, when there is none.
    pub no_data: Option<NoData>,
    pub checks: Vec<Check>,
}

impl Judgement {
    /// The metric's id, the journal's key.
    pub fn id(&self) -> &str {
        &self.metric.id
    }

    /// One line for logs and the journal, e.g.
    /// `green error rate 7.90 % BREACH (≤ 5.00 %)`.
    pub fn summary(&self) -> String {
        let value = match (&self.value, &self.no_data) {
            (Some(v), _) => self.metric.format(*v),
            (None, Some(why)) => format!("no data ({why})"),
            (None, None) => "no data".into(),
        };
        let label = &self.metric.label;
        let bounds: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.verdict == self.verdict)
            .map(|c| c.judged_text(&self.metric))
            .collect();
        if bounds.is_empty() {
            format!("{} {label} {value} {}", self.color, self.verdict)
        } else {
            format!(
                "{} {label} {value} {} ({})",
                self.color,
                self.verdict,
                bounds.join(", ")
            )
        }
    }
}

/// Judges `v` against warn and breach levels. `bad_when_higher` says which
/// side is bad.
fn judge(v: f64, levels: Levels, bad_when_higher: bool) -> Verdict {
    let over = |l: f64| if bad_when_higher { v > l } else { v < l };
    if over(levels.breach) {
        Verdict::Breach
    } else if over(levels.warn) {
        Verdict::Warn
    } else {
        Verdict::Ok
    }
}

/// Judges a value, or failing that a known lower bound of a bad-when-higher
/// value: a bound past breach is a breach, anything less is no data.
fn judge_known(
    value: Option<f64>,
    lower: Option<f64>,
    levels: Levels,
    bad_when_higher: bool,
) -> Verdict {
    match (value, lower) {
        (Some(v), _) => judge(v, levels, bad_when_higher),
        (None, Some(l)) if judge(l, levels, true) == Verdict::Breach => Verdict::Breach,
        _ => Verdict::NoData,
    }
}

/// Judges every judged metric of both colours in `snap`, in the specs'
/// order, blue's first.
///
/// Metrics with no source configured, or not judged (`guard = false`, no
/// levels), are left out. At 100 % blue serves no traffic, so the
/// comparisons with blue are left out too (blue is idle, not a baseline).
pub fn evaluate(
    snap: &Snapshot,
    split: Option<Split>,
    specs: &[Arc<MetricSpec>],
) -> Vec<Judgement> {
    let compare = split.is_none_or(|s| s.green() < 100);
    let mut out = Vec::with_capacity(2 * specs.len());
    for color in Color::BOTH {
        for (i, spec) in specs.iter().enumerate() {
            let reading = snap.color(color).at(i);
            if !reading.is_configured() || !spec.judged() {
                continue;
            }
            let blue = snap.blue.at(i).value();
            let checks = checks(
                spec,
                reading,
                (color == Color::Green && compare).then_some(blue),
            );
            out.push(judgement(color, spec, reading, checks));
        }
    }
    out
}

/// The checks of one reading; `vs_blue` is blue's value when green is
/// compared with it.
fn checks(spec: &MetricSpec, reading: &Reading, vs_blue: Option<Option<f64>>) -> Vec<Check> {
    let worse_up = spec.higher_is_worse();
    let value = reading.value();
    // A quantile above the top bucket is known only as a lower bound:
    // enough to prove a breach, never enough to pass.
    let lower = match reading {
        Reading::NoData(NoData::AboveRange(v)) if worse_up => Some(*v),
        _ => None,
    };
    let mut checks = Vec::new();
    if let Some(l) = spec.absolute {
        let levels = Levels {
            warn: l.warn,
            breach: l.breach,
        };
        checks.push(Check {
            kind: CheckKind::Absolute,
            verdict: judge_known(value, lower, levels, worse_up),
            observed: value,
            levels,
            margins: None,
        });
    }
    if let (Some(margins), Some(blue)) = (spec.vs_blue, vs_blue) {
        let allowed = spec.vs_blue_allowed(blue.unwrap_or(f64::NAN));
        let levels = allowed.map_or(
            Levels {
                warn: f64::NAN,
                breach: f64::NAN,
            },
            |a| Levels {
                warn: a.warn,
                breach: a.breach,
            },
        );
        let worse_by = match (value, blue) {
            (Some(gv), Some(bv)) if worse_up => Some(gv - bv),
            (Some(gv), Some(bv)) => Some(bv - gv),
            _ => None,
        };
        let at_least = lower.zip(blue).map(|(l, b)| l - b);
        checks.push(Check {
            kind: CheckKind::VsBlue,
            verdict: judge_known(worse_by, at_least, levels, true),
            observed: worse_by,
            levels,
            margins: Some(margins),
        });
    }
    checks
}

fn judgement(
    color: Color,
    spec: &Arc<MetricSpec>,
    reading: &Reading,
    checks: Vec<Check>,
) -> Judgement {
    let value = reading.value();
    let worst = checks
        .iter()
        .fold(Verdict::Ok, |acc, c| acc.worst(c.verdict));
    let verdict = match value {
        Some(_) => worst,
        None if worst == Verdict::Breach => Verdict::Breach,
        None => Verdict::NoData,
    };
    let no_data = match reading {
        Reading::NoData(why) => Some(why.clone()),
        Reading::Value(_) if value.is_none() => {
            Some(NoData::Other("value is NaN or infinite".into()))
        }
        Reading::Value(_) => None,
    };
    Judgement {
        color,
        metric: Arc::clone(spec),
        verdict,
        value,
        no_data,
        checks,
    }
}

/// The breach streak after one more snapshot: green breaching anywhere
/// extends it; a clean poll ends it; green with no data follows `policy`.
/// Metrics with `rollback = false` hold the gate but never count here.
pub fn next_streak(prev: u32, judgements: &[Judgement], policy: NoDataPolicy) -> u32 {
    let green = || {
        judgements
            .iter()
            .filter(|j| j.color == Color::Green && j.metric.rollback)
    };
    if green().any(|j| j.verdict == Verdict::Breach) {
        return prev + 1;
    }
    if green().any(|j| j.verdict == Verdict::NoData) {
        return match policy {
            NoDataPolicy::Hold => prev,
            NoDataPolicy::Breach => prev + 1,
            NoDataPolicy::Reset => 0,
        };
    }
    0
}

/// Green's breaching judgements, for alerts and the journal.
pub fn green_breaches(judgements: &[Judgement]) -> Vec<&Judgement> {
    judgements
        .iter()
        .filter(|j| j.color == Color::Green && j.verdict == Verdict::Breach)
        .collect()
}

/// Green's breaches that count toward auto-rollback: the rollback's reason.
pub fn rollback_breaches(judgements: &[Judgement]) -> Vec<&Judgement> {
    green_breaches(judgements)
        .into_iter()
        .filter(|j| j.metric.rollback)
        .collect()
}

/// Reasons green does not pass the advance gate: any check short of OK,
/// including no data, holds it. Worst first: breaches, then no data, then
/// warnings, so the line that shows one reason shows the one that matters.
pub fn gate_reasons(judgements: &[Judgement]) -> Vec<GateReason> {
    let rank = |v: Verdict| match v {
        Verdict::Breach => 0,
        Verdict::NoData => 1,
        _ => 2,
    };
    let mut bad: Vec<&Judgement> = judgements
        .iter()
        .filter(|j| j.color == Color::Green && j.verdict != Verdict::Ok)
        .collect();
    bad.sort_by_key(|j| rank(j.verdict));
    bad.into_iter().map(GateReason::guardrail).collect()
}

/// Green is in breach or without data: the dwell restarts on every such
/// poll (see the engine's `restart_dwell_on_bad_green`).
pub fn holds_dwell(judgements: &[Judgement]) -> bool {
    judgements
        .iter()
        .any(|j| j.color == Color::Green && matches!(j.verdict, Verdict::Breach | Verdict::NoData))
}

/// Is `v` past `level` for `spec`? Exposed for drawing thresholds.
pub fn is_past(spec: &MetricSpec, v: f64, level: f64) -> bool {
    if spec.higher_is_worse() {
        v > level
    } else {
        v < level
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ColorReadings;
    use std::time::{Duration, Instant};

    fn readings(p99: Option<f64>, err: Option<f64>, q: Option<f64>) -> ColorReadings {
        let r = |v: Option<f64>| match v {
            Some(v) => Reading::Value(v),
            None => Reading::NoData(NoData::NoRequests),
        };
        ColorReadings {
            metrics: vec![r(p99), r(err), r(q)],
            rps: Some(10.0),
            up: true,
            pods_up: None,
            warnings: vec![],
            alarms: Vec::new(),
            span: Duration::from_secs(5),
            tallies: Vec::new(),
        }
    }

    /// Today's three under today's default guardrails.
    fn specs() -> Specs {
        shared(crate::config::default_specs())
    }

    fn snap(blue: ColorReadings, green: ColorReadings) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            wall: std::time::SystemTime::now(),
            window: Duration::from_secs(5),
            blue,
            green,
        }
    }

    fn find(js: &[Judgement], c: Color, m: &str) -> Judgement {
        js.iter()
            .find(|j| j.color == c && j.id() == m)
            .cloned()
            .unwrap()
    }

    fn verdict(js: &[Judgement], c: Color, m: &str) -> Verdict {
        find(js, c, m).verdict
    }

    /// Judges blue against green at `pct` % green under the default guardrails.
    fn judge(blue: ColorReadings, green: ColorReadings, pct: u8) -> Vec<Judgement> {
        evaluate(&snap(blue, green), Split::new(pct), &specs())
    }

    /// Judges readings with every metric known, `[p99 ms, error %,
    /// quality]` per colour.
    fn judge_full(blue: [f64; 3], green: [f64; 3], pct: u8) -> Vec<Judgement> {
        let r = |[p99, err, q]: [f64; 3]| readings(Some(p99), Some(err), Some(q));
        judge(r(blue), r(green), pct)
    }

    #[test]
    fn healthy_green_is_ok_everywhere() {
        let js = judge_full([400.0, 0.2, 0.86], [380.0, 0.1, 0.87], 5);
        assert_eq!(js.len(), 6);
        assert!(js.iter().all(|j| j.verdict == Verdict::Ok), "{js:#?}");
        assert!(gate_reasons(&js).is_empty());
    }

    #[test]
    fn absolute_levels_warn_then_breach() {
        // Only the error rate changes: green's judgement of it.
        let green_errors = |blue: f64, green: f64| {
            let r = |e| readings(Some(400.0), Some(e), Some(0.86));
            find(&judge(r(blue), r(green), 25), Color::Green, "error_rate")
        };
        let j = green_errors(0.2, 7.9);
        assert_eq!(j.verdict, Verdict::Breach);
        assert!(j.summary().contains("7.90 %"), "{}", j.summary());
        assert!(j.summary().contains("≤ 5.00 %"), "{}", j.summary());

        let j = green_errors(0.2, 0.6);
        assert_eq!(j.verdict, Verdict::Ok);
        // exactly at a level is within it
        let j = green_errors(0.8, 1.0);
        assert_eq!(j.verdict, Verdict::Ok);
    }

    #[test]
    fn quality_is_bad_when_low() {
        let js = judge_full([400.0, 0.2, 0.72], [400.0, 0.2, 0.69], 25);
        assert_eq!(verdict(&js, Color::Blue, "quality"), Verdict::Warn);
        assert_eq!(verdict(&js, Color::Green, "quality"), Verdict::Breach);
    }

    #[test]
    fn comparison_with_blue() {
        // green 300 ms slower than blue: past the +200 warn, within +1000
        let js = judge_full([400.0, 0.2, 0.90], [700.0, 0.2, 0.87], 25);
        let p = find(&js, Color::Green, "p99_ms");
        assert_eq!(p.verdict, Verdict::Warn);
        let vs = p
            .checks
            .iter()
            .find(|c| c.kind == CheckKind::VsBlue)
            .unwrap();
        assert_eq!(vs.observed, Some(300.0));
        assert_eq!(vs.bound_text(&specs()[0]), "≤ blue +1000 ms");
        // A warning names the warn bound it crossed, not the breach bound.
        assert!(
            p.summary().ends_with("WARN (≤ blue +200 ms)"),
            "{}",
            p.summary()
        );
        // quality 0.03 below blue: past the 0.02 warn drop
        let q = find(&js, Color::Green, "quality");
        assert_eq!(q.verdict, Verdict::Warn);
        assert_eq!(gate_reasons(&js).len(), 2);
        // quality 0.06 below blue: breach
        let js = judge_full([400.0, 0.2, 0.90], [400.0, 0.2, 0.84], 25);
        assert_eq!(verdict(&js, Color::Green, "quality"), Verdict::Breach);
    }

    /// Blue reports nothing, green is healthy: the judgements at `pct` %
    /// green, and green's p99 among them.
    fn blue_silent(pct: u8) -> (Vec<Judgement>, Judgement) {
        let green = readings(Some(400.0), Some(0.2), Some(0.9));
        let js = judge(readings(None, None, None), green, pct);
        let p99 = find(&js, Color::Green, "p99_ms");
        (js, p99)
    }

    #[test]
    fn no_blue_data_makes_the_comparison_no_data_not_ok() {
        let (js, p) = blue_silent(25);
        // absolute ok, comparison unknown: the worst is no data
        assert_eq!(p.verdict, Verdict::NoData);
        assert!(!gate_reasons(&js).is_empty());
    }

    #[test]
    fn at_full_split_blue_is_idle_and_not_compared() {
        let (_, p) = blue_silent(100);
        assert_eq!(p.verdict, Verdict::Ok);
        assert_eq!(p.checks.len(), 1);
    }

    #[test]
    fn not_configured_metrics_are_left_out() {
        let mut g = readings(Some(400.0), Some(0.2), None);
        g.metrics[2] = Reading::NoData(NoData::NotConfigured);
        let mut b = readings(Some(400.0), Some(0.2), None);
        b.metrics[2] = Reading::NoData(NoData::NotConfigured);
        let js = judge(b, g, 5);
        assert_eq!(js.len(), 4);
        assert!(js.iter().all(|j| j.id() != "quality"));
    }

    #[test]
    fn p99_above_the_top_bucket_can_breach_but_never_pass() {
        let blue = readings(Some(400.0), Some(0.2), Some(0.9));
        let mut g = readings(None, Some(0.2), Some(0.9));
        g.metrics[0] = Reading::NoData(NoData::AboveRange(10_000.0));
        let js = judge(blue.clone(), g, 25);
        let p = find(&js, Color::Green, "p99_ms");
        assert_eq!(p.verdict, Verdict::Breach, "{p:#?}");
        assert_eq!(green_breaches(&js).len(), 1);

        let mut g = readings(None, Some(0.2), Some(0.9));
        g.metrics[0] = Reading::NoData(NoData::AboveRange(1_000.0));
        let js = judge(blue, g, 25);
        let p = find(&js, Color::Green, "p99_ms");
        assert_eq!(p.verdict, Verdict::NoData, "{p:#?}");
        assert!(
            p.summary().contains("above the highest bucket"),
            "{}",
            p.summary()
        );
    }

    #[test]
    fn nan_is_no_data() {
        let mut g = readings(Some(400.0), Some(0.2), Some(0.9));
        g.metrics[0] = Reading::Value(f64::NAN);
        let js = judge(readings(Some(400.0), Some(0.2), Some(0.9)), g, 5);
        assert_eq!(verdict(&js, Color::Green, "p99_ms"), Verdict::NoData);
    }

    #[test]
    fn streak_counts_breaches_and_follows_the_no_data_policy() {
        let blue = [400.0, 0.2, 0.9];
        let bad = judge_full(blue, [400.0, 9.0, 0.9], 25);
        let good = judge_full(blue, [400.0, 0.1, 0.9], 25);
        let blue_readings = readings(Some(400.0), Some(0.2), Some(0.9));
        let blind = judge(blue_readings, readings(None, None, None), 25);
        assert_eq!(next_streak(0, &bad, NoDataPolicy::Hold), 1);
        assert_eq!(next_streak(1, &bad, NoDataPolicy::Hold), 2);
        assert_eq!(next_streak(2, &good, NoDataPolicy::Hold), 0);
        assert_eq!(next_streak(1, &blind, NoDataPolicy::Hold), 1);
        assert_eq!(next_streak(1, &blind, NoDataPolicy::Breach), 2);
        assert_eq!(next_streak(1, &blind, NoDataPolicy::Reset), 0);
        assert_eq!(green_breaches(&bad).len(), 1);
    }

    #[test]
    fn bound_texts() {
        let c = Check {
            kind: CheckKind::VsBlue,
            verdict: Verdict::Ok,
            observed: None,
            levels: Levels {
                warn: 0.02,
                breach: 0.05,
            },
            margins: None,
        };
        let s = specs();
        assert_eq!(c.bound_text(&s[2]), "≥ blue -0.050");
        assert_eq!(c.warn_text(&s[2]), "blue -0.020");
        assert!(is_past(&s[2], 0.6, 0.7));
        assert!(!is_past(&s[0], 0.6, 0.7));
    }

    /// Today's three with p99's `vs_blue` relative: warn at +10 %, breach
    /// at +30 % of blue's value.
    fn relative() -> Specs {
        let mut s = crate::config::default_specs();
        s[0].vs_blue = Some(crate::metricspec::Levels {
            warn: Margin::Relative(0.1),
            breach: Margin::Relative(0.3),
        });
        shared(s)
    }

    #[test]
    fn a_relative_margin_is_judged_at_blues_value() {
        let js = |green: f64| {
            let r = |p| readings(Some(p), Some(0.2), Some(0.9));
            evaluate(&snap(r(1000.0), r(green)), Split::new(25), &relative())
        };
        let p = find(&js(1050.0), Color::Green, "p99_ms");
        assert_eq!(p.verdict, Verdict::Ok);
        let p = find(&js(1200.0), Color::Green, "p99_ms");
        assert_eq!(p.verdict, Verdict::Warn);
        assert!(
            p.summary().ends_with("WARN (≤ blue +10%)"),
            "{}",
            p.summary()
        );
        let p = find(&js(1400.0), Color::Green, "p99_ms");
        assert_eq!(p.verdict, Verdict::Breach);
        let vs = &p.checks[1];
        assert_eq!((vs.observed, vs.levels.breach), (Some(400.0), 300.0));
        assert_eq!(vs.bound_text(&p.metric), "≤ blue +30%");
        // Without blue there is nothing to be relative to: no data.
        let js = evaluate(
            &snap(
                readings(None, Some(0.2), Some(0.9)),
                readings(Some(1400.0), Some(0.2), Some(0.9)),
            ),
            Split::new(25),
            &relative(),
        );
        assert_eq!(verdict(&js, Color::Green, "p99_ms"), Verdict::NoData);
    }

    /// Green's errors at 60 % under today's three, the error rate's spec
    /// changed by `change`.
    fn green_errors_at_60(change: impl FnOnce(&mut MetricSpec)) -> Vec<Judgement> {
        let mut s = crate::config::default_specs();
        change(&mut s[1]);
        let blue = readings(Some(400.0), Some(0.2), Some(0.9));
        let green = readings(Some(400.0), Some(60.0), Some(0.9));
        evaluate(&snap(blue, green), Split::new(25), &shared(s))
    }

    #[test]
    fn a_metric_not_guarded_is_never_judged() {
        let js = green_errors_at_60(|errors| errors.guard = false);
        assert_eq!(js.len(), 4);
        assert!(js.iter().all(|j| j.id() != "error_rate"));
        assert!(gate_reasons(&js).is_empty());
    }

    #[test]
    fn a_breach_without_rollback_holds_the_gate_but_starts_no_streak() {
        let js = green_errors_at_60(|errors| errors.rollback = false);
        assert_eq!(verdict(&js, Color::Green, "error_rate"), Verdict::Breach);
        assert_eq!(gate_reasons(&js).len(), 1);
        assert!(holds_dwell(&js));
        assert_eq!(green_breaches(&js).len(), 1);
        assert!(rollback_breaches(&js).is_empty());
        assert_eq!(next_streak(3, &js, NoDataPolicy::Breach), 0);
    }
}
