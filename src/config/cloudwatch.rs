//! `[source.cloudwatch]`: which CloudWatch metrics and alarms are each
//! colour's. The region, profile and endpoint are `[aws]`'s, copied in on
//! load ([`super::Config::share_aws`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::AwsConfig;
use super::validate::Invalid;
use crate::metricspec::{Better, CloudWatch, Compute, Levels, MetricSpec, Unit};

/// `[source.cloudwatch]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchConfig {
    /// The namespace of metrics that name none (`AWS/Lambda`); the presets
    /// name their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Blue's dimensions, e.g. `{ FunctionName = "chat", Resource =
    /// "chat:live", ExecutedVersion = "1" }`.
    pub blue: BTreeMap<String, String>,
    /// Green's dimensions.
    pub green: BTreeMap<String, String>,
    /// CloudWatch publishes a minute's datapoints one to three minutes
    /// late: the window read ends this long ago, so what is shown is never
    /// a minute still filling up. The age on screen includes it.
    #[serde(default = "default_delay", with = "super::duration")]
    pub delay: Duration,
    /// The metric whose `Sum` counts a colour's requests (its rate and
    /// `min_requests`). Both Lambda and SageMaker call it `Invocations`.
    #[serde(default = "default_requests_metric")]
    pub requests_metric: String,
    /// Each colour's CloudWatch alarms: one in `ALARM` is a breach of that
    /// colour, shown with the alarm's own reason.
    #[serde(default, skip_serializing_if = "Alarms::is_empty")]
    pub alarms: Alarms,
    /// `[aws]`, copied in on load.
    #[serde(skip)]
    pub aws: AwsConfig,
}

/// `alarms = { blue = ["..."], green = ["..."] }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alarms {
    #[serde(default)]
    pub blue: Vec<String>,
    #[serde(default)]
    pub green: Vec<String>,
}

impl Alarms {
    pub fn is_empty(&self) -> bool {
        self.blue.is_empty() && self.green.is_empty()
    }
}

fn default_delay() -> Duration {
    Duration::from_secs(180)
}

fn default_requests_metric() -> String {
    "Invocations".into()
}

/// The period asked of CloudWatch: the window rounded up to whole
/// minutes, the resolution its standard metrics have.
pub fn period(window: Duration) -> Duration {
    let minutes = window.as_secs().div_ceil(60).max(1);
    MINUTE * minutes as u32
}

/// The id of the metric the alarms are read as.
pub const ALARMS_ID: &str = "alarms";

/// The colour's alarms as a metric: how many are in `ALARM`, a breach
/// from one on, on either colour (green's counts toward rollback).
pub fn alarms_spec() -> MetricSpec {
    MetricSpec {
        id: ALARMS_ID.into(),
        label: "CloudWatch alarms in ALARM".into(),
        unit: Unit::None,
        better: Better::Lower,
        compute: Compute {
            cloudwatch: Some(CloudWatch::Alarms),
            ..Default::default()
        },
        absolute: Some(Levels {
            warn: 0.0,
            breach: 0.0,
        }),
        vs_blue: None,
        min_requests: 0,
        guard: true,
        rollback: true,
        test: None,
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// DescribeAlarms takes at most this many names in one call.
const MOST_ALARMS: usize = 100;

impl CloudWatchConfig {
    /// Checks the table; `interval` is `[source] interval`.
    pub fn validate(&self, interval: Duration) -> Result<(), Invalid> {
        let k = |s: &str| format!("source.cloudwatch.{s}");
        if interval < MINUTE {
            // Its numbers change once a minute: faster polls would count
            // one minute's datapoint as several consecutive breaches.
            return Err((
                "source.interval".into(),
                "CloudWatch's numbers change once a minute: poll every `1m` or slower".into(),
            ));
        }
        if self
            .namespace
            .as_deref()
            .is_some_and(|n| n.trim().is_empty())
        {
            return Err((k("namespace"), "must not be empty".into()));
        }
        if self.requests_metric.trim().is_empty() {
            return Err((k("requests_metric"), "must not be empty".into()));
        }
        for (name, dims) in [("blue", &self.blue), ("green", &self.green)] {
            if dims.is_empty() {
                return Err((
                    k(name),
                    "names no dimension: the colours would read the same series".into(),
                ));
            }
            if dims.len() > 30 {
                return Err((k(name), "CloudWatch takes at most 30 dimensions".into()));
            }
        }
        if self.blue == self.green {
            return Err((
                k("green"),
                "is the same as `blue`: both colours would read the same series".into(),
            ));
        }
        let names = self.alarms.blue.iter().chain(&self.alarms.green);
        if names.clone().any(|n| n.trim().is_empty()) {
            return Err((k("alarms"), "an alarm name is empty".into()));
        }
        if names.count() > MOST_ALARMS {
            return Err((k("alarms"), format!("at most {MOST_ALARMS} alarms in all")));
        }
        Ok(())
    }
}

impl CloudWatchConfig {
    /// The metrics are readable here: something judged comes from
    /// CloudWatch, and every metric it reads has a namespace.
    pub fn judged_reads(&self, specs: &[MetricSpec]) -> Result<(), Invalid> {
        if !specs
            .iter()
            .any(|s| s.judged() && s.compute.cloudwatch.is_some())
        {
            return Err((
                "source.preset".into(),
                "nothing judged is read from CloudWatch: set `preset = \"lambda\"` or \
                 `\"sagemaker\"`, name alarms, or give `[[metrics]]` a `cloudwatch = { ... }`"
                    .into(),
            ));
        }
        let unnamed = specs.iter().find(|s| {
            matches!(
                &s.compute.cloudwatch,
                Some(
                    CloudWatch::Stat {
                        namespace: None,
                        ..
                    } | CloudWatch::Ratio {
                        namespace: None,
                        ..
                    }
                )
            )
        });
        match (unnamed, &self.namespace) {
            (Some(s), None) => Err((
                "source.cloudwatch.namespace".into(),
                format!(
                    "`{}` names no namespace: give one here or in its `cloudwatch = {{ namespace = ... }}`",
                    s.id
                ),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{SourceKind, load_str};

    const BASE: &str = "[service]\nname = \"c\"\n[router]\nkind = \"demo\"\n\
        [aws]\nregion = \"eu-west-1\"\n\
        [source]\nkind = \"cloudwatch\"\npreset = \"lambda\"\ninterval = \"1m\"\nwindow = \"5m\"\n\
        [source.cloudwatch]\nblue = { FunctionName = \"f\", ExecutedVersion = \"1\" }\n\
        green = { FunctionName = \"f\", ExecutedVersion = \"2\" }\n";

    #[test]
    fn the_table_is_read_with_aws_shared_and_unknown_keys_named() {
        let c = load_str(BASE, "t").unwrap();
        let SourceKind::CloudWatch(cw) = &c.source.kind else {
            panic!("{:?}", c.source.kind)
        };
        assert_eq!(cw.aws.region.as_deref(), Some("eu-west-1"));
        assert_eq!(cw.requests_metric, "Invocations");
        assert_eq!(cw.delay.as_secs(), 180);
        let e = load_str(&format!("{BASE}periods = 3\n"), "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("source.cloudwatch.periods"));
        assert_eq!(e.line, Some(15));
    }

    #[test]
    fn windows_dimensions_and_alarms_are_checked() {
        let e = load_str(&BASE.replace("\"1m\"", "\"5s\""), "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("source.interval"));
        let p = |s: u64| super::period(std::time::Duration::from_secs(s)).as_secs();
        assert_eq!((p(30), p(90), p(300)), (60, 120, 300));
        let same = BASE.replace("ExecutedVersion = \"2\"", "ExecutedVersion = \"1\"");
        let e = load_str(&same, "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("source.cloudwatch.green"));
        let alarms = format!("{BASE}alarms = {{ green = [\"\"] }}\n");
        let e = load_str(&alarms, "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("source.cloudwatch.alarms"));
        let ok = format!("{BASE}alarms = {{ green = [\"g-errors\"] }}\n");
        let c = load_str(&ok, "t").unwrap();
        let specs = c.metric_specs().unwrap();
        assert_eq!(specs.last().map(|s| s.id.as_str()), Some("alarms"));
    }
}
