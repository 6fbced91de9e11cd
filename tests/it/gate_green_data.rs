//! The gate judges green on green's own data over the whole dwell (issue 7,
//! point 5): a green target that fails half its scrapes cannot walk the
//! cutover up, and a 200 response without metrics is not "up". The real
//! scrape source's maths (`ingest`) fed with scripted bodies, under the
//! real engine and its autopilot.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cutover::config::{Config, ScrapeConfig};
use cutover::engine::gate_reason::GateReason;
use cutover::engine::journal::Journal;
use cutover::engine::{EngineHandle, EngineOptions, State};
use cutover::metrics::MetricSource;
use cutover::metrics::scrape::ScrapeSource;
use cutover::model::{NoData, Reading, Snapshot};

use crate::support::engine as engine_rig;

use engine_rig::{FakeRouter, Scripted};

fn scrape_config() -> ScrapeConfig {
    ScrapeConfig::new(
        vec!["http://127.0.0.1:9/blue".into()],
        vec!["http://127.0.0.1:9/green".into()],
    )
}

/// A healthy pod that has served `n` requests, all fast, none failed.
fn body(n: u64) -> String {
    let mut s = String::new();
    for le in ["0.1", "0.5", "1", "+Inf"] {
        s.push_str(&format!(
            "request_duration_seconds_bucket{{le=\"{le}\"}} {n}\n"
        ));
    }
    s.push_str(&format!("requests_total{{code=\"200\"}} {n}\n"));
    s.push_str("model_quality_score 0.9\n");
    s
}

/// The scrape source's maths over scripted pods: both colours serve 100
/// requests per poll; green's target fails the polls `fails` says.
struct ScriptedPods {
    source: ScrapeSource,
    polls: u64,
    fails: fn(u64) -> bool,
}

#[async_trait]
impl MetricSource for ScriptedPods {
    fn kind(&self) -> &'static str {
        "scripted scrape"
    }
    async fn poll(&mut self) -> Snapshot {
        self.polls += 1;
        let n = self.polls * 100;
        let green = if (self.fails)(self.polls) {
            Err(NoData::Unreachable("green: connection refused".into()))
        } else {
            Ok(body(n))
        };
        self.source.ingest(&[Ok(body(n))], &[green], Instant::now())
    }
}

fn config() -> Config {
    let mut c = engine_rig::config("svc");
    c.source.window = Duration::from_millis(400);
    c.source.min_requests = 0;
    c.plan.dwell = Duration::from_millis(400);
    // Wait forever: this is about advancing, not the deadline's rollback.
    c.plan.progress_deadline = Duration::ZERO;
    c.auto_rollback.enabled = false;
    c
}

/// The autopilot from 1 % for `run`, green failing the polls `fails` says.
/// Returns the highest split reached and the last state.
async fn autopilot(fails: fn(u64) -> bool, run: Duration) -> (u8, State) {
    let dir = tempfile::tempdir().unwrap();
    let c = config();
    let router = FakeRouter::at(1);
    let source = ScrapeSource::legacy(&scrape_config(), c.source.timeout, c.source.window).unwrap();
    let (handle, _task): (EngineHandle, _) = cutover::engine::spawn(
        &c,
        Arc::new(router.clone()),
        Box::new(ScriptedPods {
            source,
            polls: 0,
            fails,
        }),
        Journal::open(&dir.path().join("j.jsonl")).unwrap(),
        EngineOptions {
            autopilot: true,
            ..Default::default()
        },
    )
    .unwrap();
    let mut highest = 1;
    let end = Instant::now() + run;
    while Instant::now() < end {
        highest = highest.max(router.split());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = (**handle.state().borrow()).clone();
    (highest, s)
}

#[tokio::test]
async fn green_failing_half_its_scrapes_does_not_advance() {
    // Two good polls, two failed, over and over: after each failure green's
    // history restarts, and one poll later it has a short span with good
    // numbers, which blue's full span used to pass off as a full window.
    let (highest, s) = autopilot(|n| n % 4 >= 2, Duration::from_secs(5)).await;
    assert_eq!(highest, 1, "advanced on flapping green: {:#?}", s.events);
    assert!(
        s.events
            .iter()
            .any(|e| e.text.starts_with("dwell restarted")),
        "{:#?}",
        s.events
    );
    assert!(!s.guard.gate.open);
}

#[tokio::test]
async fn the_same_rig_with_a_steady_green_does_advance() {
    // The control: nothing but the failures holds the cutover above.
    let (highest, s) = autopilot(|_| false, Duration::from_secs(5)).await;
    assert!(highest >= 25, "reached only {highest}%: {:#?}", s.events);
}

#[test]
fn a_200_without_metrics_is_not_up() {
    let mut source = ScrapeSource::legacy(
        &scrape_config(),
        Duration::from_secs(1),
        Duration::from_secs(5),
    )
    .unwrap();
    for green in ["", "# nothing here\n", "some_other_metric 1\n"] {
        let snap = source.ingest(&[Ok(body(100))], &[Ok(green.to_string())], Instant::now());
        assert!(!snap.green.up, "{green:?} counted as up");
        assert!(snap.blue.up);
        match snap.green.get(cutover::model::Metric::ErrorRate) {
            Reading::NoData(why) => {
                assert!(why.to_string().contains("answered without"), "{why}")
            }
            r => panic!("{r:?}"),
        }
    }
}

/// Good numbers from both colours, but green's span is always one interval
/// against blue's full window.
fn short_green() -> Scripted {
    let good = |span_ms| cutover::model::ColorReadings {
        metrics: vec![
            Reading::Value(50.0),
            Reading::Value(0.0),
            Reading::Value(0.9),
        ],
        rps: Some(1000.0),
        up: true,
        pods_up: None,
        warnings: vec![],
        alarms: Vec::new(),
        span: Duration::from_millis(span_ms),
        tallies: Vec::new(),
    };
    Scripted::new("short green", Duration::from_millis(400), move |_| {
        (good(400), good(100))
    })
}

#[tokio::test]
async fn green_is_judged_on_its_own_span_not_blues() {
    let dir = tempfile::tempdir().unwrap();
    let router = FakeRouter::at(1);
    let (handle, _task) = cutover::engine::spawn(
        &config(),
        Arc::new(router.clone()),
        Box::new(short_green()),
        Journal::open(&dir.path().join("j.jsonl")).unwrap(),
        EngineOptions {
            autopilot: true,
            ..Default::default()
        },
    )
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = (**handle.state().borrow()).clone();
    assert_eq!(router.split(), 1, "{:#?}", s.events);
    assert!(
        s.guard
            .gate
            .reasons
            .contains(&GateReason::DataPredatesSplit),
        "{:?}",
        s.guard.gate.reasons
    );
}
