//! The engine end to end, with a scripted metric source and an in-memory
//! router whose speed and failures the test controls.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cutover::config::{Config, ServiceConfig, SourceConfig};
use cutover::engine::journal::{Journal, Record, RecordKind};
use cutover::engine::{Command, EngineHandle, EngineOptions, Origin, Outcome, Phase, State};
use cutover::metrics::MetricSource;
use cutover::model::{ColorReadings, NoData, Reading, Snapshot, Split};
use cutover::router::{Applied, RouterError, RouterRead, TrafficRouter, WriteRequest};

#[derive(Default)]
struct RouterInner {
    split: u8,
    delay: Duration,
    fail: Option<String>,
    writes: u32,
}

#[derive(Clone, Default)]
struct FakeRouter(Arc<Mutex<RouterInner>>);

#[async_trait]
impl TrafficRouter for FakeRouter {
    fn kind(&self) -> &'static str {
        "fake"
    }
    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        Ok(RouterRead::unversioned(
            Split::new(self.0.lock().unwrap().split).unwrap(),
        ))
    }
    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        let split = req.split;
        let delay = self.0.lock().unwrap().delay;
        tokio::time::sleep(delay).await;
        let mut r = self.0.lock().unwrap();
        r.writes += 1;
        if let Some(why) = r.fail.take() {
            return Err(RouterError::Rejected(why));
        }
        r.split = split.green();
        Ok(Applied {
            split,
            revision: None,
            detail: "fake".into(),
        })
    }
}

/// Green's error rate and whether green answers, set by the test.
#[derive(Clone)]
struct Script(Arc<Mutex<(f64, bool)>>);

struct FakeSource(Script);

fn readings(err: f64, up: bool) -> ColorReadings {
    if !up {
        return ColorReadings::all_no_data(NoData::Unreachable("127.0.0.1:1: refused".into()));
    }
    ColorReadings {
        metrics: [
            Reading::Value(400.0),
            Reading::Value(err),
            Reading::Value(0.87),
        ],
        rps: Some(100.0),
        up: true,
        pods_up: None,
        warnings: vec![],
        span: Duration::from_millis(100),
    }
}

#[async_trait]
impl MetricSource for FakeSource {
    fn kind(&self) -> &'static str {
        "script"
    }
    async fn poll(&mut self) -> Snapshot {
        let (err, up) = *self.0.0.lock().unwrap();
        Snapshot {
            at: Instant::now(),
            wall: std::time::SystemTime::now(),
            window: Duration::from_millis(100),
            blue: readings(0.2, true),
            green: readings(err, up),
        }
    }
}

struct Rig {
    handle: EngineHandle,
    router: FakeRouter,
    script: Script,
    journal: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn config(dwell_ms: u64) -> Config {
    let mut c = Config {
        service: ServiceConfig {
            name: "test-svc".into(),
            green_version: None,
        },
        source: SourceConfig::default(),
        router: Default::default(),
        plan: Default::default(),
        guardrails: Default::default(),
        auto_rollback: Default::default(),
        journal: Default::default(),
    };
    c.source.interval = Duration::from_millis(100);
    c.source.timeout = Duration::from_millis(100);
    // The scripted source reports 100 ms spans: that is a full window.
    c.source.window = Duration::from_millis(100);
    c.plan.dwell = Duration::from_millis(dwell_ms);
    c.plan.bake = Duration::from_millis(300);
    c
}

fn rig(initial: u8, c: Config, options: EngineOptions) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let router = FakeRouter::default();
    router.0.lock().unwrap().split = initial;
    let script = Script(Arc::new(Mutex::new((0.1, true))));
    let journal = Journal::open(&path).unwrap();
    let (handle, _task) = cutover::engine::spawn(
        &c,
        Arc::new(router.clone()),
        Box::new(FakeSource(script.clone())),
        journal,
        options,
    );
    Rig {
        handle,
        router,
        script,
        journal: path,
        _dir: dir,
    }
}

async fn wait_for(h: &EngineHandle, what: &str, f: impl Fn(&State) -> bool) -> State {
    let mut rx = h.state();
    let r = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| f(s)))
        .await
        .map(|r| r.map(|s| s.clone()));
    match r {
        Ok(Ok(s)) => s,
        _ => panic!(
            "timed out waiting for {what}: {:#?}",
            h.state().borrow().events
        ),
    }
}

fn records(path: &std::path::Path) -> Vec<Record> {
    Journal::read_all(path).unwrap()
}

#[tokio::test]
async fn advance_is_journaled_before_and_after() {
    let r = rig(0, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "first snapshot", |s| {
        s.split.is_some() && s.snapshot.is_some() && s.gate.open
    })
    .await;
    let msg = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap();
    assert!(msg.contains("0% → 1%"), "{msg}");
    let s = r.handle.state().borrow().clone();
    assert_eq!(s.split, Split::new(1));
    assert_eq!(s.phase, Phase::Canary { step: 0 });
    assert!(s.dwell_until.is_some());
    // Front ends mark windows that still hold the old split from here.
    assert!(
        s.split_changed_at
            .is_some_and(|t| t <= std::time::Instant::now())
    );

    let recs = records(&r.journal);
    let intent = recs.iter().find(|r| r.kind == RecordKind::Intent).unwrap();
    assert_eq!((intent.from, intent.to), (Some(0), Some(1)));
    assert_eq!(intent.origin, "cli");
    let outcome = recs.iter().find(|r| r.kind == RecordKind::Outcome).unwrap();
    assert_eq!(outcome.outcome.as_deref(), Some("ok"));
    assert!(outcome.duration_ms.is_some());

    // The dwell holds the gate; force passes it and says so in the journal.
    let err = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(err.contains("dwell"), "{err}");
    r.handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    assert_eq!(r.handle.state().borrow().split, Split::new(5));
    let forced = records(&r.journal)
        .into_iter()
        .filter(|r| r.kind == RecordKind::Intent && r.forced)
        .count();
    assert_eq!(forced, 1);
}

#[tokio::test]
async fn rollback_preempts_a_slow_write() {
    let r = rig(0, config(0), EngineOptions::default());
    wait_for(&r.handle, "gate open", |s| s.gate.open).await;
    r.router.0.lock().unwrap().delay = Duration::from_secs(5);
    r.handle
        .send(Origin::Tui, Command::Advance { force: false })
        .unwrap();
    wait_for(&r.handle, "write in flight", |s| s.pending.is_some()).await;
    // Later writes are fast: only the advance is stuck.
    r.router.0.lock().unwrap().delay = Duration::ZERO;
    let started = Instant::now();
    r.handle
        .call(
            Origin::Tui,
            Command::Rollback {
                reason: "operator".into(),
            },
        )
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    let s = r.handle.state().borrow().clone();
    assert_eq!(s.split, Some(Split::ZERO));
    assert!(matches!(s.phase, Phase::RolledBack { .. }));
    let outcomes: Vec<_> = records(&r.journal)
        .into_iter()
        .filter(|r| r.kind == RecordKind::Outcome)
        .map(|r| (r.action, r.outcome.unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("advance".to_string(), "preempted".to_string()),
            ("rollback".to_string(), "ok".to_string())
        ]
    );
}

#[tokio::test]
async fn auto_rollback_after_consecutive_breaches_with_readings() {
    let r = rig(25, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "canary read back", |s| {
        s.phase == Phase::Canary { step: 2 }
    })
    .await;
    r.script.0.lock().unwrap().0 = 9.5;
    let s = wait_for(&r.handle, "auto-rollback", |s| {
        matches!(s.phase, Phase::RolledBack { .. })
    })
    .await;
    assert_eq!(s.split, Some(Split::ZERO));
    let Phase::RolledBack { reason } = s.phase else {
        unreachable!()
    };
    assert!(reason.contains("error rate"), "{reason}");
    let recs = records(&r.journal);
    let intent = recs
        .iter()
        .find(|r| r.kind == RecordKind::Intent && r.action == "rollback")
        .unwrap();
    assert_eq!(intent.origin, "auto-rollback");
    let err = intent
        .readings
        .iter()
        .find(|x| x.color == "green" && x.metric == "error_rate")
        .unwrap();
    assert_eq!(err.value, Some(9.5));
    assert_eq!(err.verdict, "BREACH");
}

#[tokio::test]
async fn disarmed_does_not_roll_back_and_no_data_is_not_health() {
    let r = rig(5, config(0), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.split == Split::new(5)).await;
    r.handle
        .call(Origin::Tui, Command::SetArmed(false))
        .await
        .unwrap();
    r.script.0.lock().unwrap().0 = 50.0;
    wait_for(&r.handle, "streak", |s| s.breach_streak >= 4).await;
    assert_eq!(r.handle.state().borrow().split, Split::new(5));

    // Green goes dark: the gate closes rather than trusting silence.
    r.script.0.lock().unwrap().1 = false;
    let s = wait_for(&r.handle, "gate closed on no data", |s| {
        !s.gate.open && s.gate.reasons.iter().any(|g| g.contains("no data"))
    })
    .await;
    assert!(!s.armed);
}

#[tokio::test]
async fn a_failed_write_leaves_the_split_and_says_why() {
    let r = rig(5, config(0), EngineOptions::default());
    wait_for(&r.handle, "gate open", |s| s.gate.open).await;
    r.router.0.lock().unwrap().fail = Some("nginx -t: syntax error".into());
    let err = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(err.contains("syntax error"), "{err}");
    let s = r.handle.state().borrow().clone();
    assert_eq!(s.split, Split::new(5));
    assert!(s.pending.is_none());
    let failed = records(&r.journal)
        .into_iter()
        .find(|r| r.kind == RecordKind::Outcome)
        .unwrap();
    assert_eq!(failed.outcome.as_deref(), Some("failed"));
    assert!(failed.detail.unwrap().contains("syntax error"));
}

#[tokio::test]
async fn a_split_found_on_start_is_a_cutover_in_progress() {
    let r = rig(30, config(60_000), EngineOptions::default());
    let s = wait_for(&r.handle, "read back", |s| s.split.is_some()).await;
    assert_eq!(s.phase, Phase::Canary { step: 2 });
    assert!(s.events.iter().any(|e| e.text.contains("in progress")));
    // The next advance goes to the first step above 30 %.
    r.handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    assert_eq!(r.handle.state().borrow().split, Split::new(50));
    // A change made behind our back is noticed and shown.
    r.router.0.lock().unwrap().split = 10;
    wait_for(&r.handle, "outside change", |s| s.split == Split::new(10)).await;
}

#[tokio::test]
async fn readonly_moves_nothing() {
    let r = rig(
        25,
        config(0),
        EngineOptions {
            readonly: true,
            ..Default::default()
        },
    );
    let s = wait_for(&r.handle, "read back", |s| s.split.is_some()).await;
    assert!(!s.armed);
    for cmd in [
        Command::Rollback { reason: "x".into() },
        Command::Advance { force: true },
        Command::Promote,
    ] {
        let e = r.handle.call(Origin::Tui, cmd).await.unwrap_err();
        assert!(e.contains("read-only"), "{e}");
    }
    r.script.0.lock().unwrap().0 = 50.0;
    wait_for(&r.handle, "streak", |s| s.breach_streak >= 3).await;
    assert_eq!(r.router.0.lock().unwrap().writes, 0);
}

#[tokio::test]
async fn pause_stops_the_dwell_and_resume_restarts_it() {
    let r = rig(5, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.split.is_some()).await;
    r.handle
        .call(Origin::Tui, Command::TogglePause)
        .await
        .unwrap();
    let s = r.handle.state().borrow().clone();
    assert_eq!(s.phase, Phase::Paused { step: 1 });
    assert!(s.dwell_until.is_none() && s.dwell_left.is_some());
    r.handle
        .call(Origin::Tui, Command::TogglePause)
        .await
        .unwrap();
    let s = r.handle.state().borrow().clone();
    assert_eq!(s.phase, Phase::Canary { step: 1 });
    assert!(s.dwell_until.is_some());
}

#[tokio::test]
async fn autopilot_promotes_a_healthy_cutover() {
    let r = rig(
        0,
        config(150),
        EngineOptions {
            autopilot: true,
            ..Default::default()
        },
    );
    let s = wait_for(&r.handle, "promoted", |s| s.outcome.is_some()).await;
    assert_eq!(s.outcome, Some(Outcome::Promoted));
    assert_eq!(s.phase, Phase::Promoted);
    assert!(s.standby_until.is_some());
    let recs = records(&r.journal);
    let advances: Vec<_> = recs
        .iter()
        .filter(|r| r.kind == RecordKind::Outcome && r.action == "advance")
        .map(|r| r.to.unwrap())
        .collect();
    assert_eq!(advances, vec![1, 5, 25, 50, 100]);
    assert!(recs.iter().any(|r| r.kind == RecordKind::Promoted));
}

#[tokio::test]
async fn autopilot_rolls_back_at_the_progress_deadline() {
    let mut c = config(50);
    c.plan.progress_deadline = Duration::from_millis(400);
    let r = rig(
        5,
        c,
        EngineOptions {
            autopilot: true,
            ..Default::default()
        },
    );
    r.script.0.lock().unwrap().0 = 2.0; // warn: holds the gate, never breaches
    let s = wait_for(&r.handle, "rolled back", |s| s.outcome.is_some()).await;
    let Some(Outcome::RolledBack { reason }) = s.outcome else {
        panic!("{:?}", s.outcome)
    };
    assert!(reason.contains("progress deadline"), "{reason}");
}

#[tokio::test]
async fn a_second_rollback_joins_the_one_in_flight() {
    let r = rig(25, config(0), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.split.is_some()).await;
    r.router.0.lock().unwrap().delay = Duration::from_millis(500);
    let h = r.handle.clone();
    let first = tokio::spawn(async move {
        h.call(
            Origin::Tui,
            Command::Rollback {
                reason: "one".into(),
            },
        )
        .await
    });
    wait_for(&r.handle, "rollback in flight", |s| s.pending.is_some()).await;
    let second = r
        .handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "two".into(),
            },
        )
        .await;
    assert!(second.is_ok(), "{second:?}");
    assert!(first.await.unwrap().is_ok());
    assert_eq!(
        r.router.0.lock().unwrap().writes,
        1,
        "the rollback was restarted"
    );
    // At 0 % with the router confirming it, a rollback has nothing to do.
    let again = r
        .handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "three".into(),
            },
        )
        .await
        .unwrap();
    assert!(again.contains("already at 0 %"), "{again}");
    assert_eq!(r.router.0.lock().unwrap().writes, 1);
}

#[tokio::test]
async fn after_a_rollback_going_again_needs_force() {
    let r = rig(5, config(0), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.split.is_some()).await;
    r.handle
        .call(
            Origin::Tui,
            Command::Rollback {
                reason: "bad".into(),
            },
        )
        .await
        .unwrap();
    let s = wait_for(&r.handle, "gate judged", |s| s.snapshot.is_some()).await;
    assert!(
        s.gate.reasons.iter().any(|g| g.contains("needs force")),
        "{:?}",
        s.gate.reasons
    );
    let e = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(e.contains("needs force"), "{e}");
    r.handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    assert_eq!(r.handle.state().borrow().split, Split::new(1));
}

#[tokio::test]
async fn a_refused_command_from_the_tui_is_shown_as_an_event() {
    let r = rig(5, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.split.is_some()).await;
    r.handle
        .send(Origin::Tui, Command::Advance { force: false })
        .unwrap();
    wait_for(&r.handle, "the refusal", |s| {
        s.events
            .iter()
            .any(|e| e.text.starts_with("refused: gate closed") && e.text.contains("dwell"))
    })
    .await;
    // Writing the split the router already has is refused too.
    let e = r
        .handle
        .call(
            Origin::Cli,
            Command::SetSplit {
                split: Split::new(5).unwrap(),
                reason: None,
                force: false,
            },
        )
        .await
        .unwrap_err();
    assert!(e.contains("already at 5%"), "{e}");
}

#[tokio::test]
async fn data_from_before_a_step_cannot_open_the_gate() {
    let r = rig(0, config(0), EngineOptions::default());
    wait_for(&r.handle, "gate open", |s| s.gate.open).await;
    r.handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap();
    // Published with the change: the latest snapshot predates the step.
    let s = r.handle.state().borrow().clone();
    assert!(
        s.gate.reasons.iter().any(|g| g.contains("full window")),
        "{:?}",
        s.gate.reasons
    );
    // Once a poll covers only the new split, the gate opens again.
    wait_for(&r.handle, "a fresh window", |s| s.gate.open).await;
}

fn journal_with_unfinished_rollback(path: &std::path::Path) {
    let mut j = Journal::open(path).unwrap();
    let mut intent = Record::new(RecordKind::Intent, "test-svc", "auto-rollback", "rollback");
    intent.from = Some(25);
    intent.to = Some(0);
    intent.reason = Some("green error rate BREACH".into());
    j.append(&intent).unwrap();
}

#[tokio::test]
async fn an_unfinished_rollback_stops_the_cockpit_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    journal_with_unfinished_rollback(&path);
    let router = FakeRouter::default();
    router.0.lock().unwrap().split = 25;
    let script = Script(Arc::new(Mutex::new((0.1, true))));
    let (handle, _task) = cutover::engine::spawn(
        &config(0),
        Arc::new(router.clone()),
        Box::new(FakeSource(script)),
        Journal::open(&path).unwrap(),
        EngineOptions::default(),
    );
    let s = wait_for(&handle, "read back", |s| s.split.is_some()).await;
    assert!(matches!(s.phase, Phase::Paused { .. }), "{:?}", s.phase);
    assert!(s.events.iter().any(|e| e.text.contains("did not complete")));
    assert_eq!(
        router.0.lock().unwrap().writes,
        0,
        "an operator's cockpit moves nothing by itself"
    );

    // The autopilot finishes the rollback instead.
    let (handle, _task) = cutover::engine::spawn(
        &config(0),
        Arc::new(router.clone()),
        Box::new(FakeSource(Script(Arc::new(Mutex::new((0.1, true)))))),
        Journal::open(&path).unwrap(),
        EngineOptions {
            autopilot: true,
            ..Default::default()
        },
    );
    let s = wait_for(&handle, "rolled back", |s| s.outcome.is_some()).await;
    assert!(matches!(s.outcome, Some(Outcome::RolledBack { .. })));
    assert_eq!(router.0.lock().unwrap().split, 0);
}
