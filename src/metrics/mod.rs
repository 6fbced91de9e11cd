//! Metric sources: where the numbers on the screen come from.

pub mod build;
pub mod cloudwatch;
pub mod demo_page;
pub mod info;
pub mod prometheus;
pub mod scrape;

pub use build::build;
pub use info::SourceInfo;

use std::time::Duration;

use async_trait::async_trait;

use crate::model::Snapshot;

/// A source of [`Snapshot`]s. The engine's poller owns it and calls `poll`
/// once per interval, never with two polls in flight.
///
/// `poll` never fails as a whole: a target that cannot be reached, a series
/// that is missing or a counter that went backwards becomes
/// [`crate::model::Reading::NoData`] with its reason, so the screen can say
/// exactly what is wrong.
#[async_trait]
pub trait MetricSource: Send {
    /// A short name for the header, e.g. `scrape` or `prometheus`.
    fn kind(&self) -> &'static str;

    /// What the engine and the screens need to know of the source: by
    /// default its kind, checking certificates, reading the pods.
    fn info(&self) -> SourceInfo {
        SourceInfo::new(self.kind())
    }

    /// Polls every target of both colours and returns what was measured.
    async fn poll(&mut self) -> Snapshot;

    /// History for the charts when the cockpit opens: snapshots over the
    /// last `span`, oldest first, one per `step`, each with its `wall` time.
    /// They fill the charts only and are never judged. The default has no
    /// history to give (a scrape source starts empty).
    async fn backfill(&mut self, span: Duration, step: Duration) -> Vec<Snapshot> {
        let _ = (span, step);
        Vec::new()
    }
}
