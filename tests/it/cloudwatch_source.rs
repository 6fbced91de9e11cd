//! The `cloudwatch` source. Against moto's server: metric data put with
//! PutMetricData read back through the source (sums, averages, a ratio of
//! sums, a custom metric, no data where nothing was put), alarms set to
//! ALARM with SetAlarmState read as a breach with their reason, the calls
//! per poll counted in moto's log, and `cutover check` naming what it
//! found. moto returns no percentile statistics (it fails the whole call
//! on one), so p95/p99 and the presets go through the in-process fake.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::aws_fake::{Answer, Call, FakeAws};
use crate::support::moto::{self, Moto};
use crate::support::skip::{Server, skip_without};

use cutover::aws::{AwsClient, CLOUDWATCH};
use cutover::config::{Config, SourceKind, load_str};
use cutover::metrics::MetricSource;
use cutover::metrics::cloudwatch::CloudWatchSource;
use cutover::model::{NoData, Reading, Snapshot, Tally};
use serde_json::{Value, json};

const TARGET: &str = "GraniteServiceVersion20100801";

/// A CloudWatch source's config over the demo router; without an
/// `endpoint`, calls go to AWS itself.
pub(crate) fn config(endpoint: Option<&str>, preset: Option<&str>, extra: &str) -> String {
    let preset = preset.map_or(String::new(), |p| format!("preset = \"{p}\"\n"));
    let endpoint = endpoint.map_or(String::new(), |e| format!("endpoint_url = \"{e}\"\n"));
    format!(
        r#"[service]
name = "chat"
[router]
kind = "demo"
[aws]
region = "us-east-1"
{endpoint}[source]
kind = "cloudwatch"
interval = "1m"
window = "5m"
min_requests = 10
{preset}[source.cloudwatch]
namespace = "AWS/Lambda"
delay = "1m"
blue = {{ FunctionName = "chat", ExecutedVersion = "1" }}
green = {{ FunctionName = "chat", ExecutedVersion = "2" }}
alarms = {{ blue = ["chat-blue-errors"], green = ["chat-green-errors"] }}
{extra}"#
    )
}

/// Today's error rate read from CloudWatch, a mean duration and a custom
/// count of output-schema failures (moto has no percentiles).
const MOTO_METRICS: &str = r#"
[[metrics]]
id = "error_rate"
cloudwatch = { numerator = "Errors", denominator = "Invocations", unit = "ratio" }

[[metrics]]
id = "duration_avg_ms"
label = "mean duration"
unit = "ms"
better = "lower"
cloudwatch = { metric = "Duration", stat = "Average" }
absolute = { breach = "5s" }

[[metrics]]
id = "failed_or_throttled"
label = "errors and throttles"
unit = "%"
better = "lower"
cloudwatch = { numerator = ["Errors", "Throttles"], denominator = "Invocations", unit = "ratio" }
absolute = { breach = "20%" }

[[metrics]]
id = "schema_failures"
label = "output schema failures"
unit = "none"
better = "lower"
min_requests = 0
cloudwatch = { namespace = "Chat/Model", metric = "OutputSchemaFailures", stat = "Sum" }
absolute = { warn = 0, breach = 5 }
"#;

fn source_of(c: &Config, client: AwsClient) -> CloudWatchSource {
    let SourceKind::CloudWatch(cw) = &c.source.kind else {
        panic!("not a cloudwatch source")
    };
    CloudWatchSource::with_client(client, cw, &c.source, &c.metric_specs().unwrap())
}

fn at(c: &Config, snap: &Snapshot, id: &str) -> (Reading, Reading) {
    let i = c
        .metric_specs()
        .unwrap()
        .iter()
        .position(|s| s.id == id)
        .unwrap();
    (snap.blue.at(i).clone(), snap.green.at(i).clone())
}

/// Two minutes ago: inside the 5-minute window that ends a minute ago,
/// whichever minute the poll falls in.
fn two_minutes_ago() -> f64 {
    let t = SystemTime::now() - Duration::from_secs(120);
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as f64
}

async fn put(c: &AwsClient, namespace: &str, version: &str, name: &str, values: &[f64]) {
    put_at(c, namespace, version, name, values, two_minutes_ago()).await;
}

/// As [`put`], at `at` seconds since the epoch.
async fn put_at(
    c: &AwsClient,
    namespace: &str,
    version: &str,
    name: &str,
    values: &[f64],
    at: f64,
) {
    let data: Vec<Value> = values
        .iter()
        .map(|v| {
            json!({
                "MetricName": name,
                "Dimensions": [
                    {"Name": "FunctionName", "Value": "chat"},
                    {"Name": "ExecutedVersion", "Value": version},
                ],
                "Value": v,
                "Timestamp": at,
            })
        })
        .collect();
    let body = json!({"Namespace": namespace, "MetricData": data});
    let target = format!("{TARGET}.PutMetricData");
    c.json_rpc(CLOUDWATCH, &target, "1.0", &body).await.unwrap();
}

async fn alarm(c: &AwsClient, name: &str, state: &str, reason: &str) {
    let create = json!({
        "AlarmName": name, "Namespace": "AWS/Lambda", "MetricName": "Errors",
        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
        "ComparisonOperator": "GreaterThanThreshold",
    });
    let t = |a: &str| format!("{TARGET}.{a}");
    c.json_rpc(CLOUDWATCH, &t("PutMetricAlarm"), "1.0", &create)
        .await
        .unwrap();
    let set = json!({"AlarmName": name, "StateValue": state, "StateReason": reason});
    c.json_rpc(CLOUDWATCH, &t("SetAlarmState"), "1.0", &set)
        .await
        .unwrap();
}

async fn fill(m: &Moto) {
    let c = m.client();
    put(&c, "AWS/Lambda", "1", "Invocations", &[60.0, 40.0]).await;
    put(&c, "AWS/Lambda", "1", "Errors", &[1.0, 0.0]).await;
    put(&c, "AWS/Lambda", "1", "Duration", &[100.0, 300.0]).await;
    put(&c, "AWS/Lambda", "2", "Invocations", &[50.0]).await;
    put(&c, "AWS/Lambda", "2", "Errors", &[5.0]).await;
    put(&c, "AWS/Lambda", "2", "Throttles", &[2.0]).await;
    put(&c, "AWS/Lambda", "2", "Duration", &[400.0]).await;
    put(&c, "Chat/Model", "2", "OutputSchemaFailures", &[2.0, 1.0]).await;
    alarm(
        &c,
        "chat-blue-errors",
        "OK",
        "Threshold Crossed: no datapoint above 1",
    )
    .await;
    alarm(
        &c,
        "chat-green-errors",
        "ALARM",
        "Threshold Crossed: 1 datapoint [5.0] > 1.0",
    )
    .await;
}

#[tokio::test]
async fn moto_metrics_and_alarms_are_read_per_colour() {
    if skip_without(Server::Moto, "moto_metrics_and_alarms_are_read_per_colour") {
        return;
    }
    let m = Moto::start();
    fill(&m).await;
    let c = load_str(&config(Some(&m.url()), None, MOTO_METRICS), "t").unwrap();
    let mut source = source_of(&c, m.client());
    let mark = m.mark();
    let snap = source.poll().await;
    // One GetMetricData for both colours and every metric, one DescribeAlarms.
    assert_eq!(m.since(mark).len(), 2, "{:?}", m.since(mark));

    assert_eq!(
        at(&c, &snap, "error_rate"),
        (Reading::Value(1.0), Reading::Value(10.0))
    );
    // Two numerators added: blue published no throttle (none happened).
    assert_eq!(
        at(&c, &snap, "failed_or_throttled"),
        (Reading::Value(1.0), Reading::Value(7.0 / 50.0 * 100.0))
    );
    assert_eq!(
        at(&c, &snap, "duration_avg_ms"),
        (Reading::Value(200.0), Reading::Value(400.0))
    );
    // Nothing put for blue: no data, never a zero.
    let (blue, green) = at(&c, &snap, "schema_failures");
    assert!(
        matches!(blue, Reading::NoData(NoData::Missing(_))),
        "{blue:?}"
    );
    assert_eq!(green, Reading::Value(3.0));
    // Today's latency and quality name nothing CloudWatch has.
    assert_eq!(
        at(&c, &snap, "p99_ms").1,
        Reading::NoData(NoData::NotConfigured)
    );
    assert_eq!(snap.blue.rps, Some(100.0 / 300.0));

    assert_eq!(
        at(&c, &snap, "alarms"),
        (Reading::Value(0.0), Reading::Value(1.0))
    );
    assert!(
        snap.green
            .alarms
            .iter()
            .any(|w| w.contains("chat-green-errors") && w.contains("1 datapoint [5.0] > 1.0")),
        "{:?}",
        snap.green.alarms
    );
    // The data is at least the delay old, and says so; the age the gate
    // and the header judge freshness by counts only the lateness beyond
    // the delay (under a minute: the period ends on a whole minute).
    let age = SystemTime::now().duration_since(snap.wall).unwrap();
    assert!(age >= Duration::from_secs(60), "{age:?}");
    assert!(
        snap.at.elapsed() < Duration::from_secs(61),
        "{:?}",
        snap.at.elapsed()
    );
    assert!(
        snap.blue.warnings[0].contains("5m that ended 1m ago"),
        "{:?}",
        snap.blue.warnings
    );

    // The alarm breaches green through the guardrails like any metric.
    let specs = cutover::engine::guardrail::shared(c.metric_specs().unwrap());
    let judged = cutover::engine::guardrail::evaluate(&snap, None, &specs);
    let breaches = cutover::engine::guardrail::rollback_breaches(&judged);
    assert!(breaches.iter().any(|j| j.id() == "alarms"), "{breaches:?}");
}

/// `cutover check` with moto's test keys.
fn check(home: &std::path::Path, config: &std::path::Path) -> std::process::Output {
    let mut cmd = crate::support::served::command(home, config, &["check"]);
    cmd.envs(moto::env());
    cmd.output().unwrap()
}

#[test]
fn cutover_check_names_what_cloudwatch_holds() {
    if skip_without(Server::Moto, "cutover_check_names_what_cloudwatch_holds") {
        return;
    }
    let m = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(fill(&m));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cutover.toml");
    std::fs::write(&path, config(Some(&m.url()), None, MOTO_METRICS)).unwrap();
    let out = check(dir.path(), &path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("CloudWatch Errors Sum / Invocations Sum"),
        "{text}"
    );
    assert!(
        text.contains("blue 1.00 %") && text.contains("green 10.00 %"),
        "{text}"
    );
    assert!(
        text.contains("# alarms \"CloudWatch alarms in ALARM\""),
        "{text}"
    );
    assert!(
        text.contains("chat-green-errors in ALARM: Threshold Crossed"),
        "{text}"
    );
    assert!(
        text.contains("# cloudwatch: region us-east-1 at http://127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("with a datapoint"), "{text}");
    assert!(
        text.contains("# cloudwatch: no datapoint: blue Chat/Model OutputSchemaFailures Sum"),
        "{text}"
    );
    assert!(
        text.contains("# cloudwatch: green alarm chat-green-errors: ALARM: Threshold Crossed"),
        "{text}"
    );

    // An alarm that does not exist fails the check, by name.
    let missing =
        config(Some(&m.url()), None, MOTO_METRICS).replace("chat-blue-errors", "chat-blue-typo");
    std::fs::write(&path, missing).unwrap();
    let out = check(dir.path(), &path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("blue alarm chat-blue-typo: NOT FOUND"),
        "{text}"
    );
}

/// The fake's GetMetricData: each query answered by its statistic and
/// colour (percentiles included, which moto cannot give).
fn answer(call: &Call) -> Answer {
    let queries = call.body["MetricDataQueries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let results: Vec<Value> = queries
        .iter()
        .map(|q| {
            let id = q["Id"].as_str().unwrap();
            let green = id.starts_with('g');
            let stat = &q["MetricStat"];
            let metric = stat["Metric"]["MetricName"].as_str().unwrap();
            let v = match (metric, stat["Stat"].as_str().unwrap(), green) {
                ("Invocations", "Sum", _) => 1000.0,
                ("Errors", "Sum", false) => 10.0,
                ("Errors", "Sum", true) => 80.0,
                ("Duration", "p99", false) => 800.0,
                ("Duration", "p99", true) => 1500.0,
                ("Duration", "p95", _) => 600.0,
                other => panic!("unexpected {other:?}"),
            };
            json!({"Id": id, "Values": [v], "Timestamps": [0], "StatusCode": "Complete"})
        })
        .collect();
    Answer::ok(json!({ "MetricDataResults": results }))
}

#[tokio::test]
async fn the_lambda_preset_reads_percentiles_in_one_call_from_the_fake() {
    let fake = FakeAws::start(answer).await;
    let text = config(Some(&fake.url()), Some("lambda"), "").replace("alarms = ", "# alarms = ");
    let c = load_str(&text, "t").unwrap();
    let client = fake.client();
    let snap = source_of(&c, client).poll().await;
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].target.as_deref(),
        Some("GraniteServiceVersion20100801.GetMetricData")
    );
    let stats: Vec<&str> = calls[0].body["MetricDataQueries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|q| q["MetricStat"]["Stat"].as_str())
        .collect();
    assert!(
        stats.contains(&"p99") && stats.contains(&"p95"),
        "{stats:?}"
    );
    assert_eq!(
        at(&c, &snap, "duration_p99_ms"),
        (Reading::Value(800.0), Reading::Value(1500.0))
    );
    assert_eq!(at(&c, &snap, "duration_p95_ms").0, Reading::Value(600.0));
    assert_eq!(
        at(&c, &snap, "error_rate"),
        (Reading::Value(1.0), Reading::Value(8.0))
    );
    // Green's errors breach the preset's 5 %.
    let specs = cutover::engine::guardrail::shared(c.metric_specs().unwrap());
    let judged = cutover::engine::guardrail::evaluate(&snap, None, &specs);
    assert!(
        cutover::engine::guardrail::rollback_breaches(&judged)
            .iter()
            .any(|j| j.id() == "error_rate")
    );
}

#[tokio::test]
async fn a_refused_metric_call_is_no_data_with_why_and_the_alarms_still_count() {
    let fake = FakeAws::start(|call: &Call| match call.target.as_deref() {
        Some(t) if t.ends_with(".GetMetricData") => Answer::error(
            400,
            "AccessDeniedException",
            "not authorized to perform: cloudwatch:GetMetricData",
        ),
        _ => Answer::ok(json!({"MetricAlarms": [
            {"AlarmName": "chat-green-errors", "StateValue": "ALARM", "StateReason": "5 > 1"},
            {"AlarmName": "chat-blue-errors", "StateValue": "OK", "StateReason": "fine"},
        ], "CompositeAlarms": []})),
    })
    .await;
    let c = load_str(&config(Some(&fake.url()), Some("sagemaker"), ""), "t").unwrap();
    let client = fake.client();
    let snap = source_of(&c, client).poll().await;
    let (blue, _) = at(&c, &snap, "model_latency_p99_ms");
    assert!(
        matches!(&blue, Reading::NoData(NoData::Other(why)) if why.contains("cloudwatch:GetMetricData")),
        "{blue:?}"
    );
    assert!(!snap.green.up);
    assert_eq!(
        at(&c, &snap, "alarms"),
        (Reading::Value(0.0), Reading::Value(1.0))
    );
    assert_eq!(
        snap.green.alarms,
        ["alarm chat-green-errors in ALARM: 5 > 1"]
    );
}

/// Evidence on CloudWatch: each minute of green's errors and invocations
/// is taken once, however the 5-minute windows of consecutive polls
/// overlap, so the running counts grow by the minutes that ended between
/// two polls. Polls a minute apart, as the source's interval asks, with
/// the clock stepped instead of waited for.
#[tokio::test]
async fn moto_minutes_become_running_counts_each_minute_once() {
    if skip_without(
        Server::Moto,
        "moto_minutes_become_running_counts_each_minute_once",
    ) {
        return;
    }
    let m = Moto::start();
    let c = m.client();
    let now = SystemTime::now();
    let minute = now.duration_since(UNIX_EPOCH).unwrap().as_secs() / 60;
    // Green's minutes from 7 to 2 minutes ago: 100 invocations and 1
    // error each, but 9 errors in the minute that began 2 minutes ago.
    for back in 2..=7u64 {
        let at = ((minute - back) * 60 + 30) as f64;
        let errors = if back == 2 { 9.0 } else { 1.0 };
        put_at(&c, "AWS/Lambda", "2", "Invocations", &[100.0], at).await;
        put_at(&c, "AWS/Lambda", "2", "Errors", &[errors], at).await;
    }
    let cfg = load_str(&config(Some(&m.url()), None, MOTO_METRICS), "t").unwrap();
    let specs = cfg.metric_specs().unwrap();
    let i = specs.iter().position(|s| s.id == "error_rate").unwrap();
    let mut source = source_of(&cfg, m.client());
    let mut counts = Vec::new();
    for late in [2u64, 1, 0] {
        let snap = source.poll_at(now - Duration::from_secs(60 * late)).await;
        let (_, green) = at(&cfg, &snap, "error_rate");
        counts.push((snap.green.tally(i).cloned(), green));
    }
    let tally = |requests, events| Some(Tally::Counts { requests, events });
    // The first window (ending 4 minutes ago, a minute's delay) holds
    // minutes 7..4 back; each later poll adds one minute.
    assert_eq!(counts[0].0, tally(400.0, 4.0));
    assert_eq!(counts[1].0, tally(500.0, 5.0));
    assert_eq!(counts[2].0, tally(600.0, 14.0));
    // The screen's value is still the window's: the five minutes 6..2 back.
    assert_eq!(counts[2].1, Reading::Value(100.0 * 13.0 / 500.0));
}
