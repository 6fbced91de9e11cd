//! The `cloudwatch` metric source: per poll one `GetMetricData` for both
//! colours (each metric's statistic, a ratio's two sums, each colour's
//! request count) and, when alarms are named, one `DescribeAlarms`. Both
//! in CloudWatch's JSON protocol (`X-Amz-Target:
//! GraniteServiceVersion20100801.*`), which AWS and moto both speak.
//!
//! - `query`: the span read and the queries, the answer's values;
//! - `readings`: one colour's values → its readings;
//! - `alarms`: the alarms → a reading per colour, with their reasons;
//! - `tallies`: each minute of a ratio's sums taken once, as the running
//!   counts the tests of green against blue take increments of;
//! - `check`: `cutover check`'s lines.
//!
//! CloudWatch publishes a minute's datapoints one to three minutes late,
//! so a poll reads one period, `[source] window` rounded up to whole
//! minutes, that ended `delay` ago: the snapshot carries that end as its
//! time, and the screen shows the age.

pub mod alarms;
pub mod check;
pub mod query;
pub mod readings;
pub mod tallies;

use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use serde_json::Value;

use crate::aws::{AwsClient, AwsError, CLOUDWATCH, ErrorKind};
use crate::config::{CloudWatchConfig, SourceConfig};
use crate::metricspec::MetricSpec;
use crate::model::{Color, ColorReadings, NoData, Reading, Snapshot};

use super::MetricSource;
use query::Span;
use tallies::TallyBook;

/// The JSON protocol's target prefix for CloudWatch.
const TARGET: &str = "GraniteServiceVersion20100801";

pub struct CloudWatchSource {
    client: AwsClient,
    cfg: CloudWatchConfig,
    specs: Vec<MetricSpec>,
    /// The period read: the window in whole minutes.
    window: Duration,
    timeout: Duration,
    /// The minutes taken so far, as running counts for the tests.
    book: TallyBook,
}

/// What one poll got from CloudWatch.
pub struct Answers {
    pub span: Span,
    pub metrics: Result<Value, NoData>,
    /// `None` when no alarm is named.
    pub alarms: Option<Result<Value, NoData>>,
}

impl CloudWatchSource {
    /// Reads `specs` over CloudWatch with `[aws]`'s region and credentials.
    pub fn new(
        cfg: &CloudWatchConfig,
        source: &SourceConfig,
        specs: &[MetricSpec],
    ) -> anyhow::Result<Self> {
        Ok(Self::with_client(
            AwsClient::new(&cfg.aws)?,
            cfg,
            source,
            specs,
        ))
    }

    /// As [`new`](Self::new) over a client of the caller's (tests).
    pub fn with_client(
        client: AwsClient,
        cfg: &CloudWatchConfig,
        source: &SourceConfig,
        specs: &[MetricSpec],
    ) -> Self {
        CloudWatchSource {
            client,
            cfg: cfg.clone(),
            specs: specs.to_vec(),
            window: crate::config::cloudwatch_period(source.window),
            timeout: source.timeout,
            book: TallyBook::default(),
        }
    }

    pub fn client(&self) -> &AwsClient {
        &self.client
    }

    pub fn config(&self) -> &CloudWatchConfig {
        &self.cfg
    }

    pub fn specs(&self) -> &[MetricSpec] {
        &self.specs
    }

    /// What the numbers on the screen describe, said once.
    fn delay_note(&self) -> String {
        format!(
            "numbers for the {} that ended {} ago (CloudWatch publishes late); the data age shown counts from then",
            crate::format::span(self.window),
            crate::format::span(self.cfg.delay)
        )
    }

    /// `color`'s alarm names.
    pub fn alarm_names(&self, color: Color) -> &[String] {
        match color {
            Color::Blue => &self.cfg.alarms.blue,
            Color::Green => &self.cfg.alarms.green,
        }
    }

    async fn call(&self, action: &str, body: &Value) -> Result<Value, NoData> {
        let target = format!("{TARGET}.{action}");
        let call = self.client.json_rpc(CLOUDWATCH, &target, "1.0", body);
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(NoData::Timeout(format!(
                "CloudWatch {action} took over {}",
                crate::format::span(self.timeout)
            ))),
            Ok(Err(e)) => Err(no_data(action, &e)),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// Both calls of one poll, at once.
    pub async fn fetch(&self, now: SystemTime) -> Answers {
        let span = Span::ending_before(now, self.cfg.delay, self.window);
        let body = query::body(&self.cfg, &self.specs, span);
        let names: Vec<&String> = self
            .cfg
            .alarms
            .blue
            .iter()
            .chain(&self.cfg.alarms.green)
            .collect();
        let metrics = self.call("GetMetricData", &body);
        let alarms = async {
            if names.is_empty() {
                return None;
            }
            Some(self.call("DescribeAlarms", &alarms::body(&names)).await)
        };
        let (metrics, alarms) = tokio::join!(metrics, alarms);
        Answers {
            span,
            metrics,
            alarms,
        }
    }

    /// Turns answers into a snapshot; `now` and `at` are the wall clock
    /// and the instant at the end of the poll. An answer's minutes go into
    /// the running counts first: they grow only from an answer, so after a
    /// failed poll the colours have none, and the next answer's window
    /// brings the minutes missed.
    pub fn snapshot(&mut self, answers: &Answers, now: SystemTime, at: Instant) -> Snapshot {
        let parsed = answers.metrics.as_ref().map(query::values);
        if let Ok((values, _)) = &parsed {
            self.book.take(&self.specs, answers.span, values);
        }
        let found = match &answers.alarms {
            Some(Ok(v)) => Ok(alarms::parse(v)),
            Some(Err(why)) => Err(why.clone()),
            None => Ok(Vec::new()),
        };
        let alarm_reading = |c: Color| {
            let names = self.alarm_names(c);
            match &found {
                Ok(found) => alarms::reading(names, found),
                Err(_) if names.is_empty() => (Reading::NoData(NoData::NotConfigured), vec![]),
                Err(why) => (Reading::NoData(why.clone()), vec![]),
            }
        };
        let color = |c: Color| match &parsed {
            Ok((values, messages)) => {
                let read = readings::Read {
                    values,
                    requests_metric: &self.cfg.requests_metric,
                    window: self.window,
                };
                let mut r = readings::color(&read, &self.specs, c, alarm_reading(c));
                r.warnings
                    .extend(messages.iter().map(|m| format!("CloudWatch: {m}")));
                r.tallies = self.book.tallies(&self.specs, c);
                r
            }
            Err(why) => failed(&self.specs, why, alarm_reading(c)),
        };
        // The numbers describe the span, which ended `delay` ago or more:
        // `wall` is its end, for the journal and the history. Freshness is
        // judged against the poll interval, and CloudWatch's delay is the
        // price of its data, not a source gone quiet: the age counts only
        // the lateness beyond it (the end rounds down to a minute), and
        // the delay is said once in the event log.
        let age = now.duration_since(answers.span.end).unwrap_or_default();
        let late = age.saturating_sub(self.cfg.delay);
        let (mut blue, mut green) = (color(Color::Blue), color(Color::Green));
        for r in [&mut blue, &mut green] {
            if r.up {
                r.warnings.insert(0, self.delay_note());
            }
        }
        Snapshot {
            at: at.checked_sub(late).unwrap_or(at),
            wall: answers.span.end.min(now),
            window: self.window,
            blue,
            green,
        }
    }
}

/// A colour whose GetMetricData failed: every metric no data with why,
/// but the alarms as read.
fn failed(specs: &[MetricSpec], why: &NoData, alarm: (Reading, Vec<String>)) -> ColorReadings {
    let mut r = ColorReadings::no_data(specs.len(), why.clone());
    for (i, s) in specs.iter().enumerate() {
        match &s.compute.cloudwatch {
            None => r.metrics[i] = Reading::NoData(NoData::NotConfigured),
            Some(crate::metricspec::CloudWatch::Alarms) => r.metrics[i] = alarm.0.clone(),
            Some(_) => {}
        }
    }
    r.alarms = alarm.1;
    r
}

fn no_data(action: &str, e: &AwsError) -> NoData {
    let text = format!("CloudWatch {action}: {e}");
    match e.kind {
        ErrorKind::Network => NoData::Unreachable(text),
        _ => NoData::Other(text),
    }
}

#[async_trait]
impl MetricSource for CloudWatchSource {
    fn kind(&self) -> &'static str {
        "cloudwatch"
    }

    async fn poll(&mut self) -> Snapshot {
        self.poll_at(SystemTime::now()).await
    }
}

impl CloudWatchSource {
    /// A poll as if the wall clock said `now` (tests step it a minute at a
    /// time): the snapshot with the running counts of the minutes taken.
    pub async fn poll_at(&mut self, now: SystemTime) -> Snapshot {
        let started = Instant::now();
        let answers = self.fetch(now).await;
        // Aged at the end of the poll, as the engine receives it.
        self.snapshot(&answers, now + started.elapsed(), Instant::now())
    }
}
