//! The engine end to end, with a scripted metric source and an in-memory
//! router whose speed and failures the test controls. Every test runs on
//! paused tokio time, so durations are asserted exactly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use cutover::config::Config;
use cutover::engine::gate_reason::GateReason;
use cutover::engine::journal::RecordAction;
use cutover::engine::journal::RecordOrigin;
use cutover::engine::journal::{Journal, Record, RecordKind};
use cutover::engine::{
    Change, Command, Done, EngineHandle, EngineOptions, Origin, Outcome, Phase, Refusal, State,
    WriteOutcome,
};
use cutover::model::{Color, ColorReadings, NoData, Split, Verdict};
use cutover::router::{
    Applied, Readiness, Replicas, RouterError, RouterRead, TrafficRouter, WriteRequest,
};

use crate::support::engine as engine_rig;

use engine_rig::{FakeRouter, Rates, Scripted};

use engine_rig::{gate_closed, gate_hard, records, wait_for};

/// Green's error rate and whether green answers, set by the test.
#[derive(Clone)]
struct Script(Arc<Mutex<(f64, bool)>>);

fn readings(err: f64, up: bool) -> ColorReadings {
    if !up {
        return ColorReadings::all_no_data(NoData::Unreachable("127.0.0.1:1: refused".into()));
    }
    engine_rig::readings(err)
}

/// The kit's scripted source: blue healthy, green as `script` says.
fn scripted(script: Script) -> Scripted {
    Scripted::new("script", Duration::from_millis(100), move |_| {
        let (err, up) = *script.0.lock().unwrap();
        (readings(0.2, true), readings(err, up))
    })
}

/// The kit's fake router with revisions, as a router that can see a
/// change made behind the engine's back.
fn versioned() -> FakeRouter {
    FakeRouter::default().with(|p| p.versioned = true)
}

struct Rig {
    handle: EngineHandle,
    router: FakeRouter,
    script: Script,
    journal: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn config(dwell_ms: u64) -> Config {
    let mut c = engine_rig::config("test-svc");
    c.plan.dwell = Duration::from_millis(dwell_ms);
    c.plan.bake = Duration::from_millis(300);
    c
}

fn rig(initial: u8, c: Config, options: EngineOptions) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let router = versioned();
    router.0.lock().unwrap().split = initial;
    let script = Script(Arc::new(Mutex::new((0.1, true))));
    let journal = Journal::open(&path).unwrap();
    let (handle, _task) = cutover::engine::spawn(
        &c,
        Arc::new(router.clone()),
        Box::new(scripted(script.clone())),
        journal,
        options,
    )
    .unwrap();
    Rig {
        handle,
        router,
        script,
        journal: path,
        _dir: dir,
    }
}

#[tokio::test(start_paused = true)]
async fn advance_is_journaled_before_and_after() {
    let r = rig(0, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "first snapshot", |s| {
        s.traffic.split.is_some() && s.guard.snapshot.is_some() && s.guard.gate.open
    })
    .await;
    let msg = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap();
    let Done::Landed(landed) = msg else {
        panic!("not landed: {msg:?}")
    };
    assert_eq!(
        (landed.change.from, Some(landed.change.to)),
        (Split::new(0), Split::new(1))
    );
    let s = (**r.handle.state().borrow()).clone();
    assert_eq!(s.traffic.split, Split::new(1));
    assert_eq!(s.phase, Phase::Canary { step: 0 });
    assert!(s.clock.dwell_until.is_some());
    // Front ends mark windows that still hold the old split from here.
    assert!(
        s.traffic
            .split_changed_at
            .is_some_and(|t| t <= std::time::Instant::now())
    );

    let recs = records(&r.journal);
    let intent = recs.iter().find(|r| r.kind == RecordKind::Intent).unwrap();
    assert_eq!((intent.from, intent.to), (Some(0), Some(1)));
    assert_eq!(intent.origin, Some(RecordOrigin::Cli));
    let outcome = recs.iter().find(|r| r.kind == RecordKind::Outcome).unwrap();
    assert_eq!(outcome.outcome, Some(WriteOutcome::Ok));
    assert!(outcome.duration_ms.is_some());

    // The dwell holds the gate; force passes it and says so in the journal.
    let err = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(
        gate_closed(&err, |g| matches!(g, GateReason::Dwell { .. })),
        "{err:?}"
    );
    r.handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    assert_eq!(r.handle.state().borrow().traffic.split, Split::new(5));
    let forced = records(&r.journal)
        .into_iter()
        .filter(|r| r.kind == RecordKind::Intent && r.forced)
        .count();
    assert_eq!(forced, 1);
}

#[tokio::test(start_paused = true)]
async fn rollback_preempts_a_slow_write() {
    let r = rig(0, config(0), EngineOptions::default());
    wait_for(&r.handle, "gate open", |s| s.guard.gate.open).await;
    r.router.0.lock().unwrap().delay = Duration::from_secs(5);
    r.handle
        .send(Origin::Tui, Command::Advance { force: false })
        .unwrap();
    wait_for(&r.handle, "write in flight", |s| {
        s.traffic.pending.is_some()
    })
    .await;
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
    // Cancelled at its safe point at once: no virtual time passed.
    assert_eq!(started.elapsed(), Duration::ZERO);
    let s = (**r.handle.state().borrow()).clone();
    assert_eq!(s.traffic.split, Some(Split::ZERO));
    assert!(matches!(s.phase, Phase::RolledBack { .. }));
    let outcomes: Vec<_> = records(&r.journal)
        .into_iter()
        .filter(|r| r.kind == RecordKind::Outcome)
        .map(|r| (r.action.unwrap(), r.outcome.unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (RecordAction::Advance, WriteOutcome::Preempted),
            (RecordAction::Rollback, WriteOutcome::Ok)
        ]
    );
}

#[tokio::test(start_paused = true)]
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
    assert_eq!(s.traffic.split, Some(Split::ZERO));
    let Phase::RolledBack { reason } = s.phase else {
        unreachable!()
    };
    assert!(reason.contains("error rate"), "{reason}");
    let recs = records(&r.journal);
    let intent = recs
        .iter()
        .find(|r| r.kind == RecordKind::Intent && r.action == Some(RecordAction::Rollback))
        .unwrap();
    assert_eq!(intent.origin, Some(RecordOrigin::AutoRollback));
    let err = intent
        .readings
        .iter()
        .find(|x| x.color == Color::Green && x.metric == "error_rate")
        .unwrap();
    assert_eq!(err.value, Some(9.5));
    assert_eq!(err.verdict, Verdict::Breach);
}

#[tokio::test(start_paused = true)]
async fn disarmed_does_not_roll_back_and_no_data_is_not_health() {
    let r = rig(5, config(0), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.traffic.split == Split::new(5)).await;
    r.handle
        .call(Origin::Tui, Command::SetArmed(false))
        .await
        .unwrap();
    r.script.0.lock().unwrap().0 = 50.0;
    wait_for(&r.handle, "streak", |s| s.guard.breach_streak >= 4).await;
    assert_eq!(r.handle.state().borrow().traffic.split, Split::new(5));

    // Green goes dark: the gate closes rather than trusting silence.
    r.script.0.lock().unwrap().1 = false;
    let s = wait_for(&r.handle, "gate closed on no data", |s| {
        !s.guard.gate.open
            && s.guard.gate.reasons.iter().any(|g| {
                matches!(
                    g,
                    GateReason::NoData
                        | GateReason::Guardrail {
                            verdict: Verdict::NoData,
                            ..
                        }
                )
            })
    })
    .await;
    assert!(!s.guard.armed);
}

#[tokio::test(start_paused = true)]
async fn a_failed_write_leaves_the_split_and_says_why() {
    let r = rig(5, config(0), EngineOptions::default());
    wait_for(&r.handle, "gate open", |s| s.guard.gate.open).await;
    r.router.0.lock().unwrap().reject_once = Some("nginx -t: syntax error".into());
    let err = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Refusal::Failed { unverified: false, error, .. } if error.contains("syntax error")),
        "{err:?}"
    );
    let s = (**r.handle.state().borrow()).clone();
    assert_eq!(s.traffic.split, Split::new(5));
    assert!(s.traffic.pending.is_none());
    let failed = records(&r.journal)
        .into_iter()
        .find(|r| r.kind == RecordKind::Outcome)
        .unwrap();
    assert_eq!(failed.outcome, Some(WriteOutcome::Failed));
    assert!(failed.detail.unwrap().contains("syntax error"));
}

#[tokio::test(start_paused = true)]
async fn a_split_found_on_start_is_a_cutover_in_progress() {
    let r = rig(30, config(60_000), EngineOptions::default());
    let s = wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    assert_eq!(s.phase, Phase::Canary { step: 2 });
    assert!(s.events.iter().any(|e| e.text.contains("in progress")));
    // The next advance goes to the first step above 30 %.
    r.handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    assert_eq!(r.handle.state().borrow().traffic.split, Split::new(50));
    // A change made behind our back is noticed and shown.
    r.router.0.lock().unwrap().split = 10;
    wait_for(&r.handle, "outside change", |s| {
        s.traffic.split == Split::new(10)
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn readonly_moves_nothing() {
    let r = rig(
        25,
        config(0),
        EngineOptions {
            readonly: true,
            ..Default::default()
        },
    );
    let s = wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    assert!(!s.guard.armed);
    for cmd in [
        Command::Rollback { reason: "x".into() },
        Command::Advance { force: true },
        Command::Promote,
    ] {
        let e = r.handle.call(Origin::Tui, cmd).await.unwrap_err();
        assert_eq!(e, Refusal::ReadOnly);
    }
    r.script.0.lock().unwrap().0 = 50.0;
    wait_for(&r.handle, "streak", |s| s.guard.breach_streak >= 3).await;
    assert_eq!(r.router.0.lock().unwrap().writes, 0);
}

/// Issue 15, point 7: a read-only cockpit (the journal held elsewhere) is
/// sent a note on every `fg` ("resumed: ..."): it is shown, never a red
/// "journal unwritable".
#[tokio::test(start_paused = true)]
async fn a_readonly_cockpits_note_is_shown_not_an_unwritable_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let journal = Journal::open_readonly(&path, "held by process 1").unwrap();
    let options = EngineOptions {
        readonly: true,
        ..Default::default()
    };
    let (handle, _task) = cutover::engine::spawn(
        &config(0),
        Arc::new(versioned()),
        Box::new(scripted(Script(Arc::new(Mutex::new((0.1, true)))))),
        journal,
        options,
    )
    .unwrap();
    wait_for(&handle, "read back", |s| s.traffic.split.is_some()).await;
    let said = handle
        .call(
            Origin::Tui,
            Command::Note("resumed: the cockpit was suspended for 3s".into()),
        )
        .await
        .unwrap();
    assert!(matches!(said, Done::NoteShown(_)), "{said:?}");
    let s = (**handle.state().borrow()).clone();
    assert!(
        !s.events
            .iter()
            .any(|e| e.level == cutover::engine::EventLevel::Error),
        "{:?}",
        s.events
    );
}

#[tokio::test(start_paused = true)]
async fn pause_stops_the_dwell_and_resume_restarts_it() {
    let r = rig(5, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    r.handle
        .call(Origin::Tui, Command::TogglePause)
        .await
        .unwrap();
    let s = (**r.handle.state().borrow()).clone();
    assert_eq!(s.phase, Phase::Paused { step: 1 });
    assert!(s.clock.dwell_until.is_none() && s.clock.dwell_left.is_some());
    r.handle
        .call(Origin::Tui, Command::TogglePause)
        .await
        .unwrap();
    let s = (**r.handle.state().borrow()).clone();
    assert_eq!(s.phase, Phase::Canary { step: 1 });
    assert!(s.clock.dwell_until.is_some());
}

/// The dwell restarted by a bad green poll counts from the engine's clock
/// (tokio's, paused here), not the system's: an hour of paused time later,
/// the new dwell still lies a whole dwell ahead.
#[tokio::test(start_paused = true)]
async fn a_dwell_restarted_by_bad_green_counts_on_the_engines_clock() {
    let r = rig(5, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "canary read back", |s| {
        s.phase == Phase::Canary { step: 1 }
    })
    .await;
    tokio::time::advance(Duration::from_secs(3600)).await;
    r.script.0.lock().unwrap().1 = false;
    let s = wait_for(&r.handle, "dwell restarted", |s| {
        s.events
            .iter()
            .any(|e| e.text.starts_with("dwell restarted"))
    })
    .await;
    let until = s.clock.dwell_until.expect("a canary step has a dwell");
    let earliest = Instant::now().into_std() + Duration::from_secs(59);
    assert!(
        until >= earliest,
        "the dwell ends {:?} before the engine's now + 59 s",
        earliest.saturating_duration_since(until)
    );
}

#[tokio::test(start_paused = true)]
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
    assert!(s.clock.standby_until.is_some());
    let recs = records(&r.journal);
    let advances: Vec<_> = recs
        .iter()
        .filter(|r| r.kind == RecordKind::Outcome && r.action == Some(RecordAction::Advance))
        .map(|r| r.to.unwrap())
        .collect();
    assert_eq!(advances, vec![1, 5, 25, 50, 100]);
    assert!(recs.iter().any(|r| r.kind == RecordKind::Promoted));
}

#[tokio::test(start_paused = true)]
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

#[tokio::test(start_paused = true)]
async fn a_second_rollback_joins_the_one_in_flight() {
    let r = rig(25, config(0), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
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
    wait_for(&r.handle, "rollback in flight", |s| {
        s.traffic.pending.is_some()
    })
    .await;
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
    assert_eq!(again, Done::AlreadyAtZero);
    assert_eq!(r.router.0.lock().unwrap().writes, 1);
}

#[tokio::test(start_paused = true)]
async fn after_a_rollback_going_again_needs_force() {
    let r = rig(5, config(0), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    r.handle
        .call(
            Origin::Tui,
            Command::Rollback {
                reason: "bad".into(),
            },
        )
        .await
        .unwrap();
    let s = wait_for(&r.handle, "gate judged", |s| s.guard.snapshot.is_some()).await;
    assert!(
        s.guard.gate.reasons.contains(&GateReason::RolledBack),
        "{:?}",
        s.guard.gate.reasons
    );
    let e = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(
        gate_closed(&e, |g| matches!(g, GateReason::RolledBack)),
        "{e:?}"
    );
    r.handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    assert_eq!(r.handle.state().borrow().traffic.split, Split::new(1));
}

#[tokio::test(start_paused = true)]
async fn a_refused_command_from_the_tui_is_shown_as_an_event() {
    let r = rig(5, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
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
    assert_eq!(e, Refusal::AlreadyAt(Split::new(5).unwrap()));
}

#[tokio::test(start_paused = true)]
async fn data_from_before_a_step_cannot_open_the_gate() {
    let r = rig(0, config(0), EngineOptions::default());
    wait_for(&r.handle, "gate open", |s| s.guard.gate.open).await;
    r.handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap();
    // Published with the change: the latest snapshot predates the step.
    let s = (**r.handle.state().borrow()).clone();
    assert!(
        s.guard
            .gate
            .reasons
            .contains(&GateReason::DataPredatesSplit),
        "{:?}",
        s.guard.gate.reasons
    );
    // Once a poll covers only the new split, the gate opens again.
    wait_for(&r.handle, "a fresh window", |s| s.guard.gate.open).await;
}

fn journal_with_unfinished_rollback(path: &std::path::Path) {
    let mut j = Journal::open_unlocked(path).unwrap();
    let mut intent = Record::new(
        RecordKind::Intent,
        "test-svc",
        RecordOrigin::AutoRollback,
        RecordAction::Rollback,
    );
    intent.from = Some(25);
    intent.to = Some(0);
    intent.reason = Some("green error rate BREACH".into());
    j.append(&intent).unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_unfinished_rollback_is_finished_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    journal_with_unfinished_rollback(&path);
    let router = versioned();
    router.0.lock().unwrap().split = 25;
    let script = Script(Arc::new(Mutex::new((0.1, true))));
    let (handle, task) = cutover::engine::spawn(
        &config(0),
        Arc::new(router.clone()),
        Box::new(scripted(script)),
        Journal::open(&path).unwrap(),
        EngineOptions::default(),
    )
    .unwrap();
    // An operator's cockpit finishes it too, with no key pressed: 0 % is
    // the safe direction, and the journal says it was decided.
    let s = wait_for(&handle, "rolled back", |s| {
        matches!(s.phase, Phase::RolledBack { .. })
    })
    .await;
    assert!(s.events.iter().any(|e| e.text.contains("did not land")));
    assert_eq!(router.0.lock().unwrap().split, 0);
    assert_eq!(router.0.lock().unwrap().writes, 1);
    assert!(
        s.rollback.rolled_back.is_some(),
        "green needs force from now on"
    );
    handle.call(Origin::Cli, Command::Shutdown).await.unwrap();
    task.await.unwrap();
    router.0.lock().unwrap().split = 25;
    journal_with_unfinished_rollback(&path);

    // The autopilot finishes it as well, and reports it rolled back.
    let (handle, _task) = cutover::engine::spawn(
        &config(0),
        Arc::new(router.clone()),
        Box::new(scripted(Script(Arc::new(Mutex::new((0.1, true)))))),
        Journal::open(&path).unwrap(),
        EngineOptions {
            autopilot: true,
            ..Default::default()
        },
    )
    .unwrap();
    let s = wait_for(&handle, "rolled back", |s| s.outcome.is_some()).await;
    assert!(matches!(s.outcome, Some(Outcome::RolledBack { .. })));
    assert_eq!(router.0.lock().unwrap().split, 0);
}

// ----- cancel-safe writes: a router whose steps the test interleaves -----

/// A router that writes in three steps, like nginx: prepare (a safe point),
/// commit (the point of no return: the config says the new split), reload
/// (the data plane serves it). Each step of a non-zero write waits for the
/// test to release it; a rollback to 0 % runs through at once.
#[derive(Clone)]
struct Stepped {
    /// What the config says (what `get_split` reads).
    file: Arc<Mutex<u8>>,
    /// What the data plane serves.
    served: Arc<Mutex<u8>>,
    steps: Arc<tokio::sync::Semaphore>,
    /// How many steps the current write has passed.
    progress: tokio::sync::watch::Sender<u8>,
    /// Ignore cancellation entirely (a router with no safe points).
    deaf: bool,
}

impl Stepped {
    fn new(deaf: bool) -> Stepped {
        Stepped {
            file: Arc::new(Mutex::new(0)),
            served: Arc::new(Mutex::new(0)),
            steps: Arc::new(tokio::sync::Semaphore::new(0)),
            progress: tokio::sync::watch::channel(0).0,
            deaf,
        }
    }

    async fn step(&self, cancel: &tokio_util::sync::CancellationToken, safe: bool) -> bool {
        if safe && !self.deaf {
            tokio::select! {
                p = self.steps.acquire() => { p.unwrap().forget(); true }
                _ = cancel.cancelled() => false,
            }
        } else {
            self.steps.acquire().await.unwrap().forget();
            true
        }
    }

    async fn reached(&self, n: u8) {
        self.progress
            .subscribe()
            .wait_for(|p| *p >= n)
            .await
            .unwrap();
    }
}

impl cutover::router::Workload for Stepped {}

#[async_trait]
impl TrafficRouter for Stepped {
    fn kind(&self) -> &'static str {
        "stepped"
    }
    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        Ok(RouterRead::unversioned(
            Split::new(*self.file.lock().unwrap()).unwrap(),
        ))
    }
    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        let to = req.split.green();
        if to == 0 {
            *self.file.lock().unwrap() = 0;
            *self.served.lock().unwrap() = 0;
            return Ok(Applied {
                split: req.split,
                revision: None,
                detail: "rolled back".into(),
            });
        }
        self.progress.send_replace(0);
        // Prepare: a safe point.
        if !self.step(&req.cancel, true).await {
            return Err(RouterError::Cancelled);
        }
        self.progress.send_replace(1);
        // Commit: the last safe point is just before it.
        if !self.step(&req.cancel, true).await {
            return Err(RouterError::Cancelled);
        }
        *self.file.lock().unwrap() = to;
        self.progress.send_replace(2);
        // Reload: past the point of no return, so it finishes whatever
        // the token says.
        self.step(&req.cancel, false).await;
        *self.served.lock().unwrap() = to;
        self.progress.send_replace(3);
        Ok(Applied {
            split: req.split,
            revision: None,
            detail: "reloaded".into(),
        })
    }
    async fn verify(&self, split: Split) -> Result<cutover::router::Verification, RouterError> {
        let served = Split::new(*self.served.lock().unwrap()).unwrap();
        Ok(cutover::router::Verification {
            ok: served == split,
            served: Some(served),
            detail: format!("served {served}"),
        })
    }
}

struct SteppedRig {
    handle: EngineHandle,
    router: Stepped,
    journal: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn stepped_rig(deaf: bool) -> SteppedRig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let router = Stepped::new(deaf);
    let (handle, _task) = cutover::engine::spawn(
        &config(0),
        Arc::new(router.clone()),
        Box::new(scripted(Script(Arc::new(Mutex::new((0.1, true)))))),
        Journal::open(&path).unwrap(),
        EngineOptions::default(),
    )
    .unwrap();
    wait_for(&handle, "gate open", |s| s.guard.gate.open).await;
    SteppedRig {
        handle,
        router,
        journal: path,
        _dir: dir,
    }
}

/// Starts an advance, lets `released` of its steps run, then rolls back
/// (releasing the rest `late` later, if at all). Returns the rollback's
/// measured wait and the advance's journaled outcome.
async fn preempt_at(
    released: u8,
    deaf: bool,
    late: Option<Duration>,
) -> (SteppedRig, Duration, WriteOutcome, u64) {
    let r = stepped_rig(deaf).await;
    r.handle
        .send(Origin::Tui, Command::Advance { force: false })
        .unwrap();
    wait_for(&r.handle, "write in flight", |s| {
        s.traffic.pending.is_some()
    })
    .await;
    r.router.steps.add_permits(released as usize);
    r.router.reached(released).await;
    let started = Instant::now();
    let rollback = r.handle.call(
        Origin::Tui,
        Command::Rollback {
            reason: "operator".into(),
        },
    );
    let release = async {
        if let Some(after) = late {
            tokio::time::sleep(after).await;
            r.router.steps.add_permits(3);
        }
    };
    let (answer, ()) = tokio::join!(rollback, release);
    answer.unwrap();
    let waited = started.elapsed();
    let recs = records(&r.journal);
    let advance = recs
        .iter()
        .find(|x| x.kind == RecordKind::Outcome && x.action == Some(RecordAction::Advance))
        .and_then(|x| x.outcome)
        .unwrap();
    let rb_ms = recs
        .iter()
        .find(|x| x.kind == RecordKind::Outcome && x.action == Some(RecordAction::Rollback))
        .and_then(|x| x.duration_ms)
        .unwrap();
    (r, waited, advance, rb_ms)
}

fn whole_at_zero(r: &SteppedRig) {
    assert_eq!(*r.router.file.lock().unwrap(), 0, "the config says 0 %");
    assert_eq!(
        *r.router.served.lock().unwrap(),
        0,
        "the data plane serves 0 %"
    );
    let s = r.handle.current();
    assert_eq!(s.traffic.split, Some(Split::ZERO));
    assert!(s.traffic.pending.is_none());
    assert!(matches!(s.phase, Phase::RolledBack { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_rollback_before_the_first_step_cancels_at_once() {
    let (r, waited, advance, rb_ms) = preempt_at(0, false, None).await;
    assert_eq!(waited, Duration::ZERO);
    assert_eq!(advance, WriteOutcome::Preempted);
    assert_eq!(rb_ms, 0);
    whole_at_zero(&r);
}

#[tokio::test(start_paused = true)]
async fn a_rollback_after_prepare_cancels_before_the_commit() {
    let (r, waited, advance, _) = preempt_at(1, false, None).await;
    assert_eq!(waited, Duration::ZERO);
    assert_eq!(advance, WriteOutcome::Preempted);
    whole_at_zero(&r);
}

#[tokio::test(start_paused = true)]
async fn a_rollback_after_the_commit_waits_for_the_reload_and_counts_it() {
    // Past the point of no return the write finishes (500 ms later), lands,
    // and the rollback follows it; its measured time includes the wait.
    let (r, waited, advance, rb_ms) = preempt_at(2, false, Some(Duration::from_millis(500))).await;
    assert_eq!(waited, Duration::from_millis(500));
    assert_eq!(advance, WriteOutcome::Ok);
    assert_eq!(rb_ms, 500);
    whole_at_zero(&r);
}

#[tokio::test(start_paused = true)]
async fn a_write_with_no_safe_point_is_abandoned_after_the_deadline() {
    let (r, waited, advance, rb_ms) = preempt_at(1, true, None).await;
    assert_eq!(waited, cutover::engine::task::PREEMPT_DEADLINE);
    assert_eq!(advance, WriteOutcome::Abandoned);
    assert_eq!(rb_ms, 2000);
    whole_at_zero(&r);
}

// ----- the rollback lane and coalesced controls ---------------------------

#[tokio::test(start_paused = true)]
async fn a_full_command_queue_never_refuses_a_rollback() {
    let r = rig(25, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    // The engine does not run while this test sends (one thread): the
    // normal queue fills up.
    let mut sent = 0;
    while r
        .handle
        .send(Origin::Tui, Command::Note(format!("burst {sent}")))
        .is_ok()
    {
        sent += 1;
    }
    assert_eq!(sent, 64);
    assert!(
        r.handle
            .send(Origin::Tui, Command::Note("one more".into()))
            .unwrap_err()
            .contains("queue full")
    );
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
    assert_eq!(started.elapsed(), Duration::ZERO);
    // It went ahead of the burst: the notes come after it in the journal.
    let recs = records(&r.journal);
    let rb = recs
        .iter()
        .position(|x| x.kind == RecordKind::Intent && x.action == Some(RecordAction::Rollback))
        .unwrap();
    let first_note = recs.iter().position(|x| x.kind == RecordKind::Note);
    assert!(first_note.is_none_or(|n| n > rb), "{recs:#?}");
    assert_eq!(r.router.0.lock().unwrap().split, 0);
}

#[tokio::test(start_paused = true)]
async fn arming_twice_journals_once() {
    let r = rig(0, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    for _ in 0..10 {
        r.handle.send(Origin::Tui, Command::SetArmed(true)).unwrap();
    }
    for _ in 0..10 {
        r.handle
            .send(Origin::Tui, Command::SetArmed(false))
            .unwrap();
    }
    r.handle
        .call(Origin::Tui, Command::Note("done".into()))
        .await
        .unwrap();
    let controls: Vec<_> = records(&r.journal)
        .into_iter()
        .filter(|x| x.kind == RecordKind::Control)
        .map(|x| x.action)
        .collect();
    assert_eq!(controls, vec![Some(RecordAction::Disarm)]);
}

// ----- revisions, capabilities, readiness, verification -------------------

#[tokio::test(start_paused = true)]
async fn a_change_behind_our_back_is_a_conflict_not_overwritten() {
    let r = rig(5, config(0), EngineOptions::default());
    wait_for(&r.handle, "gate open", |s| s.guard.gate.open).await;
    // Someone else moves the router between our read and our write.
    r.router.poke(10);
    let err = r
        .handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Refusal::Conflict { change: Change { to, .. }, who }
            if *to == Split::new(25).unwrap() && who.contains("edited by the test")),
        "{err:?}"
    );
    assert_eq!(r.router.0.lock().unwrap().split, 10, "nothing overwritten");
    let conflict = records(&r.journal)
        .into_iter()
        .find(|x| x.kind == RecordKind::Outcome)
        .unwrap();
    assert_eq!(conflict.outcome, Some(WriteOutcome::Conflict));
    // The re-read shows what changed.
    let s = wait_for(&r.handle, "re-read", |s| s.traffic.split == Split::new(10)).await;
    assert!(
        s.events
            .iter()
            .any(|e| e.text.contains("router reports 10%")),
        "{:#?}",
        s.events
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_that_meets_a_conflict_rereads_once_and_retries() {
    let r = rig(25, config(60_000), EngineOptions::default());
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    r.router.0.lock().unwrap().conflicts = 1;
    r.handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "operator".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(r.router.0.lock().unwrap().split, 0);
    let out = records(&r.journal)
        .into_iter()
        .find(|x| x.kind == RecordKind::Outcome)
        .unwrap();
    assert_eq!(out.outcome, Some(WriteOutcome::Ok));
    assert!(
        out.detail
            .as_deref()
            .unwrap()
            .contains("retried after a conflict"),
        "{out:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn splits_the_router_cannot_set_are_refused_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let router = versioned();
    router.0.lock().unwrap().only = Some(vec![0, 100]);
    let (handle, _task) = cutover::engine::spawn(
        &config(0),
        Arc::new(router.clone()),
        Box::new(scripted(Script(Arc::new(Mutex::new((0.1, true)))))),
        Journal::open(&dir.path().join("j.jsonl")).unwrap(),
        EngineOptions::default(),
    )
    .unwrap();
    let s = wait_for(&handle, "read back", |s| s.traffic.split.is_some()).await;
    assert!(
        s.events.iter().any(|e| e.text
            == "plan steps 1%, 5%, 25%, 50% cannot be set: the fake router can set only 0% and 100%"),
        "{:#?}",
        s.events
    );
    let err = handle
        .call(
            Origin::Cli,
            Command::SetSplit {
                split: Split::new(25).unwrap(),
                reason: None,
                force: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::CannotSet {
            router: "fake".into(),
            to: Split::new(25).unwrap(),
            can: "only 0% and 100%".into()
        }
    );
    assert_eq!(router.0.lock().unwrap().writes, 0);
}

#[tokio::test(start_paused = true)]
async fn green_with_no_ready_replica_closes_the_gate_but_not_rollback() {
    let r = rig(5, config(0), EngineOptions::default());
    r.router.0.lock().unwrap().readiness = Readiness {
        blue: Some(Replicas {
            ready: 3,
            desired: 3,
        }),
        green: Some(Replicas {
            ready: 0,
            desired: 3,
        }),
    };
    let s = wait_for(&r.handle, "readiness read", |s| {
        s.traffic.readiness.is_some()
    })
    .await;
    assert!(
        s.guard
            .gate
            .reasons
            .contains(&GateReason::GreenNotReady { desired: 3 }),
        "{:?}",
        s.guard.gate
    );
    let err = r
        .handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap_err();
    assert!(
        gate_hard(&err, |g| matches!(
            g,
            GateReason::GreenNotReady { desired: 3 }
        )),
        "{err:?}"
    );
    r.handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "operator".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(r.router.0.lock().unwrap().split, 0);
}

#[tokio::test(start_paused = true)]
async fn what_the_data_plane_served_is_kept_with_its_time() {
    let r = stepped_rig(false).await;
    r.router.steps.add_permits(3);
    let t = Instant::now();
    r.handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap();
    let s = r.handle.current();
    let v = s.traffic.verified.clone().unwrap();
    assert_eq!(v.served, Split::new(1).unwrap());
    assert_eq!(v.at, t.into_std());
    assert_eq!(v.detail, "served 1%");
    let out = records(&r.journal)
        .into_iter()
        .find(|x| x.kind == RecordKind::Outcome)
        .unwrap();
    assert_eq!(out.detail.as_deref(), Some("reloaded; verify: served 1%"));
}

#[tokio::test(start_paused = true)]
async fn rollbacks_that_join_a_waiting_rollback_all_get_the_answer() {
    let r = stepped_rig(true).await;
    r.handle
        .send(Origin::Tui, Command::Advance { force: false })
        .unwrap();
    wait_for(&r.handle, "write in flight", |s| {
        s.traffic.pending.is_some()
    })
    .await;
    let rb = |n: u32| {
        r.handle.call(
            Origin::Tui,
            Command::Rollback {
                reason: format!("operator {n}"),
            },
        )
    };
    let (a, b) = tokio::join!(rb(1), rb(2));
    a.unwrap();
    b.unwrap();
    whole_at_zero(&r);
    let rollbacks = records(&r.journal)
        .into_iter()
        .filter(|x| x.kind == RecordKind::Intent && x.action == Some(RecordAction::Rollback))
        .count();
    assert_eq!(rollbacks, 1);
}

fn disagreements(s: &State) -> Vec<(cutover::engine::EventLevel, String)> {
    s.events
        .iter()
        .filter(|e| e.text.starts_with("traffic "))
        .map(|e| (e.level, e.text.clone()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn traffic_that_disagrees_with_the_router_for_a_window_is_an_event() {
    use cutover::engine::EventLevel;
    let dir = tempfile::tempdir().unwrap();
    let router = versioned();
    router.0.lock().unwrap().split = 25;
    let rates = Rates(Arc::new(Mutex::new((75.0, 25.0))));
    let mut c = config(60_000);
    // Three polls make a window; 5 points of margin (the default).
    c.source.window = Duration::from_millis(300);
    let (h, _task) = cutover::engine::spawn(
        &c,
        Arc::new(router.clone()),
        Box::new(Scripted::rates(rates.clone())),
        Journal::open(&dir.path().join("journal.jsonl")).unwrap(),
        EngineOptions::default(),
    )
    .unwrap();
    let s = wait_for(&h, "the observed split", |s| {
        s.traffic.split.is_some() && s.traffic.observed.is_some()
    })
    .await;
    assert_eq!(s.traffic.observed.unwrap().green, 25.0);
    assert!(!s.traffic.observed_disagrees);

    // Within the margin: nothing, however long.
    *rates.0.lock().unwrap() = (71.0, 29.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = (**h.state().borrow()).clone();
    assert_eq!(s.traffic.observed.unwrap().green, 29.0);
    assert!(!s.traffic.observed_disagrees);
    assert!(disagreements(&s).is_empty(), "{:?}", disagreements(&s));

    // Beyond it: marked after a whole window, not before, and said once.
    *rates.0.lock().unwrap() = (60.0, 40.0);
    let started = Instant::now();
    let s = wait_for(&h, "drifting", |s| {
        s.traffic.observed.is_some_and(|o| o.green == 40.0)
    })
    .await;
    assert!(!s.traffic.observed_disagrees);
    let s = wait_for(&h, "the disagreement", |s| s.traffic.observed_disagrees).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() <= Duration::from_millis(500));
    assert_eq!(
        disagreements(&s),
        vec![(
            EventLevel::Warn,
            "traffic shows green at 40.0 % while the router says 25 % for a whole window (300ms)"
                .to_string()
        )]
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = (**h.state().borrow()).clone();
    assert!(s.traffic.observed_disagrees);
    assert_eq!(disagreements(&s).len(), 1, "{:?}", disagreements(&s));

    // Back within the margin: unmarked, and said.
    *rates.0.lock().unwrap() = (75.0, 25.0);
    let s = wait_for(&h, "agreement", |s| !s.traffic.observed_disagrees).await;
    let said = disagreements(&s);
    assert_eq!(said.len(), 2, "{said:?}");
    assert_eq!(
        said[1],
        (
            EventLevel::Info,
            "traffic agrees with the router again: green at 25.0 %".to_string()
        )
    );

    // No rates: no split is made up; the last one keeps its time.
    *rates.0.lock().unwrap() = (0.0, 0.0);
    let before = s.traffic.observed.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let s = (**h.state().borrow()).clone();
    assert_eq!(s.traffic.observed, Some(before));
    assert!(!s.traffic.observed_disagrees);
}

#[tokio::test(start_paused = true)]
async fn samples_are_journaled_at_most_once_per_interval_by_the_writer_only() {
    let mut c = config(60_000);
    c.journal.sample_every = Duration::from_millis(500);
    let writer = rig(25, c.clone(), EngineOptions::default());
    let watcher = rig(
        25,
        c,
        EngineOptions {
            readonly: true,
            ..Default::default()
        },
    );
    for r in [&writer, &watcher] {
        wait_for(&r.handle, "first snapshot", |s| s.guard.snapshot.is_some()).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let samples: Vec<Record> = records(&writer.journal)
        .into_iter()
        .filter(|r| r.kind == RecordKind::Sample)
        .collect();
    // 5 s at one per 500 ms (polls every 100 ms).
    assert!((9..=12).contains(&samples.len()), "{}", samples.len());
    let s = samples[0].sample.as_ref().unwrap();
    assert_eq!(s.green_pct, Some(25));
    assert!(s.get(Color::Green, "error_rate").is_some());
    assert!(
        records(&watcher.journal)
            .iter()
            .all(|r| r.kind != RecordKind::Sample),
        "a watcher writes no samples"
    );
}
