//! A rollback is remembered across restarts, and every path that raises
//! green's traffic passes one gate (issue 7, points 3 and 4). The engine
//! end to end over an in-memory router and a scripted source, restarted on
//! the same journal.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cutover::config::Config;
use cutover::engine::gate_reason::GateReason;
use cutover::engine::journal::RecordAction;
use cutover::engine::journal::{Journal, RecordKind};
use cutover::engine::{
    Command, EngineHandle, EngineOptions, Origin, Outcome, Phase, Refusal, State,
};
use cutover::model::Split;

use crate::support::engine as engine_rig;

use engine_rig::{FakeRouter as Router, Scripted, wait_for};

fn config(green_version: Option<&str>, dwell: Duration) -> Config {
    let mut c = engine_rig::config("svc");
    c.service.green_version = green_version.map(str::to_string);
    c.plan.dwell = dwell;
    c.plan.progress_deadline = Duration::from_secs(2);
    c
}

fn start(c: &Config, router: &Router, journal: &Path, options: EngineOptions) -> EngineHandle {
    let (handle, _task) = cutover::engine::spawn(
        c,
        Arc::new(router.clone()),
        Box::new(Scripted::healthy()),
        Journal::open(journal).unwrap(),
        options,
    )
    .unwrap();
    handle
}

async fn ready(h: &EngineHandle) -> State {
    wait_for(h, "split and data", |s| {
        s.traffic.split.is_some() && s.guard.snapshot.is_some()
    })
    .await
}

/// Runs a cockpit at 5 % that rolls back, and stops it.
async fn rolled_back_journal(journal: &Path, green_version: Option<&str>) {
    let router = Router::at(5);
    let h = start(
        &config(green_version, Duration::from_secs(60)),
        &router,
        journal,
        EngineOptions::default(),
    );
    ready(&h).await;
    h.call(
        Origin::Tui,
        Command::Rollback {
            reason: "operator rollback: p99 climbing".into(),
        },
    )
    .await
    .unwrap();
    h.call(Origin::Cli, Command::Shutdown).await.unwrap();
}

fn set(pct: u8, force: bool) -> Command {
    Command::SetSplit {
        split: Split::new(pct).unwrap(),
        reason: None,
        force,
    }
}

#[tokio::test]
async fn a_restart_after_a_rollback_is_still_rolled_back_and_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    rolled_back_journal(&journal, None).await;

    let router = Router::at(0);
    let c = config(None, Duration::from_millis(200));
    let h = start(&c, &router, &journal, EngineOptions::default());
    let s = ready(&h).await;
    assert_eq!(
        s.phase,
        Phase::RolledBack {
            reason: "operator rollback: p99 climbing".into()
        }
    );
    let m = s
        .rollback
        .rolled_back
        .as_ref()
        .expect("the rollback is remembered");
    assert_eq!(m.reason, "operator rollback: p99 climbing");
    assert!(!s.guard.gate.open, "{:?}", s.guard.gate);
    assert!(
        s.events
            .iter()
            .any(|e| e.text.contains("was rolled back") && e.text.contains("needs force")),
        "{:#?}",
        s.events
    );

    // Every path that raises green's traffic is refused without force.
    for cmd in [
        Command::Advance { force: false },
        set(25, false),
        Command::Promote,
    ] {
        let e = h.call(Origin::Tui, cmd.clone()).await.unwrap_err();
        let needs_force = match &cmd {
            Command::Promote => matches!(e, Refusal::PromoteRolledBack { .. }),
            _ => engine_rig::gate_closed(&e, |g| matches!(g, GateReason::RolledBack)),
        };
        assert!(needs_force, "{cmd:?}: {e:?}");
    }
    assert_eq!(router.writes(), 0);

    // Force passes, is journaled as forced, and ends the memory.
    h.call(Origin::Cli, set(5, true)).await.unwrap();
    let s = h.state().borrow().clone();
    assert_eq!(s.traffic.split, Split::new(5));
    assert!(s.rollback.rolled_back.is_none());
    let forced = Journal::read_all(&journal)
        .unwrap()
        .into_iter()
        .find(|r| r.kind == RecordKind::Intent && r.action == Some(RecordAction::Set))
        .unwrap();
    assert!(forced.forced);
    h.call(Origin::Cli, Command::Shutdown).await.unwrap();

    // ...so the next start is an ordinary cutover in progress.
    let h = start(&c, &router, &journal, EngineOptions::default());
    let s = ready(&h).await;
    assert!(
        s.rollback.rolled_back.is_none(),
        "{:?}",
        s.rollback.rolled_back
    );
    assert!(matches!(s.phase, Phase::Canary { .. }), "{:?}", s.phase);
}

#[tokio::test]
async fn a_new_green_version_clears_the_memory_and_the_same_one_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    rolled_back_journal(&journal, Some("v1")).await;
    let rb = Journal::read_all(&journal)
        .unwrap()
        .into_iter()
        .find(|r| r.kind == RecordKind::Outcome && r.action == Some(RecordAction::Rollback))
        .unwrap();
    assert_eq!(rb.green_version.as_deref(), Some("v1"));

    // The same green: still rolled back.
    let router = Router::at(0);
    let h = start(
        &config(Some("v1"), Duration::from_millis(200)),
        &router,
        &journal,
        EngineOptions::default(),
    );
    let s = ready(&h).await;
    assert!(s.rollback.rolled_back.is_some());
    h.call(Origin::Cli, Command::Shutdown).await.unwrap();

    // A new green: the memory is gone, and the event log says why.
    let h = start(
        &config(Some("v2"), Duration::from_millis(200)),
        &router,
        &journal,
        EngineOptions::default(),
    );
    let s = ready(&h).await;
    assert!(s.rollback.rolled_back.is_none());
    assert_eq!(s.phase, Phase::Ready);
    assert!(
        s.events
            .iter()
            .any(|e| e.text.contains("green_version is now v2")
                && e.text.contains("no longer holds")),
        "{:#?}",
        s.events
    );
    let s = wait_for(&h, "gate open", |s| s.guard.gate.open).await;
    assert!(s.guard.gate.open);
    h.call(Origin::Tui, Command::Advance { force: false })
        .await
        .unwrap();
    h.call(Origin::Cli, Command::Shutdown).await.unwrap();

    // And v2's start record keeps it gone on the next restart.
    let h = start(
        &config(Some("v2"), Duration::from_millis(200)),
        &Router::at(0),
        &journal,
        EngineOptions::default(),
    );
    assert!(ready(&h).await.rollback.rolled_back.is_none());
}

#[tokio::test]
async fn the_autopilot_on_a_rolled_back_journal_holds_and_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    rolled_back_journal(&journal, None).await;
    let router = Router::at(0);
    let h = start(
        &config(None, Duration::from_millis(100)),
        &router,
        &journal,
        EngineOptions {
            autopilot: true,
            ..Default::default()
        },
    );
    let s = wait_for(&h, "an outcome", |s| s.outcome.is_some()).await;
    let Some(Outcome::HeldAfterRollback { reason }) = &s.outcome else {
        panic!("{:?}", s.outcome);
    };
    assert!(reason.contains("p99 climbing"), "{reason}");
    // Well past dwell and progress deadline: still nothing written.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(router.writes(), 0);
    assert_eq!(h.state().borrow().traffic.split, Some(Split::ZERO));
    assert_eq!(cutover::cli::exit_code_for(&s.outcome.unwrap()), 4);
}

#[tokio::test]
async fn set_passes_the_same_gate_as_advance_and_lowering_is_never_gated() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let router = Router::at(5);
    let h = start(
        &config(None, Duration::from_secs(60)),
        &router,
        &journal,
        EngineOptions::default(),
    );
    ready(&h).await;
    // The dwell holds the gate: raising by `set` is refused like `n`.
    let e = h.call(Origin::Cli, set(25, false)).await.unwrap_err();
    assert!(
        engine_rig::gate_closed(&e, |g| matches!(g, GateReason::Dwell { .. })),
        "{e:?}"
    );
    assert_eq!(router.writes(), 0);
    // Force passes it, journaled as forced.
    h.call(Origin::Cli, set(25, true)).await.unwrap();
    let intent = Journal::read_all(&journal)
        .unwrap()
        .into_iter()
        .find(|r| r.kind == RecordKind::Intent)
        .unwrap();
    assert!(intent.forced && intent.to == Some(25), "{intent:?}");
    // Lowering green's traffic never waits for the gate.
    h.call(Origin::Cli, set(1, false)).await.unwrap();
    assert_eq!(h.state().borrow().traffic.split, Split::new(1));
}
