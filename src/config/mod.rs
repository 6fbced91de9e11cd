//! Typed configuration: TOML with serde, unknown keys rejected, durations
//! written as `30s`, `5m`, `48h`. Loading and validation live in `load.rs`;
//! the tagged `[router]` and `[source]` sections in `router.rs` and
//! `source.rs`; the other types and their defaults live here.

pub mod alert_template;
mod alerts;
mod aws;
mod client_keys;
mod cloudwatch;
mod duration;
mod gates;
mod kubernetes;
mod lambda_arn;
mod load;
mod metrics;
pub mod nginx;
mod prometheus;
mod router;
mod safety;
mod scenario;
mod source;
mod suggest;
mod tagged;
mod validate;
mod words;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metricspec::{CostConfig, MetricEntry};
use crate::stats::TestConfig;

pub use alerts::{
    AlertConfig, AlertEvent, DEFAULT_TEMPLATE as DEFAULT_ALERT_TEMPLATE, WebhookUrl,
    default_interval as default_alert_interval, redact,
};
pub use aws::{AwsApiGatewayConfig, AwsConfig, AwsLambdaConfig, AwsSageMakerConfig};
pub use cloudwatch::{
    ALARMS_ID, Alarms as CloudWatchAlarms, CloudWatchConfig, period as cloudwatch_period,
};
pub use duration::parse as parse_duration;
pub use gates::{CommandGate, EvidenceGate, GatesConfig, SmokeCheck};
pub use kubernetes::{KubernetesConfig, KubernetesMode};
pub use lambda_arn::LambdaArn;
pub use load::{ConfigError, default_path, load, load_str, resolve_path};
pub use metrics::{default_specs, legacy_specs};
pub use nginx::{NginxConfig, NginxMode};
pub use prometheus::{BasicAuth, ColorLabels, PromQueries, PrometheusConfig, default_queries};
pub use router::{DemoConfig, RouterConfig};
pub use safety::{SafetyConfig, TerminalLoss};
pub use scenario::Scenario;
pub use source::{LatencyUnit, ScrapeConfig, SourceConfig, SourceKind};

/// The largest config file read. A config is a page of text; anything far
/// bigger is a mistake (or `/dev/zero`), and reading it would only eat
/// memory before failing.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub service: ServiceConfig,
    /// Required: which system the numbers come from is never guessed.
    pub source: SourceConfig,
    /// Required: a default router would move a make-believe fleet while
    /// the real one stays put.
    pub router: RouterConfig,
    #[serde(default)]
    pub plan: PlanConfig,
    #[serde(default)]
    pub guardrails: GuardrailsConfig,
    #[serde(default)]
    pub auto_rollback: AutoRollbackConfig,
    #[serde(default)]
    pub journal: JournalConfig,
    /// Smoke checks and command gates green must pass before traffic moves.
    #[serde(default, skip_serializing_if = "GatesConfig::is_empty")]
    pub gates: GatesConfig,
    /// `[[alerts]]`: webhooks told of rollbacks, promotes and breaches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertConfig>,
    /// `[safety]`: a lost terminal, a rollback that cannot land at once.
    #[serde(default)]
    pub safety: SafetyConfig,
    /// `[[metrics]]`: metrics beyond today's three or a preset's, or
    /// changes to theirs. [`Config::metric_specs`] resolves them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricEntry>,
    /// `[cost]`: cost per 1,000 requests as one more metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostConfig>,
    /// `[aws]`: region, profile and endpoint shared by the AWS routers and
    /// sources; the loader copies it into them ([`Config::share_aws`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Shown in the header and written to every journal record.
    pub name: String,
    /// Green's identity (its image tag or model version). After a rollback,
    /// raising green's traffic needs force until this changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanConfig {
    /// Green percentages, strictly increasing, ending at 100.
    pub steps: Vec<u8>,
    /// Minimum soak at each step before the next advance is allowed.
    #[serde(with = "duration")]
    pub dwell: Duration,
    /// How long 100 % is watched before the cutover counts as promoted.
    #[serde(with = "duration")]
    pub bake: Duration,
    /// How long blue is kept as a standby after promotion.
    #[serde(with = "duration")]
    pub standby: Duration,
    /// Under the autopilot (`cutover run`), roll back when the gate has
    /// stayed closed this long at one step. `0s` waits forever.
    #[serde(with = "duration")]
    pub progress_deadline: Duration,
    /// The time a rollback should take, from the decision to the router's
    /// confirmation: the measured figure is shown against it (within it,
    /// or over it as a warning). `None`: the figure is shown uncoloured.
    #[serde(with = "duration::optional", skip_serializing_if = "Option::is_none")]
    pub rollback_sla: Option<Duration>,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            steps: vec![1, 5, 25, 50, 100],
            dwell: Duration::from_secs(5 * 60),
            bake: Duration::from_secs(30 * 60),
            standby: Duration::from_secs(48 * 3600),
            progress_deadline: Duration::from_secs(30 * 60),
            rollback_sla: None,
        }
    }
}

/// Warn and breach levels of one check. For latency and errors a value above
/// the level is past it; for quality, a value below it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    pub warn: f64,
    pub breach: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricGuardrail {
    /// Absolute bound, applied to both colours (only green's can roll back).
    pub absolute: Option<Levels>,
    /// Green compared with blue: how far green may be worse than blue
    /// (ms above, percentage points above, or quality below).
    pub vs_blue: Option<Levels>,
    /// `test = { alpha, min_effect }`: green judged against blue with
    /// evidence, beside the levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<TestConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardrailsConfig {
    pub p99_ms: MetricGuardrail,
    pub error_rate: MetricGuardrail,
    pub quality: MetricGuardrail,
}

impl Default for GuardrailsConfig {
    fn default() -> Self {
        GuardrailsConfig {
            p99_ms: MetricGuardrail {
                absolute: Some(Levels {
                    warn: 3000.0,
                    breach: 5000.0,
                }),
                vs_blue: Some(Levels {
                    warn: 200.0,
                    breach: 1000.0,
                }),
                test: None,
            },
            error_rate: MetricGuardrail {
                absolute: Some(Levels {
                    warn: 1.0,
                    breach: 5.0,
                }),
                vs_blue: Some(Levels {
                    warn: 0.5,
                    breach: 2.0,
                }),
                test: None,
            },
            quality: MetricGuardrail {
                absolute: Some(Levels {
                    warn: 0.75,
                    breach: 0.70,
                }),
                vs_blue: Some(Levels {
                    warn: 0.02,
                    breach: 0.05,
                }),
                test: None,
            },
        }
    }
}

/// What a poll with no data for green does to the breach streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoDataPolicy {
    /// Neither counts nor resets the streak: silence is not health.
    #[default]
    Hold,
    /// Counts as a breach: blind is as bad as broken.
    Breach,
    /// Resets the streak (lenient; not recommended).
    Reset,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoRollbackConfig {
    /// Armed at start; `a` in the cockpit disarms and re-arms.
    pub enabled: bool,
    /// Consecutive polls with a green breach before rolling back.
    pub consecutive: u32,
    /// What a poll with no data for green does.
    pub no_data: NoDataPolicy,
}

impl Default for AutoRollbackConfig {
    fn default() -> Self {
        AutoRollbackConfig {
            enabled: true,
            consecutive: 2,
            no_data: NoDataPolicy::Hold,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// JSONL audit log. Default: `cutover/<service>.jsonl` in the user's
    /// data directory.
    pub path: Option<PathBuf>,
    /// How often both colours' numbers are sampled into the journal during
    /// a cutover, for `cutover report`'s charts; thinned over a long one
    /// (see `engine::sampling`). `0s` samples nothing.
    #[serde(with = "duration")]
    pub sample_every: Duration,
}

impl Default for JournalConfig {
    fn default() -> JournalConfig {
        JournalConfig {
            path: None,
            sample_every: Duration::from_secs(15),
        }
    }
}

pub mod defaults {
    use std::time::Duration;

    pub fn interval() -> Duration {
        Duration::from_secs(5)
    }
    pub fn timeout() -> Duration {
        Duration::from_secs(2)
    }
    pub fn window() -> Duration {
        Duration::from_secs(30)
    }
    pub fn min_requests() -> u64 {
        20
    }
    pub fn observed_split_margin() -> f64 {
        5.0
    }
    pub fn latency_histogram() -> String {
        "request_duration_seconds".into()
    }
    pub fn requests_counter() -> String {
        "requests_total".into()
    }
    pub fn status_label() -> String {
        "code".into()
    }
    pub fn error_status_prefixes() -> Vec<String> {
        vec!["5".into()]
    }
    pub fn quality_gauge() -> Option<String> {
        Some("model_quality_score".into())
    }
}

impl Config {
    /// Copies `[aws]` into the AWS router's table and the CloudWatch
    /// source's, whose factories see only `[router]` and `[source]`. Run
    /// by the loader before validation; idempotent.
    pub fn share_aws(&mut self) {
        let aws = self.aws.clone().unwrap_or_default();
        if let SourceKind::CloudWatch(cw) = &mut self.source.kind {
            cw.aws = aws.clone();
        }
        match &mut self.router {
            RouterConfig::AwsLambda(c) => c.aws = aws,
            RouterConfig::AwsSageMaker(c) => c.aws = aws,
            RouterConfig::AwsApiGateway(c) => c.aws = aws,
            RouterConfig::Demo(_) | RouterConfig::Nginx(_) | RouterConfig::Kubernetes(_) => {}
        }
    }

    /// The journal file: `[journal] path` (with `~/` expanded), else
    /// `<service>.jsonl` in the data directory; with the demo router, in
    /// its `demo/` directory, so a real service of the same name never
    /// inherits a demo's drills or remembered rollback.
    pub fn journal_path(&self) -> PathBuf {
        match &self.journal.path {
            Some(p) => expand_home(p),
            None => {
                let safe: String = self
                    .service
                    .name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let dir = match self.router {
                    RouterConfig::Demo(_) => data_dir().join("demo"),
                    _ => data_dir(),
                };
                dir.join(format!("{safe}.jsonl"))
            }
        }
    }
}

/// `cutover/` in the user's data directory (the working directory if there
/// is no home).
pub fn data_dir() -> PathBuf {
    directories::BaseDirs::new()
        .map(|d| d.data_local_dir().join("cutover"))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `cutover/` in the user's state directory, for the log.
pub fn state_dir() -> PathBuf {
    directories::BaseDirs::new()
        .and_then(|d| d.state_dir().map(|p| p.join("cutover")))
        .unwrap_or_else(data_dir)
}

fn expand_home(p: &std::path::Path) -> PathBuf {
    match (p.strip_prefix("~"), directories::BaseDirs::new()) {
        (Ok(rest), Some(d)) => d.home_dir().join(rest),
        _ => p.to_path_buf(),
    }
}
