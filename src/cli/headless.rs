//! Commands that run without the TUI: `set`, `rollback`, `promote` and the
//! autopilot (`run`, `demo --headless`). `status` is in `status.rs`.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::app::Running;
use crate::engine::{Command, EngineHandle, Event, Origin, Outcome, State};

use super::output::event_line;

/// Exit status of the autopilot: 0 promoted, 3 rolled back, 4 held
/// because the journal says green was rolled back (nothing was moved).
pub fn exit_code_for(outcome: &Outcome) -> i32 {
    match outcome {
        Outcome::Promoted => 0,
        Outcome::RolledBack { .. } => 3,
        Outcome::HeldAfterRollback { .. } => 4,
    }
}

/// Lines the printer holds for a slow reader before it drops new ones.
const PRINTER_QUEUE: usize = 1024;
/// How long the autopilot's last lines may wait for a slow reader at exit.
const PRINTER_DRAIN: Duration = Duration::from_secs(1);

/// Standard output that never blocks its caller: lines go through a
/// bounded queue to a writer thread. When the reader stops reading (a
/// full pipe, `| less` nobody scrolls) the thread blocks, the queue fills,
/// and further lines are dropped and counted, so the autopilot and the
/// engine never wait for a terminal.
pub struct Printer {
    tx: Option<std_mpsc::SyncSender<String>>,
    dropped: Arc<AtomicU64>,
    /// Told when the writer has written everything it was given.
    drained: std_mpsc::Receiver<()>,
}

impl Printer {
    pub fn stdout() -> Printer {
        Printer::to(std::io::stdout())
    }

    /// A printer writing to `out` (a test gives it a pipe).
    pub fn to(mut out: impl Write + Send + 'static) -> Printer {
        let (tx, rx) = std_mpsc::sync_channel::<String>(PRINTER_QUEUE);
        let (done_tx, drained) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in rx {
                // A reader that went away: nothing left to do but drain.
                let _ = writeln!(out, "{line}").and_then(|_| out.flush());
            }
            let _ = done_tx.send(());
        });
        Printer {
            tx: Some(tx),
            dropped: Arc::new(AtomicU64::new(0)),
            drained,
        }
    }

    /// Queues a line; drops and counts it when the queue is full.
    pub fn line(&self, text: impl std::fmt::Display) {
        let Some(tx) = &self.tx else { return };
        if tx.try_send(text.to_string()).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Lets the writer finish for up to `wait`, then says on stderr how
    /// many lines were dropped (stdout is the stream that was not read).
    /// Returns that count.
    pub fn finish(mut self, wait: Duration) -> u64 {
        drop(self.tx.take());
        let finished = self.drained.recv_timeout(wait).is_ok();
        let dropped = self.dropped();
        if dropped > 0 || !finished {
            eprintln!(
                "cutover: standard output was not read: {dropped} line(s) dropped{}",
                if finished {
                    ""
                } else {
                    ", and the last lines are still waiting to be written"
                }
            );
        }
        dropped
    }
}

/// Calls `print` for every event published from now on, until `stop`
/// says so (checked on each state). Returns the state that stopped it.
/// Holds no borrow of the channel while printing: the state is an `Arc`
/// cloned out first.
pub async fn follow_events(
    handle: &EngineHandle,
    mut print: impl FnMut(&Event),
    stop: impl Fn(&State) -> bool,
) -> anyhow::Result<Arc<State>> {
    let mut rx = handle.state();
    let mut seen = 0u64;
    loop {
        let s = rx.borrow_and_update().clone();
        let new = s.event_seq.saturating_sub(seen) as usize;
        let skip = s.events.len().saturating_sub(new);
        for e in s.events.iter().skip(skip) {
            print(e);
        }
        seen = s.event_seq;
        if stop(&s) {
            return Ok(s);
        }
        rx.changed().await.context("the engine stopped")?;
    }
}

/// The autopilot until promoted or rolled back, printing one line per
/// event through `out` (never blocking). A signal stops it without moving
/// traffic.
pub async fn run_autopilot(running: Running, out: Printer) -> anyhow::Result<i32> {
    let handle = running.handle.clone();
    // After a rollback, the traffic's own word on it (green at zero) is
    // awaited too, so the journal holds its time; the engine bounds that.
    let follow = follow_events(
        &handle,
        |e| out.line(event_line(e)),
        |s| s.outcome.is_some() && !matches!(&s.rollback.last, Some(t) if t.to_zero.awaiting()),
    );
    let code = tokio::select! {
        r = follow => {
            let s = r?;
            let outcome = s.outcome.clone().expect("stop condition");
            match &outcome {
                Outcome::Promoted => out.line("outcome: promoted"),
                Outcome::RolledBack { reason } => out.line(format!("outcome: rolled back: {reason}")),
                Outcome::HeldAfterRollback { reason } => {
                    out.line(format!("outcome: held, nothing moved: {reason}"))
                }
            }
            exit_code_for(&outcome)
        }
        sig = crate::signals::any_stop() => {
            let split = handle.current().traffic.split;
            out.line(format!(
                "{sig}: stopping; traffic left at {} (stopping never moves traffic)",
                split.map(|s| s.to_string()).unwrap_or_else(|| "an unknown split".into())
            ));
            i32::from(sig.code)
        }
    };
    // Alerts still on their way are waited for after the engine stops
    // (and the journal is released): `stop` says so, and prints them.
    out.line(format!("journal: {}", running.journal.display()));
    running.stop().await;
    tokio::task::spawn_blocking(move || out.finish(PRINTER_DRAIN))
        .await
        .context("the output thread")?;
    Ok(code)
}

/// The state once the router has told us the split or failed to, or
/// after `within` without an answer.
pub(super) async fn router_answered(handle: &EngineHandle, within: Duration) -> Arc<State> {
    let mut rx = handle.state();
    // The borrow of the state ends with this statement.
    let _ = tokio::time::timeout(
        within,
        rx.wait_for(|s| s.traffic.split.is_some() || s.traffic.router_error.is_some()),
    )
    .await;
    handle.current()
}

/// Waits until the router has told us the split (or failed to).
async fn split_known(handle: &EngineHandle, within: Duration) -> anyhow::Result<()> {
    let s = router_answered(handle, within).await;
    match (s.traffic.split, s.traffic.router_error.clone()) {
        (Some(_), _) => Ok(()),
        (None, Some(e)) => bail!("{e}"),
        _ => bail!("the router did not answer within {}s", within.as_secs()),
    }
}

/// `set`, `rollback`, `promote`: one command, applied and journaled, then
/// the engine stops. Returns the engine's answer. A rollback that fails is
/// retried by the engine for up to `retry_for` (`[safety]
/// rollback_retry_for`); after that this fails, saying where the router
/// was left.
pub async fn one_shot(
    running: Running,
    command: Command,
    retry_for: Duration,
) -> anyhow::Result<String> {
    let rollback = matches!(command, Command::Rollback { .. });
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
            rx.wait_for(|s| s.guard.snapshot.is_some()),
        )
        .await;
    }
    let call = running.handle.call(Origin::Cli, command);
    let r = if rollback {
        rollback_landed(&running.handle, call, retry_for).await
    } else {
        call.await.map_err(|e| e.to_string())
    };
    let journal = running.journal.clone();
    running.stop().await;
    match r {
        Ok(msg) => Ok(format!("{msg}\njournal: {}", journal.display())),
        Err(e) => bail!("{e}\njournal: {}", journal.display()),
    }
}

/// Waits up to `retry_for` for the rollback to land: the router's word
/// (the engine retries a failing rollback meanwhile), then the data plane's
/// check, which may make it a failing rollback again.
async fn rollback_landed(
    handle: &EngineHandle,
    call: impl std::future::Future<Output = crate::engine::Reply>,
    retry_for: Duration,
) -> Result<crate::engine::Done, String> {
    let deadline = tokio::time::Instant::now() + retry_for;
    let late = || Err(not_landed(&handle.current(), retry_for));
    let Ok(reply) = tokio::time::timeout_at(deadline, call).await else {
        return late();
    };
    let msg = reply.map_err(|e| e.to_string())?;
    let mut rx = handle.state();
    let checked = rx.wait_for(|s| s.traffic.verifying.is_none() && s.rollback.failed.is_none());
    match tokio::time::timeout_at(deadline, checked).await {
        Ok(Ok(_)) => Ok(msg),
        Ok(Err(_)) => Err("the engine stopped before the rollback was checked".into()),
        Err(_) => late(),
    }
}

/// What a one-shot rollback that did not land in time says: the tries,
/// the last reason, and the state the router is left in.
fn not_landed(s: &State, retry_for: Duration) -> String {
    let (tries, why) = s
        .rollback
        .failed
        .as_ref()
        .map(|r| (r.tries, r.reason.clone()))
        .unwrap_or((0, "no answer from the router".into()));
    let router = match (s.traffic.split, &s.traffic.router_error) {
        (_, Some(e)) => format!("the router cannot be read ({e})"),
        (Some(split), None) => format!("the router reads {split}"),
        (None, None) => "the router was never read".into(),
    };
    let served = s
        .traffic
        .verified
        .as_ref()
        .map(|v| format!("; the data plane was last seen serving {}", v.served))
        .unwrap_or_default();
    format!(
        "ROLLBACK NOT LANDED: still failing after {} ({tries} tries): {why}. Left as is: {router}{served}. \
         The journal holds the rollback as not landed: the next cutover started on this config finishes it.",
        crate::format::span(retry_for)
    )
}
