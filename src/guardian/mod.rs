//! What a cockpit does when its terminal is lost (`[safety]
//! on_terminal_loss`): guard the cutover headless, exit, or roll back and
//! exit. A lost terminal never leaves an orphan: every path here answers
//! SIGTERM, SIGHUP and SIGINT within a second and ends by itself.
//!
//! The guardian is the same process and the same engine the cockpit ran:
//! auto-rollback stays as it was armed, nothing advances (the cockpit's
//! engine has no autopilot), and the journal stays locked, so no second
//! writer can appear. It waits on signals, the engine's state and one
//! timer, and so costs no CPU to speak of.

/// The mark lives with the journal's lock policy (`app`), which names a
/// guardian to whoever is refused the journal.
pub use crate::app::mark;

use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::app::Running;
use crate::config::{Config, TerminalLoss};
use crate::console::say;
use crate::engine::{Command, EngineHandle, Origin, Phase, State};

/// The exit status after a lost terminal: as for SIGHUP, a hang-up.
pub const LOST: u8 = 129;
/// A SIGHUP this soon after the loss is the hang-up of the lost terminal
/// itself (it comes with the end of input, in either order), not a request
/// to stop guarding.
const HANGUP_ECHO: Duration = Duration::from_secs(1);
/// How long the guardian's exit waits for the engine to stop.
const STOP_WAIT: Duration = Duration::from_millis(900);
/// How long a rollback on terminal loss is waited for before the process
/// guards instead (a landing rollback answers in well under this).
const ROLLBACK_ANSWER: Duration = Duration::from_secs(1);
/// How long alerts on their way may delay an exit (the exit itself is
/// promised within a second).
const ALERT_WAIT: Duration = Duration::from_millis(600);

/// Runs the `on_terminal_loss` policy for a cockpit whose terminal went
/// away (`why`: end of input, EIO, SIGHUP). Returns the exit status.
pub async fn on_terminal_lost(running: Running, config: &Config, why: &str) -> u8 {
    let handle = running.handle.clone();
    if handle.current().readonly {
        // A watcher guards nothing and journals nothing.
        say(format!(
            "cutover: terminal lost ({why}); read-only, exiting"
        ));
        stop(running).await;
        return LOST;
    }
    match config.safety.on_terminal_loss {
        TerminalLoss::Exit => {
            journal_loss(
                &handle,
                why,
                "exiting (on_terminal_loss = \"exit\"); traffic left as it is",
            )
            .await;
            stop(running).await;
            LOST
        }
        TerminalLoss::Rollback => {
            journal_loss(
                &handle,
                why,
                "rolling back, then exiting (on_terminal_loss = \"rollback\")",
            )
            .await;
            let asked = Command::Rollback {
                reason: format!("terminal lost ({why})"),
            };
            // A rollback that fails is answered only once it lands (the
            // engine retries it): wait a moment for the usual quick answer,
            // then guard, which answers signals and ends once 0 % landed.
            let answer = tokio::time::timeout(ROLLBACK_ANSWER, handle.call(Origin::Tui, asked));
            let answer = match answer.await {
                Ok(a) => a.map_err(|e| e.to_string()),
                Err(_) => Err("no answer yet: the engine keeps retrying it".into()),
            };
            match answer {
                Ok(msg) => {
                    say(format!("cutover: terminal lost ({why}): {msg}"));
                    stop(running).await;
                    LOST
                }
                // The engine keeps retrying a rollback that failed; leaving
                // now would end those retries with green still served. Guard
                // instead: the guard ends once 0 % has landed.
                Err(e) => {
                    say(format!(
                        "cutover: terminal lost ({why}): the rollback has not landed ({e}); \
                         guarding until it does"
                    ));
                    guard(running, config, why).await
                }
            }
        }
        TerminalLoss::Guard => guard(running, config, why).await,
    }
}

async fn journal_loss(handle: &EngineHandle, why: &str, then: &str) {
    let then = format!("{then} ({why})");
    if let Err(e) = handle
        .call(Origin::Tui, Command::TerminalLost { then })
        .await
    {
        tracing::warn!("journaling the lost terminal: {e}");
    }
}

/// Stops the engine, letting alerts on their way go for a moment only.
async fn stop(running: Running) {
    // A rollback try in flight (a hung reload, an API that does not
    // answer) would hold the engine's shutdown for its whole timeout; the
    // exit is promised within a second. Cut short, the try stays in the
    // journal as an intent without an outcome, which the next process on
    // this journal (a take-over) finishes at once.
    if tokio::time::timeout(STOP_WAIT, running.stop_within(ALERT_WAIT))
        .await
        .is_err()
    {
        tracing::warn!("the engine did not stop within {STOP_WAIT:?}: exiting anyway");
    }
}

/// Why the guard ended, and the exit status.
struct End {
    why: String,
    code: u8,
}

fn listen(kind: SignalKind) -> Option<Signal> {
    signal(kind).ok()
}

async fn recv(s: &mut Option<Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// Nothing left to guard: green has no traffic, or it is promoted and the
/// bake has passed.
fn done(s: &State) -> Option<&'static str> {
    // A rollback still failing, a write in flight or a check not yet back
    // means 0 % is what was asked, not yet what is served: keep guarding.
    let settled =
        s.rollback.failed.is_none() && s.traffic.pending.is_none() && s.traffic.verifying.is_none();
    if !settled {
        None
    } else if s.traffic.split.is_some_and(|x| x.green() == 0) {
        Some("green is at 0 %")
    } else if s.phase == Phase::Promoted {
        Some("green is promoted and baked")
    } else {
        None
    }
}

async fn guard(running: Running, config: &Config, why: &str) -> u8 {
    let handle = running.handle.clone();
    let journal = running.journal.clone();
    // Listening before the mark is written: the mark offers a take-over
    // by SIGUSR1, whose default action would kill the process.
    let mut term = listen(SignalKind::terminate());
    let mut hup = listen(SignalKind::hangup());
    let mut int = listen(SignalKind::interrupt());
    let mut usr1 = listen(SignalKind::user_defined1());
    let lost_at = std::time::Instant::now();
    let s = handle.current();
    let mut mark = mark::Mark::new(s.traffic.split.map(|x| x.green()), s.guard.armed);
    let guard_for = config.safety.guard_for;
    let then = format!(
        "guarding: auto-rollback {}, nothing advances; ends at 0 % green, once promoted and \
         baked, after {}, or on SIGTERM/SIGHUP/SIGINT; `--take-over` takes over",
        if s.guard.armed { "armed" } else { "DISARMED" },
        crate::format::span(guard_for)
    );
    journal_loss(&handle, why, &then).await;
    if let Err(e) = mark::write(&journal, &mark) {
        tracing::warn!("writing the guardian's mark: {e}");
    }
    say(format!("cutover: terminal lost ({why}); {then}"));
    let mut rx = handle.state();
    let deadline = tokio::time::sleep(guard_for);
    tokio::pin!(deadline);
    let end = loop {
        if let Some(why) = done(&rx.borrow_and_update()) {
            break End {
                why: why.into(),
                code: LOST,
            };
        }
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    break End { why: "the engine stopped".into(), code: 1 };
                }
                let s = rx.borrow().clone();
                let split = s.traffic.split.map(|x| x.green());
                if split != mark.split || s.guard.armed != mark.armed {
                    mark.split = split;
                    mark.armed = s.guard.armed;
                    let _ = mark::write(&journal, &mark);
                }
            }
            _ = &mut deadline => break End {
                why: format!("guarded for {}", crate::format::span(guard_for)),
                code: LOST,
            },
            _ = recv(&mut term) => break End { why: "SIGTERM".into(), code: 143 },
            _ = recv(&mut hup) => {
                if lost_at.elapsed() < HANGUP_ECHO {
                    continue;
                }
                break End { why: "SIGHUP".into(), code: 129 };
            }
            _ = recv(&mut int) => break End { why: "SIGINT".into(), code: 130 },
            _ = recv(&mut usr1) => break End {
                why: "handed over to a new cockpit (--take-over)".into(),
                code: LOST,
            },
        }
    };
    mark::remove(&journal);
    let left = handle
        .current()
        .traffic
        .split
        .map_or_else(|| "an unknown split".into(), |s| format!("{} %", s.green()));
    let line = format!(
        "guardian stopped: {}; traffic left at {left} green (stopping never moves traffic)",
        end.why
    );
    let _ = handle.call(Origin::Tui, Command::Note(line.clone())).await;
    say(format!("cutover: {line}"));
    stop(running).await;
    end.code
}
