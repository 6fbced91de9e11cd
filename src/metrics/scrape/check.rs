//! `cutover check` for the scrape source: every target scraped once, and
//! the series each one lacks named. A config whose URLs answer but whose
//! series names are wrong would otherwise pass `check` and show *no data*
//! only in the cockpit.

use crate::metricspec::{Formula, MetricSpec, Selector};
use crate::model::Color;

use super::watch::{PodTotals, Watch, cost_tokens};
use super::{ScrapeSource, TargetResult};

/// What one metric found on one target.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecFound {
    pub id: String,
    /// The series it reads that the target has.
    pub found: Vec<String>,
    /// The series it cannot do without that the target lacks.
    pub missing: Vec<String>,
    /// Every series it reads (`Formula::series()`), named when it found none.
    pub looked_for: Vec<String>,
}

/// One target's result.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetCheck {
    pub color: Color,
    pub url: String,
    /// What each metric with a formula found, or why the target could not
    /// be read.
    pub outcome: Result<Vec<SpecFound>, String>,
}

impl TargetCheck {
    /// The series missing from the answer, each once.
    pub fn missing(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self.outcome.iter().flatten().flat_map(|s| &s.missing) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }

    pub fn failed(&self) -> bool {
        self.outcome.is_err() || !self.missing().is_empty()
    }

    /// One line for the target.
    pub fn line(&self) -> String {
        let head = format!("scrape {} {}", self.color.name(), self.url);
        match &self.outcome {
            Err(e) => format!("{head}: FAIL: {e}"),
            Ok(_) if !self.failed() => format!("{head}: ok, every series found"),
            Ok(_) => format!(
                "{head}: FAIL: series not found: {}",
                self.missing().join(", ")
            ),
        }
    }

    /// [`Self::line`], then one line per metric: what it found, or the
    /// names it looked for when it found none.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![self.line()];
        for s in self.outcome.iter().flatten() {
            out.push(if s.found.is_empty() {
                format!(
                    "  {}: none found; looked for {}",
                    s.id,
                    s.looked_for.join(", ")
                )
            } else {
                format!("  {}: found {}", s.id, s.found.join(", "))
            });
        }
        out
    }
}

/// A series a formula reads, by what the scrape keeps of it.
enum Read<'a> {
    Histogram(&'a Selector),
    Counter(&'a Selector),
    Gauge(&'a Selector),
}

impl Read<'_> {
    fn name(&self) -> String {
        match self {
            Read::Histogram(h) => super::evaluate::buckets_of(h, ""),
            Read::Counter(s) | Read::Gauge(s) => s.to_string(),
        }
    }

    fn present(&self, t: &PodTotals, w: &Watch) -> bool {
        match self {
            Read::Histogram(h) => t.histograms[w.histogram(h)].is_some(),
            Read::Counter(c) => t.counters[w.counter(c)].is_some(),
            Read::Gauge(g) => t.gauges[w.gauge(g)].is_some(),
        }
    }
}

/// The series a formula reads, in groups of which at least one each must
/// be there: a ratio's numerator may not exist before its first count, a
/// gauge's weight only weighs.
fn needs(f: &Formula) -> (Vec<Vec<Read<'_>>>, Vec<Read<'_>>) {
    fn counters(l: &[Selector]) -> Vec<Read<'_>> {
        l.iter().map(Read::Counter).collect()
    }
    match f {
        Formula::Quantile { histogram, .. } => (vec![vec![Read::Histogram(histogram)]], vec![]),
        Formula::Ratio {
            numerator,
            denominator,
            ..
        } => (vec![counters(denominator)], counters(numerator)),
        Formula::Rate { counters: c, .. } => (vec![counters(c)], vec![]),
        Formula::Gauge { gauge, weight, .. } => (
            vec![vec![Read::Gauge(gauge)]],
            weight.iter().map(Read::Counter).collect(),
        ),
        Formula::Cost(m) => {
            let (prompt, completion) = cost_tokens(m);
            let mut groups = vec![counters(&m.requests)];
            groups.extend(
                [prompt, completion]
                    .into_iter()
                    .flatten()
                    .map(|t| vec![Read::Counter(t)]),
            );
            (groups, vec![])
        }
    }
}

/// What each spec with a formula found in one pod's totals. Pure.
pub fn found(specs: &[MetricSpec], watch: &Watch, t: &PodTotals) -> Vec<SpecFound> {
    let mut out = Vec::new();
    for spec in specs {
        let Some(f) = &spec.compute.formula else {
            continue;
        };
        let (groups, optional) = needs(f);
        let mut s = SpecFound {
            id: spec.id.clone(),
            found: Vec::new(),
            missing: Vec::new(),
            looked_for: f.series(),
        };
        for group in &groups {
            if !group.iter().any(|r| r.present(t, watch)) {
                s.missing.extend(group.iter().map(Read::name));
            }
        }
        for r in groups.iter().flatten().chain(&optional) {
            if r.present(t, watch) && !s.found.contains(&r.name()) {
                s.found.push(r.name());
            }
        }
        out.push(s);
    }
    out
}

/// Judges one fetched body.
pub fn judge(
    color: Color,
    url: &str,
    body: &TargetResult,
    specs: &[MetricSpec],
    watch: &Watch,
) -> TargetCheck {
    let outcome = match body {
        Err(e) => Err(e.to_string()),
        Ok(text) => watch
            .read(url, text)
            .map(|p| found(specs, watch, &p.totals)),
    };
    TargetCheck {
        color,
        url: url.to_string(),
        outcome,
    }
}

impl ScrapeSource {
    /// Scrapes every target of both colours once (concurrently, each
    /// within the source timeout) and names what each lacks.
    pub async fn check(&self) -> Vec<TargetCheck> {
        let mut out = Vec::new();
        for color in Color::BOTH {
            let urls = self.targets(color);
            let bodies = super::fetch_all(&self.client, urls).await;
            for (url, body) in urls.iter().zip(&bodies) {
                out.push(judge(color, url, body, &self.specs, &self.watch));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::watch::testing::Names;
    use super::*;

    fn judge(color: Color, url: &str, body: &TargetResult) -> TargetCheck {
        let specs = Names::new("lat", "req", "q").specs();
        super::judge(color, url, body, &specs, &Watch::new(&specs))
    }

    #[test]
    fn each_missing_series_is_named() {
        let body: TargetResult = Ok("req{code=\"200\"} 5\nlat_bucket{le=\"+Inf\"} 5\n".into());
        let c = judge(Color::Green, "http://g/metrics", &body);
        assert_eq!(c.missing(), ["q"]);
        assert!(c.failed());
        assert!(c.line().contains("series not found: q"), "{}", c.line());
        let body: TargetResult =
            Ok("req{code=\"200\"} 5\nlat_bucket{le=\"+Inf\"} 5\nq 0.9\n".into());
        assert!(!judge(Color::Blue, "u", &body).failed());
        let body: TargetResult = Ok(String::new());
        let c = judge(Color::Blue, "u", &body);
        assert_eq!(c.missing(), ["lat_bucket", "req", "q"]);
    }

    #[test]
    fn each_metric_lists_what_it_found_or_what_it_looked_for() {
        let body: TargetResult = Ok("req{code=\"200\"} 5\n".into());
        let c = judge(Color::Blue, "u", &body);
        let lines = c.lines();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[1], "  p99_ms: none found; looked for lat_bucket");
        // The error counter is the request counter with a matcher: found.
        assert!(
            lines[2].starts_with("  error_rate: found req"),
            "{}",
            lines[2]
        );
        // The quality's weight is found, its gauge is not.
        assert_eq!(lines[3], "  quality: found req");
        assert_eq!(c.missing(), ["lat_bucket", "q"]);
        let unreadable: TargetResult = Err(crate::model::NoData::Timeout("u".into()));
        let c = judge(Color::Blue, "u", &unreadable);
        assert!(c.failed() && c.lines().len() == 1);
    }
}
