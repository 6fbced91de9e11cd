//! The `prometheus` metric source: one PromQL expression per metric,
//! expanded for blue and green, sent to the Prometheus HTTP API (or
//! Thanos, Mimir, Cortex, VictoriaMetrics behind the same API).
//!
//! - `query`: `$color` / `$window` expansion;
//! - `client`: the API over the project's HTTP client, failures → *no data*;
//! - `readings`: one answer → one value or the reason there is none;
//! - `combine`: one colour's answers → its readings and the data's time;
//! - `tally`: a tested metric's raw counter sums → its cumulative tally;
//! - `backfill`: `query_range` history for the charts;
//! - `check`: `cutover check`'s report, one line per query.

pub mod backfill;
pub mod body;
pub mod check;
pub mod client;
pub mod combine;
pub mod query;
pub mod readings;
pub mod tally;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures_util::future::join_all;

use crate::config::{PrometheusConfig, SourceConfig};
use crate::metricspec::MetricSpec;
use crate::model::{Color, Snapshot};

use super::{MetricSource, SourceInfo};
use client::PromClient;
use combine::Limits;
use query::Query;

pub struct PrometheusSource {
    client: PromClient,
    queries: Vec<Query>,
    /// The config's metrics, in order.
    specs: Vec<MetricSpec>,
    /// Each metric's `min_requests`, in the same order.
    min_requests: Vec<u64>,
    limits: Limits,
}

impl PrometheusSource {
    /// Reads `specs` (the config's metrics, in order) over Prometheus.
    pub fn new(
        cfg: &PrometheusConfig,
        source: &SourceConfig,
        specs: &[MetricSpec],
    ) -> anyhow::Result<Self> {
        Ok(PrometheusSource {
            client: PromClient::new(cfg, source.timeout)?,
            queries: query::expand_all(cfg, specs, source.window),
            specs: specs.to_vec(),
            min_requests: specs.iter().map(|s| s.min_requests).collect(),
            limits: Limits {
                window: source.window,
                // A scrape interval or two of lag is normal; a whole window
                // means the rates shown cover nothing new.
                stale_after: source.window.max(source.interval * 3),
            },
        })
    }

    pub fn queries(&self) -> &[Query] {
        &self.queries
    }

    /// The metrics it reads, in the config's order.
    pub fn specs(&self) -> &[MetricSpec] {
        &self.specs
    }

    /// A value of the metric at `index` in its unit (`412 ms`).
    pub fn format(&self, index: usize, v: f64) -> String {
        self.specs
            .get(index)
            .map_or_else(|| format!("{v}"), |s| s.format(v))
    }

    pub fn client(&self) -> &PromClient {
        &self.client
    }

    /// Turns answers into a snapshot; `now` is the local wall clock at the
    /// end of the poll and `at` the matching instant.
    fn snapshot(
        &self,
        answers: &[Result<prometheus_http_query::response::Data, crate::model::NoData>],
        now: SystemTime,
        at: Instant,
    ) -> Snapshot {
        let mins = &self.min_requests;
        let blue = combine::color(Color::Blue, &self.queries, answers, mins, self.limits);
        let green = combine::color(Color::Green, &self.queries, answers, mins, self.limits);
        // The snapshot is as old as its older colour's data: a number is
        // never shown younger than what it was computed from.
        let data = match (blue.data_time, green.data_time) {
            (Some(b), Some(g)) => Some(b.min(g)),
            (b, g) => b.or(g),
        };
        let wall = data
            .and_then(|t| UNIX_EPOCH.checked_add(Duration::from_secs_f64(t.max(0.0))))
            .map_or(now, |w| w.min(now));
        let age = now.duration_since(wall).unwrap_or_default();
        Snapshot {
            at: at.checked_sub(age).unwrap_or(at),
            wall,
            window: self.limits.window,
            blue: blue.readings,
            green: green.readings,
        }
    }
}

#[async_trait]
impl MetricSource for PrometheusSource {
    fn kind(&self) -> &'static str {
        "prometheus"
    }

    fn info(&self) -> SourceInfo {
        SourceInfo {
            kind: self.kind(),
            tls_not_verified: self.client.insecure().then_some("insecure_skip_verify"),
            queries: true,
        }
    }

    async fn poll(&mut self) -> Snapshot {
        // Every query at once, each bounded by the source timeout: one slow
        // query delays no other reading.
        let client = &self.client;
        let answers = join_all(self.queries.iter().map(|q| client.instant(&q.promql))).await;
        self.snapshot(&answers, SystemTime::now(), Instant::now())
    }

    async fn backfill(&mut self, span: Duration, step: Duration) -> Vec<Snapshot> {
        let metrics = self.min_requests.len();
        backfill::history(&self.client, &self.queries, metrics, span, step).await
    }
}
