//! `[source]`: where the numbers come from. `kind` picks the variant; its
//! settings live in `[source.<kind>]`, while the keys every source shares
//! (`interval`, `timeout`, `window`, `min_requests`) stay in `[source]`.
//!
//! To add a source: a variant of [`SourceKind`] holding its config struct
//! (in its own file, `src/config/<name>.rs`), a line in [`SOURCE`], and an
//! `Option` field of the same name in [`RawSource`]. The compiler then
//! points at every match that needs an arm (the conversions below and
//! `metrics::build`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client_keys::{from_keys, with_client_keys};
use super::defaults;
use super::tagged::{Section, TableRule};

/// The source kinds of this version and whether each needs its table.
pub const SOURCE: Section = Section {
    name: "source",
    kinds: &[
        ("scrape", TableRule::Required),
        ("prometheus", TableRule::Required),
        ("cloudwatch", TableRule::Required),
        ("demo", TableRule::None),
    ],
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSource", into = "RawSource")]
pub struct SourceConfig {
    /// Which source, with its own settings.
    pub kind: SourceKind,
    /// How often both colours are polled.
    pub interval: Duration,
    /// How long one request may take before it is *no data (timeout)*.
    pub timeout: Duration,
    /// Rates and quantiles are computed over this much history (at least one
    /// interval: the delta between consecutive polls).
    pub window: Duration,
    /// p99 and error rate from fewer requests than this in the window are
    /// *no data*, not a verdict (one error in three requests is noise).
    pub min_requests: u64,
    /// Percentage points the split the traffic shows (green's request rate
    /// over both colours') may differ from the router's before it is
    /// marked, when the difference lasts a whole `window`.
    pub observed_split_margin: f64,
    /// `preset = "vllm"` (or `"tgi"`, `"triton"`, `"http"`): the metrics of
    /// a model server by its own names, which `[[metrics]]` entries
    /// override and extend. Unset: today's three, from `[guardrails]`.
    pub preset: Option<String>,
}

// The Prometheus settings are the largest variant; a config is built once
// per process, so the size difference costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// `kind = "scrape"`: Prometheus text from each pod's `/metrics`.
    Scrape(ScrapeConfig),
    /// `kind = "prometheus"`: PromQL over the Prometheus HTTP API
    /// (`[source.prometheus]`).
    Prometheus(super::PrometheusConfig),
    /// `kind = "cloudwatch"`: GetMetricData and DescribeAlarms
    /// (`[source.cloudwatch]`, with `[aws]`).
    CloudWatch(super::CloudWatchConfig),
    /// `kind = "demo"`: the embedded simulated fleet (needs the demo
    /// router, which runs that fleet).
    Demo,
}

impl SourceKind {
    /// The `kind` as written in the config.
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Scrape(_) => "scrape",
            SourceKind::Prometheus(_) => "prometheus",
            SourceKind::CloudWatch(_) => "cloudwatch",
            SourceKind::Demo => "demo",
        }
    }
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            kind: SourceKind::Demo,
            interval: defaults::interval(),
            timeout: defaults::timeout(),
            window: defaults::window(),
            min_requests: defaults::min_requests(),
            observed_split_margin: defaults::observed_split_margin(),
            preset: None,
        }
    }
}

with_client_keys! {
    "source.scrape",
    /// Where the scrape source finds each colour and what its series are called.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ScrapeConfig {
        /// `/metrics` URLs of blue's pods; their counters are summed.
        pub blue: Vec<String>,
        /// `/metrics` URLs of green's pods; their counters are summed.
        pub green: Vec<String>,
        /// Histogram of request latency (its `_bucket` series with `le`).
        #[serde(default = "defaults::latency_histogram")]
        pub latency_histogram: String,
        /// Unit of the histogram's `le` bounds.
        #[serde(default)]
        pub latency_unit: LatencyUnit,
        /// Counter of requests, labelled by status.
        #[serde(default = "defaults::requests_counter")]
        pub requests_counter: String,
        /// The label on the request counter that carries the status code.
        #[serde(default = "defaults::status_label")]
        pub status_label: String,
        /// A request is an error when its status label starts with one of these.
        #[serde(default = "defaults::error_status_prefixes")]
        pub error_status_prefixes: Vec<String>,
        /// Gauge of model quality; pods' values are averaged, weighted by their
        /// request counts. Leave out to not measure quality.
        #[serde(default = "defaults::quality_gauge")]
        pub quality_gauge: Option<String>,
        // Then how to reach the pods: the same keys as `[source.prometheus]`
        // (`client_keys.rs`), for every target.
    }
}

impl ScrapeConfig {
    /// Scrapes these pods for the default series, over plain connections.
    pub fn new(blue: Vec<String>, green: Vec<String>) -> Self {
        from_keys(serde_json::json!({ "blue": blue, "green": green }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LatencyUnit {
    #[default]
    Seconds,
    Milliseconds,
}

/// `[source]` as written: the kind, the shared keys, and every variant's
/// optional table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    kind: String,
    #[serde(with = "super::duration", default = "defaults::interval")]
    interval: Duration,
    #[serde(with = "super::duration", default = "defaults::timeout")]
    timeout: Duration,
    #[serde(with = "super::duration", default = "defaults::window")]
    window: Duration,
    #[serde(default = "defaults::min_requests")]
    min_requests: u64,
    #[serde(default = "defaults::observed_split_margin")]
    observed_split_margin: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scrape: Option<ScrapeConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prometheus: Option<super::PrometheusConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cloudwatch: Option<super::CloudWatchConfig>,
}

impl TryFrom<RawSource> for SourceConfig {
    type Error = String;

    fn try_from(raw: RawSource) -> Result<Self, String> {
        let RawSource {
            kind,
            interval,
            timeout,
            window,
            min_requests,
            observed_split_margin,
            preset,
            scrape,
            prometheus,
            cloudwatch,
        } = raw;
        SOURCE.check_written(
            &kind,
            &[
                ("scrape", scrape.is_some()),
                ("prometheus", prometheus.is_some()),
                ("cloudwatch", cloudwatch.is_some()),
            ],
        )?;
        let kind = match (kind.as_str(), scrape, prometheus, cloudwatch) {
            ("scrape", Some(s), None, None) => SourceKind::Scrape(s),
            ("prometheus", None, Some(p), None) => SourceKind::Prometheus(p),
            ("cloudwatch", None, None, Some(c)) => SourceKind::CloudWatch(c),
            ("demo", None, None, None) => SourceKind::Demo,
            (other, ..) => return Err(format!("`{other}` is not a source kind")),
        };
        Ok(SourceConfig {
            kind,
            interval,
            timeout,
            window,
            min_requests,
            observed_split_margin,
            preset,
        })
    }
}

impl From<SourceConfig> for RawSource {
    fn from(c: SourceConfig) -> Self {
        let (mut scrape, mut prometheus, mut cloudwatch) = (None, None, None);
        let kind = c.kind.name();
        match c.kind {
            SourceKind::Scrape(s) => scrape = Some(s),
            SourceKind::Prometheus(p) => prometheus = Some(p),
            SourceKind::CloudWatch(cw) => cloudwatch = Some(cw),
            SourceKind::Demo => {}
        }
        RawSource {
            kind: kind.to_string(),
            interval: c.interval,
            timeout: c.timeout,
            window: c.window,
            min_requests: c.min_requests,
            observed_split_margin: c.observed_split_margin,
            preset: c.preset,
            scrape,
            prometheus,
            cloudwatch,
        }
    }
}
