//! `cutover check` for the scrape source: every target scraped once, and
//! the series each one lacks named. A config whose URLs answer but whose
//! series names are wrong would otherwise pass `check` and show *no data*
//! only in the cockpit.

use crate::model::Color;

use super::exposition::{self, PodTotals, Series};
use super::{ScrapeSource, TargetResult};

/// One target's result.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetCheck {
    pub color: Color,
    pub url: String,
    /// The series missing from its answer, or why it could not be read.
    pub outcome: Result<Vec<String>, String>,
}

impl TargetCheck {
    pub fn failed(&self) -> bool {
        !matches!(&self.outcome, Ok(missing) if missing.is_empty())
    }

    pub fn line(&self) -> String {
        let head = format!("scrape {} {}", self.color.name(), self.url);
        match &self.outcome {
            Ok(m) if m.is_empty() => format!("{head}: ok, every series found"),
            Ok(m) => format!("{head}: FAIL: series not found: {}", m.join(", ")),
            Err(e) => format!("{head}: FAIL: {e}"),
        }
    }
}

/// The watched series `totals` lacks, by the names written in the config.
/// Pure.
pub fn missing(totals: &PodTotals, series: &Series) -> Vec<String> {
    let mut out = Vec::new();
    if totals.buckets.is_none() {
        out.push(format!("{}_bucket", series.histogram));
    }
    if totals.requests.is_none() {
        out.push(series.requests.clone());
    }
    if let Some(q) = &series.quality
        && totals.quality.is_none()
    {
        out.push(q.clone());
    }
    out
}

/// Judges one fetched body.
pub fn judge(color: Color, url: &str, body: &TargetResult, series: &Series) -> TargetCheck {
    let outcome = match body {
        Err(e) => Err(e.to_string()),
        Ok(text) => exposition::read(url, text, series).map(|p| missing(&p.totals, series)),
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
                out.push(judge(color, url, body, &self.series));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series {
        Series::named("lat", "req", "q")
    }

    #[test]
    fn each_missing_series_is_named() {
        let body: TargetResult = Ok("req{code=\"200\"} 5\nlat_bucket{le=\"+Inf\"} 5\n".into());
        let c = judge(Color::Green, "http://g/metrics", &body, &series());
        assert_eq!(c.outcome, Ok(vec!["q".to_string()]));
        assert!(c.failed());
        assert!(c.line().contains("series not found: q"), "{}", c.line());
        let body: TargetResult =
            Ok("req{code=\"200\"} 5\nlat_bucket{le=\"+Inf\"} 5\nq 0.9\n".into());
        assert!(!judge(Color::Blue, "u", &body, &series()).failed());
        let body: TargetResult = Ok(String::new());
        let c = judge(Color::Blue, "u", &body, &series());
        assert_eq!(
            c.outcome,
            Ok(vec!["lat_bucket".to_string(), "req".into(), "q".into()])
        );
    }
}
