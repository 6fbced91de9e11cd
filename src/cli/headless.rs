//! Commands that run without the TUI: `set`, `rollback`, `promote` and the
//! autopilot (`run`, `demo --headless`). `status` is in `status.rs`.

use std::time::Duration;

use anyhow::{Context, bail};

use crate::app::Running;
use crate::engine::{Command, EngineHandle, Event, Origin, Outcome, State};

use super::output::{event_line, say};

/// Exit status of the autopilot: 0 promoted, 3 rolled back, 4 held
/// because the journal says green was rolled back (nothing was moved).
pub fn exit_code_for(outcome: &Outcome) -> i32 {
    match outcome {
        Outcome::Promoted => 0,
        Outcome::RolledBack { .. } => 3,
        Outcome::HeldAfterRollback { .. } => 4,
    }
}

/// Calls `print` for every event published from now on, until `stop`
/// says so (checked on each state). Returns the state that stopped it.
pub async fn follow_events(
    handle: &EngineHandle,
    mut print: impl FnMut(&Event),
    stop: impl Fn(&State) -> bool,
) -> anyhow::Result<State> {
    let mut rx = handle.state();
    let mut seen = 0u64;
    loop {
        {
            let s = rx.borrow_and_update();
            let new = s.event_seq.saturating_sub(seen) as usize;
            let skip = s.events.len().saturating_sub(new);
            for e in s.events.iter().skip(skip) {
                print(e);
            }
            seen = s.event_seq;
            if stop(&s) {
                return Ok(s.clone());
            }
        }
        rx.changed().await.context("the engine stopped")?;
    }
}

/// The autopilot until promoted or rolled back, printing one line per
/// event. A signal stops it without moving traffic.
pub async fn run_autopilot(running: Running) -> anyhow::Result<i32> {
    let handle = running.handle.clone();
    let follow = follow_events(&handle, |e| say(event_line(e)), |s| s.outcome.is_some());
    let code = tokio::select! {
        r = follow => {
            let s = r?;
            let outcome = s.outcome.expect("stop condition");
            match &outcome {
                Outcome::Promoted => say("outcome: promoted"),
                Outcome::RolledBack { reason } => say(format!("outcome: rolled back: {reason}")),
                Outcome::HeldAfterRollback { reason } => {
                    say(format!("outcome: held, nothing moved: {reason}"))
                }
            }
            exit_code_for(&outcome)
        }
        sig = signal() => {
            let split = handle.state().borrow().split;
            say(format!(
                "{sig}: stopping; traffic left at {} (stopping never moves traffic)",
                split.map(|s| s.to_string()).unwrap_or_else(|| "an unknown split".into())
            ));
            130
        }
    };
    say(format!("journal: {}", running.journal.display()));
    running.stop().await;
    Ok(code)
}

async fn signal() -> &'static str {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    async fn recv(s: &mut Option<Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = recv(&mut term) => "terminated",
        _ = recv(&mut hup) => "hung up",
    }
}

/// Waits until the router has told us the split (or failed to).
async fn split_known(handle: &EngineHandle, within: Duration) -> anyhow::Result<()> {
    let mut rx = handle.state();
    let r = tokio::time::timeout(
        within,
        rx.wait_for(|s| s.split.is_some() || s.router_error.is_some()),
    )
    .await
    .map(|r| r.is_ok());
    let s = rx.borrow().clone();
    match (r, s.split, s.router_error) {
        (_, Some(_), _) => Ok(()),
        (_, None, Some(e)) => bail!("{e}"),
        _ => bail!("the router did not answer within {}s", within.as_secs()),
    }
}

/// `set`, `rollback`, `promote`: one command, applied and journaled, then
/// the engine stops. Returns the engine's answer.
pub async fn one_shot(running: Running, command: Command) -> anyhow::Result<String> {
    // A rollback never waits for anything, not even the first read.
    if !matches!(command, Command::Rollback { .. }) {
        split_known(&running.handle, Duration::from_secs(15)).await?;
    }
    // Raising green passes the advance gate, which judges data: give the
    // first poll a chance to arrive (the gate says so if it did not).
    if matches!(command, Command::SetSplit { .. }) {
        let mut rx = running.handle.state();
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|s| s.snapshot.is_some()),
        )
        .await;
    }
    let r = running.handle.call(Origin::Cli, command).await;
    let journal = running.journal.clone();
    running.stop().await;
    match r {
        Ok(msg) => Ok(format!("{msg}\njournal: {}", journal.display())),
        Err(e) => bail!("{e}\njournal: {}", journal.display()),
    }
}
