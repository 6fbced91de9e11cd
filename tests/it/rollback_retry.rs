//! A rollback is a state until it lands (issue 16): retried with backoff,
//! journaled and alerted three times at most, nothing raises green
//! meanwhile; a restart reconciles with the data plane and finishes an
//! interrupted rollback; a rollback is remembered however it ended, also
//! one made by another process; and a rollback is reported as soon as the
//! router took it. Engine rig with a router whose faults the test sets, on
//! paused tokio time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover::config::{AlertEvent, Config};
use cutover::engine::gate_reason::GateReason;
use cutover::engine::journal::RecordAction;
use cutover::engine::journal::RecordOrigin;
use cutover::engine::journal::{Journal, Record, RecordKind};
use cutover::engine::{
    Command, Done, EngineHandle, EngineOptions, Notice, Origin, Outcome, Phase, Refusal, State,
    WriteOutcome,
};
use cutover::model::Split;
use tokio::sync::mpsc;

use crate::support::engine as engine_rig;

use engine_rig::{FakeRouter, Scripted, records, wait_for, wait_within};

/// The kit's fake router whose writes fail while the test says so, with a
/// data plane of its own that a write moves only when it lands (`verify`
/// probes it).
fn faulty(split: u8) -> FakeRouter {
    FakeRouter::at(split).with(|p| {
        p.kind = "faulty";
        p.probe = true;
    })
}

struct Rig {
    handle: EngineHandle,
    router: FakeRouter,
    journal: std::path::PathBuf,
    notices: mpsc::UnboundedReceiver<Notice>,
    _dir: tempfile::TempDir,
}

fn config() -> Config {
    let mut c = engine_rig::config("retry-svc");
    c.plan.dwell = Duration::from_secs(3600);
    c
}

fn rig_with(router: FakeRouter, c: &Config, options: EngineOptions, journal: Vec<Record>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    {
        let mut j = Journal::open_unlocked(&path).unwrap();
        for r in &journal {
            j.append(r).unwrap();
        }
    }
    let (tx, notices) = mpsc::unbounded_channel();
    let options = EngineOptions {
        notices: Some(tx),
        ..options
    };
    let (handle, _task) = cutover::engine::spawn(
        c,
        Arc::new(router.clone()),
        Box::new(Scripted::healthy()),
        Journal::open(&path).unwrap(),
        options,
    )
    .unwrap();
    Rig {
        handle,
        router,
        journal: path,
        notices,
        _dir: dir,
    }
}

fn rig(split: u8) -> Rig {
    rig_with(faulty(split), &config(), EngineOptions::default(), vec![])
}

fn rollback(reason: &str) -> Command {
    Command::Rollback {
        reason: reason.into(),
    }
}

fn rollback_lines(journal: &std::path::Path) -> Vec<Record> {
    records(journal)
        .into_iter()
        .filter(|r| {
            matches!(
                r.action,
                Some(
                    RecordAction::Rollback
                        | RecordAction::RollbackRetrying
                        | RecordAction::RollbackNotLanded
                        | RecordAction::RollbackTrafficZero
                )
            )
        })
        .collect()
}

fn rollback_alerts(rx: &mut mpsc::UnboundedReceiver<Notice>) -> Vec<Notice> {
    let mut out = Vec::new();
    while let Ok(n) = rx.try_recv() {
        if n.event == AlertEvent::Rollback {
            out.push(n);
        }
    }
    out
}

fn tries(s: &State) -> u32 {
    s.rollback.failed.as_ref().map_or(0, |r| r.tries)
}

/// Point 1: a manual rollback that fails is retried with backoff until it
/// lands; the journal and alerts hear of it when it starts failing, when
/// the reason changes and when it lands; nothing raises green meanwhile.
#[tokio::test(start_paused = true)]
async fn a_failed_rollback_is_retried_until_it_lands() {
    let mut r = rig(5);
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    r.router
        .set(|i| i.unavailable = Some("nginx.pid: no such file (nginx is not running)".into()));
    r.handle.send(Origin::Tui, rollback("r pressed")).unwrap();
    let s = wait_for(&r.handle, "failing", |s| s.rollback.failed.is_some()).await;
    assert_eq!(tries(&s), 1);
    assert!(
        s.rollback
            .failed
            .as_ref()
            .unwrap()
            .reason
            .contains("not running")
    );
    // The first retry comes within a second.
    wait_within(&r.handle, Duration::from_secs(1), "second try", |s| {
        tries(s) >= 2
    })
    .await;
    // Nothing raises green meanwhile, not even by force.
    for cmd in [
        Command::Advance { force: true },
        Command::SetSplit {
            split: Split::new(50).unwrap(),
            reason: None,
            force: true,
        },
        Command::Promote,
    ] {
        let e = r.handle.call(Origin::Cli, cmd).await.unwrap_err();
        assert!(matches!(e, Refusal::RollbackFailing { .. }), "{e:?}");
    }
    // Capped backoff: still trying after a minute, a try every few seconds.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let s = r.handle.current();
    assert!(tries(&s) >= 15, "tries after a minute: {}", tries(&s));
    assert!(tries(&s) <= 25, "tries after a minute: {}", tries(&s));
    // One line when it started failing (the intent's outcome), no more.
    let lines = rollback_lines(&r.journal);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[1].outcome, Some(WriteOutcome::Failed));
    // The reason changes: one line and one alert more.
    r.router
        .set(|i| i.unavailable = Some("nginx -t: unknown directive".into()));
    wait_for(&r.handle, "new reason", |s| {
        s.rollback
            .failed
            .as_ref()
            .is_some_and(|f| f.reason.contains("unknown directive"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    let lines = rollback_lines(&r.journal);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(lines[2].action, Some(RecordAction::RollbackRetrying));
    // Healed: it lands with no key pressed, and says how long it took.
    r.router.set(|i| i.unavailable = None);
    let s = wait_for(&r.handle, "landed", |s| s.rollback.failed.is_none()).await;
    assert_eq!(r.router.get(|i| i.split), 0);
    let landed = wait_for(&r.handle, "rolled back", |s| {
        matches!(s.phase, Phase::RolledBack { .. })
    })
    .await;
    assert!(landed.rollback.rolled_back.is_some());
    let lines = rollback_lines(&r.journal);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let ok = &lines[3];
    assert_eq!(ok.outcome, Some(WriteOutcome::Ok));
    assert!(
        ok.detail.as_deref().unwrap().contains("landed on try"),
        "{ok:?}"
    );
    assert!(ok.duration_ms.unwrap() >= 80_000, "{ok:?}");
    let alerts = rollback_alerts(&mut r.notices);
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    assert!(alerts[0].failed.is_some() && alerts[1].failed.is_some());
    assert!(alerts[2].failed.is_none());
    assert!(
        s.events
            .iter()
            .any(|e| e.text.contains("ROLLBACK FAILED — retrying"))
    );
}

/// Point 1: an automatic rollback is retried the same way, without an
/// intent, an outcome and an alert per poll.
#[tokio::test(start_paused = true)]
async fn an_automatic_rollback_retries_without_a_line_per_poll() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let router = faulty(25);
    router.set(|i| i.unavailable = Some("API 500".into()));
    let (tx, mut notices) = mpsc::unbounded_channel();
    let (h, _task) = cutover::engine::spawn(
        &config(),
        Arc::new(router.clone()),
        Box::new(engine_rig::Scripted::rates(engine_rig::Rates(Arc::new(
            Mutex::new((100.0, 100.0)),
        )))),
        Journal::open(&path).unwrap(),
        EngineOptions {
            autopilot: true,
            notices: Some(tx),
            ..Default::default()
        },
    )
    .unwrap();
    wait_for(&h, "read back", |s| s.traffic.split.is_some()).await;
    // The progress deadline is the automatic decision here.
    h.send(Origin::AutoRollback, rollback("auto-rollback: breach"))
        .unwrap();
    wait_for(&h, "failing", |s| s.rollback.failed.is_some()).await;
    tokio::time::sleep(Duration::from_secs(28)).await;
    assert!(tries(&h.current()) >= 8);
    let intents = records(&path)
        .into_iter()
        .filter(|r| r.kind == RecordKind::Intent)
        .count();
    assert_eq!(intents, 1);
    assert_eq!(rollback_lines(&path).len(), 2);
    assert_eq!(rollback_alerts(&mut notices).len(), 1);
    assert!(h.current().outcome.is_none(), "the autopilot waits for it");
    router.set(|i| i.unavailable = None);
    let s = wait_for(&h, "outcome", |s| s.outcome.is_some()).await;
    assert!(matches!(s.outcome, Some(Outcome::RolledBack { .. })));
}

/// Point 1: a new `r` while the rollback fails tries again at once.
#[tokio::test(start_paused = true)]
async fn a_new_rollback_retries_at_once() {
    let r = rig(5);
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    r.router.set(|i| i.unavailable = Some("down".into()));
    r.handle.send(Origin::Tui, rollback("r")).unwrap();
    // Let the backoff grow to its cap.
    wait_for(&r.handle, "four tries", |s| tries(s) >= 4).await;
    let before = r.router.get(|i| i.writes);
    r.router.set(|i| i.unavailable = None);
    let t0 = tokio::time::Instant::now();
    let msg = r
        .handle
        .call(Origin::Cli, rollback("r again"))
        .await
        .unwrap();
    assert!(
        t0.elapsed() < Duration::from_millis(100),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(r.router.get(|i| i.writes), before + 1);
    assert!(
        matches!(&msg, Done::Landed(l) if l.detail.contains("landed on try")),
        "{msg:?}"
    );
}

/// Point 6: a rollback is reported as soon as the router took it; the
/// split is shown as verifying until the data plane's check returns.
#[tokio::test(start_paused = true)]
async fn a_rollback_is_reported_before_its_check_returns() {
    let r = rig(25);
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    r.router.set(|i| i.verify_delay = Duration::from_secs(5));
    let t0 = tokio::time::Instant::now();
    r.handle.call(Origin::Cli, rollback("r")).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    let s = r.handle.current();
    assert_eq!(s.traffic.split, Split::new(0));
    assert_eq!(s.traffic.verifying.map(|v| v.split), Split::new(0));
    let s = wait_for(&r.handle, "checked", |s| s.traffic.verifying.is_none()).await;
    assert_eq!(s.traffic.verified.as_ref().map(|v| v.served), Split::new(0));
    assert!(s.rollback.failed.is_none());
}

/// Point 6: a data plane still serving green after the router took the
/// rollback makes it a failing rollback, retried until served.
#[tokio::test(start_paused = true)]
async fn a_rollback_the_data_plane_did_not_take_is_retried() {
    let r = rig(25);
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    // The file changes, the workers do not (a reload that never happened),
    // twice.
    r.router.set(|i| i.stuck = 2);
    r.handle.call(Origin::Cli, rollback("r")).await.unwrap();
    let s = wait_for(&r.handle, "unconfirmed", |s| s.rollback.failed.is_some()).await;
    assert!(
        s.rollback
            .failed
            .as_ref()
            .unwrap()
            .reason
            .contains("data plane"),
        "{:?}",
        s.rollback.failed
    );
    let s = wait_for(&r.handle, "served", |s| {
        s.rollback.failed.is_none()
            && s.traffic
                .verified
                .as_ref()
                .is_some_and(|v| v.served.green() == 0)
    })
    .await;
    assert_eq!(s.traffic.split, Split::new(0));
}

/// Point 6: a change the data plane did not confirm never says "rejected,
/// previous split still in force".
#[tokio::test(start_paused = true)]
async fn an_unconfirmed_change_does_not_contradict_itself() {
    let r = rig(1);
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    r.router.set(|i| i.stuck = 1);
    let e = r
        .handle
        .call(
            Origin::Cli,
            Command::SetSplit {
                split: Split::new(5).unwrap(),
                reason: None,
                force: true,
            },
        )
        .await
        .unwrap_err();
    // Unverified (traffic may have moved), never "previous split still in force".
    assert!(
        matches!(&e, Refusal::Failed { unverified: true, error, .. } if error.contains("not confirmed")),
        "{e:?}"
    );
}

/// Point 4: the router is reconciled with the data plane once, before the
/// first read is believed; what it did is journaled and said; the data
/// plane's split is shown with its age.
#[tokio::test(start_paused = true)]
async fn the_router_is_reconciled_before_the_first_read() {
    let router = faulty(0);
    router.set(|i| {
        i.served = 25;
        i.reconcile = Some("reloaded: the include is newer than the running workers".into());
    });
    let r = rig_with(router, &config(), EngineOptions::default(), vec![]);
    let s = wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    assert_eq!(
        r.router.get(|i| i.calls[..2].to_vec()),
        ["reconcile", "read"]
    );
    let s = if s.traffic.verified.is_none() {
        wait_for(&r.handle, "served", |s| s.traffic.verified.is_some()).await
    } else {
        s
    };
    assert_eq!(
        s.traffic.verified.as_ref().unwrap().served,
        Split::new(25).unwrap()
    );
    assert!(
        s.events
            .iter()
            .any(|e| e.text.contains("newer than the running"))
    );
    assert!(
        records(&r.journal)
            .iter()
            .any(|l| l.action == Some(RecordAction::Reconcile)
                && l.detail.as_deref().unwrap().contains("newer"))
    );
    // The router says 0 %, the data plane serves green: `r` acts.
    let msg = r.handle.call(Origin::Tui, rollback("r")).await.unwrap();
    assert!(matches!(msg, Done::Landed(_)), "{msg:?}");
    assert_eq!(r.router.get(|i| (i.writes, i.served)), (1, 0));
}

fn intent(action: RecordAction, from: u8, to: u8, reason: &str) -> Record {
    let mut rec = Record::new(RecordKind::Intent, "retry-svc", RecordOrigin::Tui, action);
    rec.from = Some(from);
    rec.to = Some(to);
    rec.reason = Some(reason.into());
    rec
}

/// Points 4 and 5: a rollback interrupted (intent, no outcome) while the
/// file already says 0 % is written again on start, with no key pressed,
/// and green needs force afterwards.
#[tokio::test(start_paused = true)]
async fn an_interrupted_rollback_is_finished_and_remembered() {
    let router = faulty(0);
    router.set(|i| i.served = 25);
    let r = rig_with(
        router,
        &config(),
        EngineOptions::default(),
        vec![intent(RecordAction::Rollback, 25, 0, "killed mid reload")],
    );
    let s = wait_for(&r.handle, "finished", |s| {
        matches!(s.phase, Phase::RolledBack { .. }) && s.traffic.pending.is_none()
    })
    .await;
    assert_eq!(r.router.get(|i| (i.writes, i.served)), (1, 0));
    assert!(s.rollback.rolled_back.is_some());
    let e = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(
        engine_rig::gate_closed(&e, |g| matches!(g, GateReason::RolledBack)),
        "{e:?}"
    );
}

/// Point 5: a rollback that failed, or was only asked for, counts as a
/// rollback in the journal's memory.
#[test]
fn a_rollback_is_remembered_however_it_ended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut j = Journal::open_unlocked(&path).unwrap();
    j.append(&intent(RecordAction::Rollback, 25, 0, "interrupted"))
        .unwrap();
    let r = Journal::recover(&path).unwrap();
    assert_eq!(r.rolled_back.unwrap().reason, "interrupted");
    let mut failed = Record::new(
        RecordKind::Outcome,
        "retry-svc",
        RecordOrigin::Tui,
        RecordAction::Rollback,
    );
    failed.outcome = Some(WriteOutcome::Failed);
    j.append(&failed).unwrap();
    assert!(Journal::recover(&path).unwrap().rolled_back.is_some());
}

/// Point 5: the autopilot sees the split go to 0 % outside it; the journal
/// says another process rolled back: it stops with the rolled-back outcome
/// and never advances again.
#[tokio::test(start_paused = true)]
async fn a_rollback_from_another_process_stops_the_autopilot() {
    // At 0 % (Ready) the gate to the first step opens at once: an
    // autopilot that did not learn of the rollback would go to 1 %.
    let r = rig_with(
        faulty(25),
        &config(),
        EngineOptions {
            autopilot: true,
            ..Default::default()
        },
        vec![],
    );
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    // `cutover rollback --force` from a second shell: intent, then write.
    let mut other = Journal::open_unlocked(&r.journal).unwrap();
    let mut rec = intent(RecordAction::Rollback, 25, 0, "emergency");
    rec.origin = Some(RecordOrigin::Cli);
    rec.forced = true;
    other.append(&rec).unwrap();
    r.router.set(|i| {
        i.split = 0;
        i.served = 0;
    });
    let s = wait_for(&r.handle, "outcome", |s| s.outcome.is_some()).await;
    match &s.outcome {
        Some(Outcome::RolledBack { reason }) => assert!(reason.contains("emergency"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let writes = r.router.get(|i| i.writes);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(r.router.get(|i| (i.writes, i.split)), (writes, 0));
}

/// Point 5: a cockpit that sees the same learns it too: green needs force.
#[tokio::test(start_paused = true)]
async fn a_rollback_from_another_process_needs_force_in_a_live_cockpit() {
    let r = rig(25);
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    let mut other = Journal::open_unlocked(&r.journal).unwrap();
    other
        .append(&intent(RecordAction::Rollback, 25, 0, "from shell 2"))
        .unwrap();
    r.router.set(|i| i.split = 0);
    let s = wait_for(&r.handle, "learned", |s| s.rollback.rolled_back.is_some()).await;
    assert!(matches!(s.phase, Phase::RolledBack { .. }), "{:?}", s.phase);
    let e = r
        .handle
        .call(Origin::Tui, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(
        engine_rig::gate_closed(&e, |g| matches!(g, GateReason::RolledBack)),
        "{e:?}"
    );
}

/// Point 1: a controller that answers every write with a conflict does not
/// win: the rollback keeps trying (not "re-reading, not retrying") and
/// lands once the controller stops.
#[tokio::test(start_paused = true)]
async fn a_rollback_meeting_a_conflict_every_time_keeps_trying() {
    let r = rig(5);
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    r.router.set(|i| i.fighting = true);
    r.handle.send(Origin::Tui, rollback("r")).unwrap();
    let s = wait_for(&r.handle, "failing", |s| tries(s) >= 3).await;
    let reason = &s.rollback.failed.as_ref().unwrap().reason;
    assert!(reason.contains("flagger-controller"), "{reason}");
    assert!(!s.events.iter().any(|e| e.text.contains("not retrying")));
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(r.handle.current().rollback.failed.is_some());
    r.router.set(|i| i.fighting = false);
    wait_for(&r.handle, "landed", |s| s.rollback.failed.is_none()).await;
    assert_eq!(r.router.get(|i| i.split), 0);
}

/// Point 4: a watcher (`--readonly`, `status`) never reconciles: that
/// could reload the data plane, and a watcher moves nothing.
#[tokio::test(start_paused = true)]
async fn a_watcher_does_not_reconcile() {
    let router = faulty(5);
    router.set(|i| i.reconcile = Some("reloaded".into()));
    let r = rig_with(
        router,
        &config(),
        EngineOptions {
            readonly: true,
            ..Default::default()
        },
        vec![],
    );
    wait_for(&r.handle, "read back", |s| s.traffic.split.is_some()).await;
    assert!(!r.router.get(|i| i.calls.contains(&"reconcile")));
}
