//! Time to rollback, on paused tokio time: the decision → router confirmed
//! interval on the rollback's outcome, the decision → traffic at zero
//! interval from the observed split (on a record of its own when it comes
//! later), the SLA in the event, and a drill that is never remembered as a
//! rollback of green.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use cutover::engine::journal::RecordOrigin;
use cutover::engine::journal::{Journal, RecordAction, RecordKind};
use cutover::engine::{
    Command, EngineHandle, EngineOptions, EventLevel, Origin, Phase, State, ToZero, WriteOutcome,
};
use cutover::model::Split;
use engine_rig::records;

use crate::support::engine as engine_rig;
use crate::support::{demo, serial};

use engine_rig::{FakeRouter, Rates, Scripted};

/// The kit's fake router taking `delay` to apply a write, all of it past
/// the point of no return (a cancel does not shorten it).
fn slow_router(initial: u8, delay: Duration) -> FakeRouter {
    FakeRouter::at(initial).with(|p| {
        p.kind = "slow";
        p.delay = delay;
        p.delay_cancellable = false;
    })
}

struct Rig {
    handle: EngineHandle,
    rates: Rates,
    journal: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn rig(initial: u8, delay: Duration, sla: Option<Duration>) -> Rig {
    let mut c = engine_rig::config("test-svc");
    c.plan.rollback_sla = sla;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let g = f64::from(initial);
    let rates = Rates(Arc::new(Mutex::new((100.0 - g, g))));
    let (handle, _task) = cutover::engine::spawn(
        &c,
        Arc::new(slow_router(initial, delay)),
        Box::new(Scripted::rates(rates.clone())),
        Journal::open(&journal).unwrap(),
        EngineOptions::default(),
    )
    .unwrap();
    Rig {
        handle,
        rates,
        journal,
        _dir: dir,
    }
}

async fn wait_for(h: &EngineHandle, what: &str, f: impl Fn(&State) -> bool) -> State {
    engine_rig::wait_within(h, Duration::from_secs(60), what, f).await
}

#[tokio::test(start_paused = true)]
async fn a_rollback_journals_both_intervals_and_the_sla_colours_the_event() {
    let r = rig(
        25,
        Duration::from_millis(300),
        Some(Duration::from_millis(200)),
    );
    wait_for(&r.handle, "the observed split", |s| {
        s.traffic.split.is_some() && s.traffic.observed.is_some_and(|o| o.green == 25.0)
    })
    .await;
    let decided = Instant::now();
    r.handle
        .call(
            Origin::Tui,
            Command::Rollback {
                reason: "error rate".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(decided.elapsed(), Duration::from_millis(300));
    let s = r.handle.current();
    let t = s.rollback.last.clone().expect("measured");
    assert_eq!(t.to_router, Duration::from_millis(300));
    assert_eq!(t.to_zero, ToZero::Awaiting, "the traffic still shows green");
    assert_eq!(t.over_sla(), Some(true));
    let said = s
        .events
        .iter()
        .find(|e| e.text.starts_with("time to rollback"))
        .unwrap();
    assert_eq!(said.level, EventLevel::Warn);
    assert!(
        said.text
            .contains("router confirmed 300 ms (OVER the 200 ms SLA)"),
        "{}",
        said.text
    );
    let outcome = records(&r.journal)
        .into_iter()
        .find(|r| r.kind == RecordKind::Outcome && r.action == Some(RecordAction::Rollback))
        .unwrap();
    assert_eq!(outcome.outcome, Some(WriteOutcome::Ok));
    assert_eq!(outcome.decision_to_router_ms, Some(300));
    assert_eq!(outcome.decision_to_zero_ms, None);
    assert_eq!(outcome.rollback_sla_ms, Some(200));

    // The window drains: the first poll showing green at zero is the time.
    tokio::time::sleep(Duration::from_millis(450)).await;
    *r.rates.0.lock().unwrap() = (100.0, 0.0);
    let s = wait_for(&r.handle, "traffic at zero", |s| {
        s.rollback
            .last
            .as_ref()
            .is_some_and(|t| t.to_zero.seen().is_some())
    })
    .await;
    let t = s.rollback.last.unwrap();
    let zero = t.to_zero.seen().unwrap();
    assert!(
        zero >= Duration::from_millis(750) && zero <= Duration::from_millis(900),
        "{zero:?}"
    );
    let follow = records(&r.journal)
        .into_iter()
        .find(|r| r.action == Some(RecordAction::RollbackTrafficZero))
        .expect("a record of its own");
    assert_eq!(follow.kind, RecordKind::Control);
    assert_eq!(follow.origin, Some(RecordOrigin::Tui));
    assert_eq!(follow.decision_to_zero_ms, Some(zero.as_millis() as u64));
    assert_eq!(follow.decision_to_router_ms, Some(300));
    assert!(
        s.events
            .iter()
            .any(|e| e.text.contains("→ traffic shows green at 0 %")),
        "{:#?}",
        s.events
    );
    // Only once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let n = records(&r.journal)
        .iter()
        .filter(|r| r.action == Some(RecordAction::RollbackTrafficZero))
        .count();
    assert_eq!(n, 1);
    let last = cutover::engine::last_rollback::last_rollback(&r.journal).unwrap();
    assert_eq!(last.outcome.decision_to_router_ms, Some(300));
    assert_eq!(
        last.outcome.decision_to_zero_ms,
        Some(zero.as_millis() as u64)
    );
}

#[tokio::test(start_paused = true)]
async fn traffic_at_zero_before_the_router_confirms_goes_on_the_outcome() {
    let r = rig(10, Duration::from_millis(500), None);
    wait_for(&r.handle, "the observed split", |s| {
        s.traffic.split.is_some() && s.traffic.observed.is_some()
    })
    .await;
    // The data plane drains before the router says so (a slow verify).
    let h = r.handle.clone();
    let call = tokio::spawn(async move {
        h.call(
            Origin::Cli,
            Command::Rollback {
                reason: "test".into(),
            },
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    *r.rates.0.lock().unwrap() = (100.0, 0.0);
    call.await.unwrap().unwrap();
    let t = r.handle.current().rollback.last.clone().unwrap();
    assert_eq!(t.to_router, Duration::from_millis(500));
    let zero = t.to_zero.seen().expect("seen before the router confirmed");
    assert!(zero <= Duration::from_millis(300), "{zero:?}");
    let outcome = records(&r.journal)
        .into_iter()
        .find(|r| r.kind == RecordKind::Outcome && r.action == Some(RecordAction::Rollback))
        .unwrap();
    assert_eq!(outcome.decision_to_zero_ms, Some(zero.as_millis() as u64));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !records(&r.journal)
            .iter()
            .any(|r| r.action == Some(RecordAction::RollbackTrafficZero))
    );
}

#[tokio::test(start_paused = true)]
async fn a_drill_is_measured_but_never_remembered_as_a_rollback() {
    let r = rig(0, Duration::from_millis(100), Some(Duration::from_secs(2)));
    wait_for(&r.handle, "first read", |s| s.traffic.split.is_some()).await;
    // The drill's raise is the rehearsal: no gate, no force.
    r.handle
        .call(
            Origin::Drill,
            Command::SetSplit {
                split: Split::new(5).unwrap(),
                reason: Some("drill 1/1".into()),
                force: false,
            },
        )
        .await
        .unwrap();
    *r.rates.0.lock().unwrap() = (95.0, 5.0);
    r.handle
        .call(
            Origin::Drill,
            Command::Rollback {
                reason: "drill 1/1".into(),
            },
        )
        .await
        .unwrap();
    let s = r.handle.current();
    let t = s.rollback.last.clone().unwrap();
    assert!(t.drill);
    assert_eq!(t.to_router, Duration::from_millis(100));
    assert_eq!(t.over_sla(), Some(false));
    assert_eq!(s.phase, Phase::Ready, "a drill leaves no rolled-back phase");
    assert!(s.rollback.rolled_back.is_none());
    assert!(s.outcome.is_none());
    let recs = records(&r.journal);
    assert!(recs.iter().all(|r| !r.forced), "{recs:#?}");
    assert!(
        recs.iter()
            // Samples are numbers for the report's charts, not decisions.
            .filter(|r| !matches!(r.kind, RecordKind::Start | RecordKind::Sample))
            .all(|r| r.origin == Some(RecordOrigin::Drill)),
        "{recs:#?}"
    );
    let recovery = Journal::recover(&r.journal).unwrap();
    assert!(recovery.rolled_back.is_none(), "{recovery:?}");
    // And a real cutover is not held by it.
    r.handle
        .call(
            Origin::Cli,
            Command::SetSplit {
                split: Split::new(1).unwrap(),
                reason: None,
                force: true,
            },
        )
        .await
        .unwrap();
    assert!(
        !r.handle
            .current()
            .events
            .iter()
            .any(|e| e.text.contains("earlier rollback"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_source_without_rates_is_not_waited_for() {
    let r = rig(25, Duration::from_millis(100), None);
    // No request rates at all, from the first poll on.
    *r.rates.0.lock().unwrap() = (0.0, 0.0);
    wait_for(&r.handle, "first read and poll", |s| {
        s.traffic.split.is_some() && s.guard.snapshot.is_some()
    })
    .await;
    r.handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "test".into(),
            },
        )
        .await
        .unwrap();
    let s = r.handle.current();
    let t = s.rollback.last.clone().unwrap();
    assert_eq!(t.to_router, Duration::from_millis(100));
    assert!(!t.to_zero.awaiting());
    assert!(
        !s.events
            .iter()
            .any(|e| e.text.contains("waiting for the traffic")),
        "{:#?}",
        s.events
    );
}

/// `demo --headless` on a degrading green: the auto-rollback's outcome
/// carries its time to the router, and the run waits for the traffic to
/// show green at zero so that the journal holds that time too.
#[test]
fn a_headless_auto_rollback_journals_both_times() {
    let _turn = serial::heavy();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let mut cmd = demo::headless("degrading", &journal, &dir.path().join("log"));
    cmd.args(["--dwell", "2s"]);
    let out = demo::run_within(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("time to rollback: decision → router confirmed"),
        "{stdout}"
    );
    let recs = records(&journal);
    let outcome = recs
        .iter()
        .find(|r| r.kind == RecordKind::Outcome && r.action == Some(RecordAction::Rollback))
        .unwrap_or_else(|| panic!("{recs:#?}"));
    assert_eq!(outcome.origin, Some(RecordOrigin::AutoRollback));
    assert!(outcome.decision_to_router_ms.is_some(), "{outcome:?}");
    let last = cutover::engine::last_rollback::last_rollback(&journal).unwrap();
    assert!(
        last.outcome.decision_to_zero_ms.is_some(),
        "{last:?}\n{stdout}"
    );
}
