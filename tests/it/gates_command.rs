//! Command gates (issue 12, item 2): an eval command that passes, one that
//! fails and one that hangs and is killed by its timeout; the gate shows it
//! running; a rollback during a running eval is not delayed (measured
//! against a rollback at rest) and kills everything the command started;
//! quitting kills it too.

use crate::support::gates_rig;

use std::time::{Duration, Instant};

use cutover::config::{CommandGate, GatesConfig};
use cutover::engine::gate_reason::GateReason;
use cutover::engine::journal::RecordAction;
use cutover::engine::journal::RecordKind;
use cutover::engine::{Command, Origin, Phase};
use cutover::gates::CheckReason;
use cutover::model::Split;

use gates_rig::{config, records, rig, wait_for};

fn gate(name: &str, script: &str, before: Vec<u8>, timeout: Duration) -> GatesConfig {
    GatesConfig {
        smoke: vec![],
        command: vec![CommandGate {
            name: name.into(),
            argv: vec!["sh".into(), "-c".into(), script.into()],
            before,
            timeout,
        }],
        evidence: None,
    }
}

fn finished(s: &cutover::engine::State) -> bool {
    s.checks.commands[0].running.is_none() && s.checks.commands[0].last.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_eval_opens_the_first_step_and_its_output_is_journaled() {
    let script = "echo starting; echo 'to stderr' >&2; sleep 0.3; for i in $(seq 1 40); do echo case $i ok; done; exit 0";
    let r = rig(
        0,
        config(gate("eval", script, vec![1, 100], Duration::from_secs(30))),
    );
    // It starts on its own: the next advance reaches 1 %.
    let s = wait_for(&r.handle, "eval running", |s| {
        s.checks.commands[0].running.is_some()
    })
    .await;
    assert!(
        s.guard.gate.reasons.iter().any(|r| matches!(
            r,
            GateReason::Check(CheckReason::CommandRunning { name, .. }) if name == "eval"
        )),
        "{:?}",
        s.guard.gate.reasons
    );
    let s = wait_for(&r.handle, "eval done", finished).await;
    let run = s.checks.commands[0].last.clone().unwrap();
    assert!(run.passed, "{run:?}");
    assert_eq!(run.reason, "exit 0");
    assert_eq!(run.split, 0);
    // The last 20 lines, in order.
    assert_eq!(run.output.len(), 20, "{:?}", run.output);
    assert_eq!(run.output.last().unwrap(), "case 40 ok");
    assert_eq!(run.output[0], "case 21 ok");
    wait_for(&r.handle, "gate open", |s| s.guard.gate.open).await;
    r.handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap();
    assert_eq!(r.router.split(), 1);

    let recs = records(&r.journal);
    let rec = recs.iter().find(|r| r.kind == RecordKind::Check).unwrap();
    assert_eq!(rec.action, Some(RecordAction::Command));
    assert_eq!(rec.check.as_deref(), Some("eval"));
    assert_eq!(rec.passed, Some(true));
    assert_eq!(rec.output.len(), 20);
    // At 1 % the next target (50) needs nothing; the flip will.
    let s = r.handle.current();
    assert!(s.checks.commands[0].running.is_none());
    r.handle.call(Origin::Cli, Command::Shutdown).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_eval_holds_the_step_until_forced() {
    let r = rig(
        0,
        config(gate(
            "eval",
            "echo 'accuracy 0.61 < 0.70'; exit 3",
            vec![1],
            Duration::from_secs(30),
        )),
    );
    let s = wait_for(&r.handle, "eval done", |s| {
        finished(s) && s.guard.snapshot.is_some()
    })
    .await;
    let run = s.checks.commands[0].last.clone().unwrap();
    assert!(!run.passed);
    assert_eq!(run.reason, "exit 3");
    assert_eq!(run.output, vec!["accuracy 0.61 < 0.70".to_string()]);
    let s = wait_for(&r.handle, "gate says why", |s| {
        s.guard.gate.reasons.iter().any(|r| {
            *r == GateReason::Check(CheckReason::CommandFailed {
                name: "eval".into(),
                reason: "exit 3".into(),
            })
        })
    })
    .await;
    assert!(!s.guard.gate.open);
    let err = r
        .handle
        .call(Origin::Cli, Command::Advance { force: false })
        .await
        .unwrap_err();
    assert!(
        crate::support::engine::gate_closed(
            &err,
            |g| matches!(g, GateReason::Check(CheckReason::CommandFailed { name, reason }) if name == "eval" && reason == "exit 3")
        ),
        "{err:?}"
    );
    // Not restarted on its own: a failed run stands until `s`.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(r.handle.current().checks.commands[0].running.is_none());
    r.handle
        .call(Origin::Cli, Command::Advance { force: true })
        .await
        .unwrap();
    let recs = records(&r.journal);
    assert!(
        recs.iter()
            .any(|r| r.kind == RecordKind::Intent && r.forced && r.to == Some(1))
    );
    r.handle.call(Origin::Cli, Command::Shutdown).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_eval_is_killed_by_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!(
        "echo waiting; sleep 300 & echo $! > {}; wait",
        pidfile.display()
    );
    let r = rig(
        0,
        config(gate("eval", &script, vec![1], Duration::from_millis(800))),
    );
    let t = Instant::now();
    let s = wait_for(&r.handle, "eval timed out", finished).await;
    let took = t.elapsed();
    let run = s.checks.commands[0].last.clone().unwrap();
    assert!(!run.passed);
    assert_eq!(run.reason, "timed out after 800ms");
    assert_eq!(run.output, vec!["waiting".to_string()]);
    assert!(took < Duration::from_secs(10), "{took:?}");
    println!("hanging eval: timed out after {:?}", run.elapsed);
    // The whole group died: the sleep it started too.
    assert_dead(&pidfile).await;
    r.handle.call(Origin::Cli, Command::Shutdown).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_during_a_running_eval_is_not_delayed_and_kills_it() {
    const ROUNDS: usize = 5;
    let mut at_rest = Vec::new();
    for _ in 0..ROUNDS {
        // At 50 % with no checks configured.
        let r = rig(50, config(GatesConfig::default()));
        wait_for(&r.handle, "split read", |s| {
            s.traffic.split == Split::new(50)
        })
        .await;
        at_rest.push(timed_rollback(&r).await);
        r.handle.call(Origin::Cli, Command::Shutdown).await.unwrap();
    }
    let mut during = Vec::new();
    for _ in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!(
            "trap '' TERM; sleep 300 & echo $! > {}; wait",
            pidfile.display()
        );
        // At 50 %, the flip to 100 % needs the eval: it starts on its own.
        let r = rig(
            50,
            config(gate("eval", &script, vec![100], Duration::from_secs(600))),
        );
        wait_for(&r.handle, "eval running", |s| {
            s.checks.commands[0].running.is_some()
        })
        .await;
        wait_for_file(&pidfile).await;
        during.push(timed_rollback(&r).await);
        let s = wait_for(&r.handle, "eval killed", finished).await;
        let run = s.checks.commands[0].last.clone().unwrap();
        assert_eq!(run.reason, "killed by rollback");
        assert!(matches!(s.phase, Phase::RolledBack { .. }));
        assert_dead(&pidfile).await;
        // Journaled once the rollback has landed (its answer never waits
        // for this fsync): within a tick.
        let mut recs = records(&r.journal);
        for _ in 0..100 {
            if recs.iter().any(|r| r.kind == RecordKind::Check) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            recs = records(&r.journal);
        }
        let killed = recs
            .iter()
            .find(|r| r.kind == RecordKind::Check)
            .expect("the kill is journaled");
        assert_eq!(killed.detail.as_deref(), Some("killed by rollback"));
        // Journaled after the rollback's intent: the rollback went first.
        let intent = recs
            .iter()
            .position(|r| r.kind == RecordKind::Intent && r.action == Some(RecordAction::Rollback))
            .unwrap();
        let check = recs
            .iter()
            .position(|r| r.kind == RecordKind::Check)
            .unwrap();
        assert!(intent < check, "{recs:#?}");
        r.handle.call(Origin::Cli, Command::Shutdown).await.unwrap();
    }
    at_rest.sort();
    during.sort();
    let (rest_med, during_med) = (at_rest[ROUNDS / 2], during[ROUNDS / 2]);
    println!(
        "time to rollback: at rest median {:?} max {:?}; during a running eval median {:?} max {:?}",
        rest_med,
        at_rest[ROUNDS - 1],
        during_med,
        during[ROUNDS - 1]
    );
    // Generous: these machines are loaded. A rollback that waited for the
    // eval (600 s) or for its output would be far outside this.
    assert!(
        during_med <= rest_med * 3 + Duration::from_millis(250),
        "rollback during an eval: {during:?}; at rest: {at_rest:?}"
    );
    assert!(during[ROUNDS - 1] < Duration::from_secs(2), "{during:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_kills_a_running_eval() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let r = rig(
        0,
        config(gate("eval", &script, vec![1], Duration::from_secs(600))),
    );
    wait_for(&r.handle, "eval running", |s| {
        s.checks.commands[0].running.is_some()
    })
    .await;
    wait_for_file(&pidfile).await;
    r.handle.call(Origin::Cli, Command::Shutdown).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), r.task)
        .await
        .expect("the engine stops at once")
        .unwrap();
    assert_dead(&pidfile).await;
    // Quitting moved no traffic.
    assert_eq!(r.router.split(), 0);
    let recs = records(&r.journal);
    assert!(recs.iter().any(|r| r.kind == RecordKind::Check
        && r.detail.as_deref() == Some("killed: the cockpit stopped")));
}

async fn timed_rollback(r: &gates_rig::Rig) -> Duration {
    let t = Instant::now();
    r.handle
        .call(
            Origin::Cli,
            Command::Rollback {
                reason: "test".into(),
            },
        )
        .await
        .unwrap();
    t.elapsed()
}

async fn wait_for_file(path: &std::path::Path) {
    for _ in 0..200 {
        if std::fs::read_to_string(path).is_ok_and(|s| s.trim().parse::<i32>().is_ok()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} never written", path.display());
}

/// The process whose pid is in `path` is gone (or a zombie: dead, not yet
/// reaped by whoever adopted it).
async fn assert_dead(path: &std::path::Path) {
    wait_for_file(path).await;
    let pid: i32 = std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for _ in 0..200 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return,
            Ok(stat) => {
                let state = stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .next();
                if state == Some("Z") {
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("process {pid} still alive");
}
