//! The metric poller, on a task of its own: history once for the charts,
//! then one poll per interval, handed to the engine.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::metrics::MetricSource;
use crate::model::Snapshot;

/// What the poller hands the engine.
pub(super) enum Polled {
    /// History from before we started, for the charts only.
    Backfill(Vec<Snapshot>),
    Live(Box<Snapshot>),
}

/// Asks the source once for history over the charts' span, then polls it
/// once per interval, one poll in flight at a time. A stall is skipped,
/// not replayed as a burst.
pub(super) fn spawn_poller(
    mut source: Box<dyn MetricSource>,
    interval: Duration,
    span: Duration,
    tx: mpsc::Sender<Polled>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let past = source.backfill(span, interval).await;
        if !past.is_empty() && tx.send(Polled::Backfill(past)).await.is_err() {
            return;
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            let snap = source.poll().await;
            if tx.send(Polled::Live(Box::new(snap))).await.is_err() {
                break;
            }
        }
    })
}
