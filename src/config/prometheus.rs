//! `[source.prometheus]`: where the Prometheus HTTP API is (or Thanos,
//! Mimir, Cortex, VictoriaMetrics behind the same API), how to reach it,
//! and one PromQL expression per metric with `$color` and `$window`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::client_keys::{from_keys, with_client_keys};
use crate::http::Secret;

with_client_keys! {
    "source.prometheus",
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct PrometheusConfig {
        /// Base URL of the HTTP API; a path prefix (`/prometheus`) is kept.
        pub url: String,
        /// What `$color` stands for in the queries, per colour.
        #[serde(default)]
        pub colors: ColorLabels,
        #[serde(default)]
        pub queries: PromQueries,
        // Then the client keys (`client_keys.rs`).
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColorLabels {
    pub blue: String,
    pub green: String,
}

impl Default for ColorLabels {
    fn default() -> Self {
        ColorLabels {
            blue: "blue".into(),
            green: "green".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    /// The password itself (prefer a file or an env var).
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
}

/// One PromQL expression per metric. Each must reduce to one value per
/// colour. `$color` and `$window` are replaced before sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromQueries {
    pub p99_ms: Option<String>,
    pub error_rate: Option<String>,
    pub quality: Option<String>,
    /// Requests per second: the observed split and "no traffic".
    pub rps: Option<String>,
    /// Share of targets up (0..1), shown as `pods 3/4 up`; holds the gate
    /// when below 1. Its series count gives the pod count.
    pub up: Option<String>,
    /// Unix time of the newest sample behind this colour's readings, so a
    /// Prometheus that stopped scraping a colour does not look fresh.
    pub data_time: Option<String>,
}

pub mod default_queries {
    pub const P99_MS: &str = "1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{track=\"$color\"}[$window])))";
    pub const ERROR_RATE: &str = "100 * sum(rate(http_requests_total{track=\"$color\",code=~\"5..\"}[$window])) / sum(rate(http_requests_total{track=\"$color\"}[$window]))";
    pub const QUALITY: &str = "avg(model_quality_score{track=\"$color\"})";
    pub const RPS: &str = "sum(rate(http_requests_total{track=\"$color\"}[$window]))";
    /// One series per target: counted as `pods 3/4 up`.
    pub const UP: &str = "up{track=\"$color\"}";
    pub const DATA_TIME: &str = "max(timestamp(up{track=\"$color\"}))";
}

impl Default for PromQueries {
    fn default() -> Self {
        use default_queries::*;
        PromQueries {
            p99_ms: Some(P99_MS.into()),
            error_rate: Some(ERROR_RATE.into()),
            quality: Some(QUALITY.into()),
            rps: Some(RPS.into()),
            up: Some(UP.into()),
            data_time: Some(DATA_TIME.into()),
        }
    }
}

impl PrometheusConfig {
    /// A config with the default queries (the common conventions).
    pub fn new(url: impl Into<String>) -> Self {
        from_keys(serde_json::json!({ "url": url.into() }))
    }
}
