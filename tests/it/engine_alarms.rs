//! The engine over a CloudWatch source's alarms: an alarm in `ALARM` on
//! green is a breach like any metric, and the journal's breach record and
//! the rollback say why in CloudWatch's own words (the alarm's
//! `StateReason`), not only how many alarms fired.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover::config::{ALARMS_ID, load_str};
use cutover::engine::Phase;
use cutover::engine::journal::{RecordAction, RecordKind};
use cutover::model::{ColorReadings, Reading};

use crate::support::engine as engine_rig;
use engine_rig::{Scripted, records, wait_for};

const CONFIG: &str = r#"
[service]
name = "chat"
[router]
kind = "demo"
[aws]
region = "us-east-1"
[source]
kind = "cloudwatch"
interval = "1m"
window = "5m"
[source.cloudwatch]
namespace = "AWS/Lambda"
blue = { FunctionName = "chat", ExecutedVersion = "1" }
green = { FunctionName = "chat", ExecutedVersion = "2" }
alarms = { blue = ["chat-blue-errors"], green = ["chat-green-errors"] }
[[metrics]]
id = "error_rate"
cloudwatch = { numerator = "Errors", denominator = "Invocations", unit = "ratio" }
"#;

/// What CloudWatch said of green's alarm, as the source words it.
const REASON: &str = "Threshold Crossed: 1 datapoint [5.0] > 1.0";

/// A healthy colour's value of each metric this config judges.
fn healthy(id: &str) -> f64 {
    match id {
        "quality" => 0.9,
        "p99_ms" => 400.0,
        _ => 0.0,
    }
}

#[tokio::test(start_paused = true)]
async fn an_alarm_in_alarm_rolls_back_and_the_journal_keeps_its_reason() {
    // Loaded as a user writes it, then polled ten times a second under
    // paused time: the engine does not care how often CloudWatch changes.
    let mut c = load_str(CONFIG, "t").unwrap();
    c.source.interval = Duration::from_millis(100);
    c.source.timeout = Duration::from_millis(100);
    c.source.window = Duration::from_millis(100);
    c.plan.dwell = Duration::from_secs(60);
    let specs = c.metric_specs().unwrap();
    let alarms = specs.iter().position(|s| s.id == ALARMS_ID).unwrap();
    let firing = Arc::new(Mutex::new(false));
    let script = firing.clone();
    let source = Scripted::new("cloudwatch", Duration::from_millis(100), move |_| {
        let colour = |alarming: bool| {
            let mut r = ColorReadings {
                metrics: specs
                    .iter()
                    .map(|s| Reading::Value(healthy(&s.id)))
                    .collect(),
                ..engine_rig::readings(0.0)
            };
            if alarming {
                r.metrics[alarms] = Reading::Value(1.0);
                r.warnings = vec!["the data is the 5m that ended 1m ago".into()];
                r.alarms = vec![format!("alarm chat-green-errors in ALARM: {REASON}")];
            }
            r
        };
        (colour(false), colour(*script.lock().unwrap()))
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let (handle, _task) = engine_rig::spawn_at(&c, 25, source, &path);
    wait_for(&handle, "judged", |s| !s.guard.judgements.is_empty()).await;
    *firing.lock().unwrap() = true;
    let s = wait_for(&handle, "auto-rollback", |s| {
        matches!(s.phase, Phase::RolledBack { .. })
    })
    .await;
    let Phase::RolledBack { reason } = s.phase else {
        unreachable!()
    };
    assert!(
        reason.contains("CloudWatch alarms in ALARM") && reason.contains(REASON),
        "{reason}"
    );
    let journal = records(&path);
    let breach = journal
        .iter()
        .find(|r| r.kind == RecordKind::Breach && r.action == Some(RecordAction::Breach))
        .expect("the breach is journaled");
    assert_eq!(breach.readings[0].metric, ALARMS_ID);
    let detail = breach.detail.as_deref().unwrap_or_default();
    assert_eq!(
        detail,
        format!("alarm chat-green-errors in ALARM: {REASON}"),
        "the alarm's reason, and no other warning"
    );
    let rollback = journal
        .iter()
        .find(|r| r.kind == RecordKind::Intent && r.action == Some(RecordAction::Rollback))
        .expect("the rollback is journaled");
    assert!(
        rollback
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains(REASON),
        "{:?}",
        rollback.reason
    );
}
