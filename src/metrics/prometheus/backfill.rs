//! History at start: every metric's `query_range` over the charts' span,
//! so the cockpit opens on the last minutes rather than an empty chart.
//! These snapshots fill charts only and are never judged.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use prometheus_http_query::response::Data;

use super::client::PromClient;
use super::query::{Query, Slot};
use crate::model::{Color, ColorReadings, NoData, Reading, Snapshot};

/// Snapshots over the last `span`, one per `step`, oldest first. A query
/// that fails or returns several series leaves its metric empty (no data)
/// in the history; the live poll reports why.
pub async fn history(
    client: &PromClient,
    queries: &[Query],
    metrics: usize,
    span: Duration,
    step: Duration,
) -> Vec<Snapshot> {
    if span.is_zero() || step.is_zero() {
        return Vec::new();
    }
    let now = SystemTime::now();
    let now_instant = Instant::now();
    let end = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let start = end - span.as_secs() as i64;
    let step_s = step.as_secs_f64().max(0.001);
    let wanted: Vec<&Query> = queries
        .iter()
        .filter(|q| matches!(q.slot, Slot::Metric(_) | Slot::Rps))
        .collect();
    let answers = join_all(
        wanted
            .iter()
            .map(|q| client.range(&q.promql, start, end, step_s)),
    )
    .await;
    let columns: Vec<(&Query, BTreeMap<i64, f64>)> = wanted
        .into_iter()
        .zip(answers)
        .filter_map(|(q, a)| Some((q, series(a.ok()?)?)))
        .collect();
    assemble(&columns, metrics, now, now_instant)
}

/// The one series of a range answer as (millisecond timestamp → value).
fn series(d: Data) -> Option<BTreeMap<i64, f64>> {
    match d {
        Data::Matrix(m) if m.len() == 1 => Some(
            m[0].samples()
                .iter()
                .map(|s| ((s.timestamp() * 1000.0).round() as i64, s.value()))
                .collect(),
        ),
        _ => None,
    }
}

/// Builds one snapshot per timestamp that any query has a value for, with
/// `metrics` readings a colour.
pub fn assemble(
    columns: &[(&Query, BTreeMap<i64, f64>)],
    metrics: usize,
    now: SystemTime,
    now_instant: Instant,
) -> Vec<Snapshot> {
    let mut stamps: Vec<i64> = columns
        .iter()
        .flat_map(|(_, s)| s.keys().copied())
        .collect();
    stamps.sort_unstable();
    stamps.dedup();
    stamps
        .into_iter()
        .filter_map(|ms| {
            let wall = UNIX_EPOCH.checked_add(Duration::from_millis(u64::try_from(ms).ok()?))?;
            let age = now.duration_since(wall).unwrap_or_default();
            let mut blue = empty(metrics);
            let mut green = empty(metrics);
            for (q, s) in columns {
                let Some(v) = s.get(&ms).copied() else {
                    continue;
                };
                let c = match q.color {
                    Color::Blue => &mut blue,
                    Color::Green => &mut green,
                };
                match q.slot {
                    Slot::Metric(i) => {
                        c.metrics[i] = if v.is_nan() {
                            Reading::NoData(NoData::NoRequests)
                        } else {
                            Reading::Value(v * q.scale)
                        }
                    }
                    Slot::Rps if v.is_finite() => c.rps = Some(v),
                    _ => {}
                }
            }
            Some(Snapshot {
                at: now_instant.checked_sub(age)?,
                wall,
                window: Duration::ZERO,
                blue,
                green,
            })
        })
        .collect()
}

fn empty(metrics: usize) -> ColorReadings {
    let mut c = ColorReadings::no_data(metrics, super::readings::no_series());
    c.up = true;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_snapshot_per_stamp_oldest_first() {
        let p99 = Query::plain(Slot::Metric(0), Color::Green, String::new());
        let rps = Query::plain(Slot::Rps, Color::Blue, String::new());
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let at = Instant::now();
        let cols = vec![
            (
                &p99,
                BTreeMap::from([(990_000, 120.0), (995_000, f64::NAN)]),
            ),
            (&rps, BTreeMap::from([(995_000, 40.0)])),
        ];
        let snaps = assemble(&cols, 3, now, at);
        assert_eq!(snaps.len(), 2);
        assert_eq!(snaps[0].wall, UNIX_EPOCH + Duration::from_secs(990));
        assert_eq!(snaps[0].green.metrics[0], Reading::Value(120.0));
        assert_eq!(at - snaps[0].at, Duration::from_secs(10));
        assert_eq!(
            snaps[1].green.metrics[0],
            Reading::NoData(NoData::NoRequests)
        );
        assert_eq!(snaps[1].blue.rps, Some(40.0));
    }
}
