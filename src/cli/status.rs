//! `cutover status`: one read of the router and a poll of the source (two
//! when a rate or quantile needs a second to be more than a baseline),
//! bounded by the interval plus the source timeout plus a second, then the
//! report and an exit code that says whether everything could be read.

use std::time::Duration;

use tokio::time::Instant;

use crate::app::Running;
use crate::engine::State;
use crate::model::{Color, NoData, Reading, Snapshot};

use super::output::{status_json, status_text};
use crate::console::{say, warn};

/// Exit status of `status` when the split or a colour's data could not be
/// read: the report is printed, but a script must not take it as healthy.
pub const STATUS_INCOMPLETE: u8 = 4;

/// Beyond the source's own timeout: time to start the engine, read the
/// router and publish the snapshot.
const SLACK: Duration = Duration::from_secs(1);

/// What could not be read, in words; empty when everything was.
pub fn unreadable(s: &State) -> Vec<String> {
    let mut out = Vec::new();
    if s.traffic.split.is_none() {
        out.push("the split (the router did not answer)".to_string());
    }
    for color in Color::BOTH {
        match &s.guard.snapshot {
            None => out.push(format!(
                "{}'s data (no poll finished in time)",
                color.name()
            )),
            Some(snap) if !snap.color(color).up => out.push(format!(
                "{}'s data (not every target answered)",
                color.name()
            )),
            Some(_) => {}
        }
    }
    // A judged metric whose series does not exist is never judged: a
    // script must not read that as healthy.
    for j in &s.guard.judgements {
        if let Some(crate::model::NoData::Missing(series)) = &j.no_data {
            out.push(format!(
                "{}'s {} (missing series: {series})",
                j.color.name(),
                j.metric.label
            ));
        }
    }
    out
}

/// Waits for the first router read and the first poll, at most `timeout`
/// (the source's) plus a second; when that poll only set a baseline (a
/// scrape's p99 and error rate need two), for the next one too, at most
/// `interval` later. Prints the report and returns the exit code: 0 when
/// everything was read, [`STATUS_INCOMPLETE`] otherwise.
pub async fn status(
    running: Running,
    json: bool,
    timeout: Duration,
    interval: Duration,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    let mut rx = running.handle.state();
    let _ = tokio::time::timeout_at(
        started + timeout + SLACK,
        rx.wait_for(|s| {
            s.guard.snapshot.is_some()
                && (s.traffic.split.is_some() || s.traffic.router_error.is_some())
        }),
    )
    .await;
    let first = rx.borrow().guard.snapshot.as_ref().map(|s| s.at);
    if rx
        .borrow()
        .guard
        .snapshot
        .as_ref()
        .is_some_and(baseline_only)
    {
        let _ = tokio::time::timeout_at(
            started + interval + timeout + SLACK,
            rx.wait_for(|s| s.guard.snapshot.as_ref().map(|s| s.at) != first),
        )
        .await;
    }
    let s = rx.borrow().clone();
    let missing = unreadable(&s);
    if json {
        let mut v = status_json(&s, &running.journal);
        v["complete"] = serde_json::json!(missing.is_empty());
        v["unreadable"] = serde_json::json!(missing);
        say(serde_json::to_string_pretty(&v)?);
    } else {
        say(status_text(&s, &running.journal).trim_end());
    }
    running.stop().await;
    if missing.is_empty() {
        Ok(0)
    } else {
        warn(format!(
            "cutover status: incomplete, could not read {} (exit {STATUS_INCOMPLETE})",
            missing.join(", ")
        ));
        Ok(STATUS_INCOMPLETE)
    }
}

/// Some reading of `snap` is only a baseline: a second poll makes it a
/// value.
fn baseline_only(snap: &Snapshot) -> bool {
    Color::BOTH.iter().any(|&c| {
        snap.color(c)
            .metrics
            .iter()
            .any(|r| matches!(r, Reading::NoData(NoData::Baseline)))
    })
}
