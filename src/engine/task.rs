//! The engine task: one loop that owns the cutover. Commands, snapshots,
//! router answers and the clock all arrive here, one at a time, so the state
//! never needs a lock. The router and the metric source run on tasks of
//! their own: a slow reload or a hung Prometheus never delays a command,
//! and a rollback can always preempt a write in flight.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::config::Config;
use crate::metrics::MetricSource;
use crate::model::{Color, Metric, NoData, Snapshot, Split, Verdict};
use crate::router::{Applied, RouterError, TrafficRouter};

use super::EngineHandle;
use super::command::{Command, Origin, Reply, Request};
use super::guardrail::{self, Judgement};
use super::journal::{Journal, ReadingRecord, Record, RecordKind, Recovery};
use super::plan::{GateInput, Plan, check_gate};
use super::state::{
    EventLevel, Gate, HistoryPoint, LastValue, Outcome, PendingChange, Phase, PlanView, State,
};
use crate::format::countdown;

/// How long a router write may take before it is given up as failed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a router read may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the engine looks at its clocks (dwell, bake, deadlines).
const TICK: Duration = Duration::from_millis(250);
/// How long shutdown waits for a write in flight to finish and be journaled.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Advance whenever the gate opens, roll back at the progress deadline,
    /// and report the outcome (`cutover run`).
    pub autopilot: bool,
    /// Move no traffic at all: refuse traffic commands and keep
    /// auto-rollback off (a second cockpit watching someone else's cutover).
    pub readonly: bool,
}

/// Starts the engine and its metric poller. The returned task ends after
/// [`Command::Shutdown`] or when every handle is dropped.
pub fn spawn(
    config: &Config,
    router: Arc<dyn TrafficRouter>,
    source: Box<dyn MetricSource>,
    journal: Journal,
    options: EngineOptions,
) -> (EngineHandle, JoinHandle<()>) {
    let plan = Plan::from_config(&config.plan);
    let mut state = State::new(
        config.service.name.clone(),
        router.kind(),
        source.kind(),
        PlanView {
            steps: plan.steps.clone(),
            dwell: plan.dwell,
            bake: plan.bake,
            standby: plan.standby,
        },
        config.auto_rollback.enabled && !options.readonly,
        config.auto_rollback.consecutive,
    );
    state.autopilot = options.autopilot;
    state.readonly = options.readonly;
    let (state_tx, state_rx) = watch::channel(state.clone());
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (snap_tx, snap_rx) = mpsc::channel(2);
    let (read_tx, read_rx) = mpsc::channel(4);
    let poller = spawn_poller(source, config.source.interval, snap_tx);
    let recovery = Journal::recover(journal.path()).unwrap_or_else(|e| {
        tracing::warn!("journal unreadable: {e}");
        Recovery::default()
    });
    let now = Instant::now();
    let engine = Engine {
        config: config.clone(),
        plan,
        router,
        journal,
        state,
        tx: state_tx,
        options,
        inflight: None,
        read_tx,
        read_in_flight: false,
        last_read: None,
        write_gen: 0,
        reconcile: false,
        step_entered: now,
        split_since: now,
        autopilot_after: None,
        prev_verdicts: HashMap::new(),
        prev_warnings: Vec::new(),
        bake_hold_reported: false,
        standby_end_reported: false,
        recovery,
        outbox: Vec::new(),
    };
    let task = tokio::spawn(async move {
        engine.run(cmd_rx, snap_rx, read_rx).await;
        poller.abort();
    });
    (EngineHandle::new(cmd_tx, state_rx), task)
}

/// Polls the source once per interval, one poll in flight at a time. A
/// stall is skipped, not replayed as a burst.
fn spawn_poller(
    mut source: Box<dyn MetricSource>,
    interval: Duration,
    tx: mpsc::Sender<Snapshot>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            let snap = source.poll().await;
            if tx.send(snap).await.is_err() {
                break;
            }
        }
    })
}

/// Why a write did not succeed, and whether traffic may have moved anyway
/// (the router took the write but did not confirm it).
#[derive(Debug)]
struct WriteFailure {
    error: RouterError,
    maybe_applied: bool,
}

type WriteResult = Result<Applied, WriteFailure>;

/// A router write in flight.
struct InFlight {
    task: JoinHandle<WriteResult>,
    change: PendingChange,
    origin: Origin,
    reason: Option<String>,
    forced: bool,
    /// Everyone waiting for this write (a second `r` joins the rollback in
    /// flight rather than restarting it).
    replies: Vec<oneshot::Sender<Reply>>,
}

/// A router read, tagged with the write generation it started in.
type ReadResult = (u64, Result<Split, RouterError>);

enum Wake {
    Request(Option<Request>),
    Snapshot(Box<Snapshot>),
    Written(Result<WriteResult, tokio::task::JoinError>),
    Read(ReadResult),
    Tick,
}

struct Engine {
    config: Config,
    plan: Plan,
    router: Arc<dyn TrafficRouter>,
    journal: Journal,
    state: State,
    tx: watch::Sender<State>,
    options: EngineOptions,
    inflight: Option<InFlight>,
    read_tx: mpsc::Sender<ReadResult>,
    read_in_flight: bool,
    last_read: Option<Instant>,
    /// Bumped when a write starts and ends: a read that started in an older
    /// generation may predate the write and is thrown away.
    write_gen: u64,
    /// After a failed or unverified write, the next read is the truth and
    /// is adopted without calling it an outside change.
    reconcile: bool,
    /// When the current step was reached (for the progress deadline).
    step_entered: Instant,
    /// When the split last changed: data whose window starts earlier mixes
    /// in the previous split and cannot open the gate or pass the bake.
    split_since: Instant,
    /// The autopilot waits until then after a failed write (no tight retry).
    autopilot_after: Option<Instant>,
    /// The last verdict of each reading, and whether it was reported.
    prev_verdicts: HashMap<(Color, Metric), (Verdict, bool)>,
    prev_warnings: Vec<String>,
    bake_hold_reported: bool,
    standby_end_reported: bool,
    recovery: Recovery,
    /// Answers waiting for the state they describe to be published.
    outbox: Vec<(oneshot::Sender<Reply>, Reply)>,
}

/// Waits for the write in flight, or forever when there is none.
async fn written(inflight: &mut Option<InFlight>) -> Result<WriteResult, tokio::task::JoinError> {
    match inflight {
        Some(f) => (&mut f.task).await,
        None => std::future::pending().await,
    }
}

impl Engine {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Request>,
        mut snapshots: mpsc::Receiver<Snapshot>,
        mut reads: mpsc::Receiver<ReadResult>,
    ) {
        self.journal_start();
        self.start_read();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            let wake = tokio::select! {
                // Commands first: a rollback must not wait behind a burst of
                // snapshots or ticks.
                biased;
                r = commands.recv() => Wake::Request(r),
                r = written(&mut self.inflight) => Wake::Written(r),
                Some(r) = reads.recv() => Wake::Read(r),
                Some(s) = snapshots.recv() => Wake::Snapshot(Box::new(s)),
                _ = ticker.tick() => Wake::Tick,
            };
            // Anything but a quiet tick changes what is shown.
            let mut changed = true;
            match wake {
                Wake::Request(None) => break,
                Wake::Request(Some(req)) => {
                    if self.on_request(req) {
                        break;
                    }
                }
                Wake::Written(r) => self.on_written(r),
                Wake::Read(r) => self.on_read(r),
                Wake::Snapshot(s) => self.on_snapshot(*s),
                Wake::Tick => changed = self.on_tick(),
            }
            changed |= self.refresh_gate();
            changed |= self.autopilot();
            if changed {
                // Publishing clones the state; only do it when it differs.
                self.tx.send_replace(self.state.clone());
            }
            self.flush_answers();
        }
        self.shutdown().await;
        self.tx.send_replace(self.state.clone());
        self.flush_answers();
    }

    /// Quitting never moves traffic; a write already in flight is allowed to
    /// finish so that its outcome is journaled.
    async fn shutdown(&mut self) {
        if let Some(f) = &self.inflight {
            // A rollback is given every chance to land.
            let grace = if f.change.action == "rollback" {
                WRITE_TIMEOUT
            } else {
                SHUTDOWN_GRACE
            };
            match tokio::time::timeout(grace, written(&mut self.inflight)).await {
                Ok(r) => self.on_written(r),
                Err(_) => {
                    let f = self.inflight.take().expect("checked above");
                    f.task.abort();
                    // A journal failure is already an event; nothing else to do.
                    let _ = self.journal_outcome(
                        &f,
                        "abandoned",
                        None,
                        Some("engine stopped while the write was in flight"),
                    );
                }
            }
        }
    }

    // ----- commands -----------------------------------------------------

    /// Queues an answer. Answers go out only after the state they describe
    /// is published, so a caller that hears "done" and then reads the state
    /// sees the change.
    ///
    /// A front end that does not wait for answers (the TUI sends and moves
    /// on) still learns of a refusal: it becomes an event.
    fn answer(&mut self, reply: Option<oneshot::Sender<Reply>>, r: Reply) {
        match (reply, r) {
            (Some(tx), r) => self.outbox.push((tx, r)),
            (None, Err(why)) => self.event(EventLevel::Warn, format!("refused: {why}")),
            (None, Ok(_)) => {}
        }
    }

    fn flush_answers(&mut self) {
        for (tx, r) in self.outbox.drain(..) {
            let _ = tx.send(r);
        }
    }

    /// Handles one request; true means stop.
    fn on_request(&mut self, req: Request) -> bool {
        let Request {
            command,
            origin,
            reply,
        } = req;
        if self.options.readonly && command.moves_traffic() {
            self.answer(
                reply,
                Err("read-only: this cockpit moves no traffic".into()),
            );
            return false;
        }
        match command {
            Command::Shutdown => {
                self.answer(reply, Ok("stopping".into()));
                return true;
            }
            Command::Note(text) => {
                let mut rec = self.record(RecordKind::Note, origin, "note");
                rec.reason = Some(text.clone());
                let r = self.append(&rec).map(|_| format!("noted: {text}"));
                if r.is_ok() {
                    self.event(EventLevel::Info, format!("note: {text}"));
                }
                self.answer(reply, r);
            }
            Command::SetArmed(armed) => {
                if self.options.readonly && armed {
                    self.answer(reply, Err("read-only: auto-rollback stays off".into()));
                    return false;
                }
                self.state.armed = armed;
                self.state.breach_streak = 0;
                let action = if armed { "arm" } else { "disarm" };
                let rec = self.record(RecordKind::Control, origin, action);
                let _ = self.append(&rec);
                let msg = if armed {
                    "auto-rollback armed"
                } else {
                    "auto-rollback DISARMED"
                };
                self.event(EventLevel::Warn, msg);
                self.answer(reply, Ok(msg.into()));
            }
            Command::TogglePause => {
                let r = self.toggle_pause(origin);
                self.answer(reply, r);
            }
            Command::Rollback { reason } => {
                if self.inflight.is_none()
                    && self.state.split == Some(Split::ZERO)
                    && self.state.router_error.is_none()
                {
                    let msg = "already at 0 %: all traffic is on blue".to_string();
                    self.event(EventLevel::Info, format!("rollback: {msg}"));
                    self.answer(reply, Ok(msg));
                    return false;
                }
                if let Some(f) = self
                    .inflight
                    .as_mut()
                    .filter(|f| f.change.action == "rollback")
                {
                    // Restarting it would only push 0 % again; wait with it.
                    if let Some(tx) = reply {
                        f.replies.push(tx);
                    }
                    return false;
                }
                self.start_write(
                    "rollback",
                    Split::ZERO,
                    origin,
                    Some(reason),
                    false,
                    Vec::new(),
                    reply,
                );
            }
            Command::Advance { force } => match self.advance_target(force) {
                Ok((to, forced)) => {
                    self.start_write("advance", to, origin, None, forced, Vec::new(), reply)
                }
                Err(why) => self.answer(reply, Err(why)),
            },
            Command::StepBack => match self
                .ready_for_write()
                .and_then(|from| self.moves(from, self.plan.prev_target(from)))
            {
                Ok(to) => self.start_write("step back", to, origin, None, false, Vec::new(), reply),
                Err(why) => self.answer(reply, Err(why)),
            },
            Command::SetSplit { split, reason } => match self
                .ready_for_write()
                .and_then(|from| self.moves(from, split))
            {
                Ok(_) => self.start_write("set", split, origin, reason, false, Vec::new(), reply),
                Err(why) => self.answer(reply, Err(why)),
            },
            Command::Promote => match self
                .ready_for_write()
                .and_then(|from| self.moves(from, Split::FULL))
            {
                Ok(_) => self.start_write(
                    "promote",
                    Split::FULL,
                    origin,
                    None,
                    false,
                    Vec::new(),
                    reply,
                ),
                Err(why) => self.answer(reply, Err(why)),
            },
        }
        false
    }

    /// The split we can move from, or why no write can start now.
    fn ready_for_write(&self) -> Result<Split, String> {
        if let Some(f) = &self.inflight {
            return Err(format!(
                "busy: {} {} → {} is in flight; roll back to preempt it",
                f.change.action,
                show(f.change.from),
                f.change.to
            ));
        }
        self.state
            .split
            .ok_or_else(|| "split unknown: the router has not answered yet".to_string())
    }

    /// `to`, unless it is where the router already is (no write for nothing).
    fn moves(&self, from: Split, to: Split) -> Result<Split, String> {
        if from == to {
            Err(format!("already at {to}"))
        } else {
            Ok(to)
        }
    }

    /// The next step, if the gate (or `force`) lets us go there.
    fn advance_target(&self, force: bool) -> Result<(Split, bool), String> {
        let from = self.ready_for_write()?;
        let to = self
            .plan
            .next_target(from)
            .ok_or_else(|| "already at 100 %: nothing to advance".to_string())?;
        let gate = self.gate_check();
        if !gate.hard.is_empty() {
            return Err(gate.hard.join("; "));
        }
        if gate.soft.is_empty() {
            return Ok((to, false));
        }
        if force {
            return Ok((to, true));
        }
        Err(format!(
            "gate closed: {} (force to override)",
            gate.soft.join("; ")
        ))
    }

    fn toggle_pause(&mut self, origin: Origin) -> Reply {
        if self.inflight.is_some() {
            return Err("a traffic change is in flight; pause once it lands".into());
        }
        let now = Instant::now();
        let last = self.plan.steps.len() - 1;
        let (action, msg) = match self.state.phase.clone() {
            Phase::Canary { step } => {
                self.state.dwell_left = self
                    .state
                    .dwell_until
                    .take()
                    .map(|u| u.saturating_duration_since(now));
                self.state.phase = Phase::Paused { step };
                ("pause", "paused: dwell clock and autopilot stopped")
            }
            Phase::Baking => {
                self.state.dwell_left = self
                    .state
                    .bake_until
                    .take()
                    .map(|u| u.saturating_duration_since(now));
                self.state.phase = Phase::Paused { step: last };
                ("pause", "paused: bake clock stopped")
            }
            Phase::Paused { step } => {
                let left = self.state.dwell_left.take().unwrap_or_default();
                // The time spent paused does not count toward the progress
                // deadline: the clock restarts with the remaining dwell.
                let waited = if step == last {
                    self.plan.bake
                } else {
                    self.plan.dwell
                };
                self.step_entered = now.checked_sub(waited.saturating_sub(left)).unwrap_or(now);
                if step == last && self.state.split == Some(Split::FULL) {
                    self.state.bake_until = Some(now + left);
                    self.state.phase = Phase::Baking;
                } else {
                    self.state.dwell_until = Some(now + left);
                    self.state.phase = Phase::Canary { step };
                }
                ("resume", "resumed")
            }
            other => return Err(format!("nothing to pause while {}", other.name())),
        };
        let rec = self.record(RecordKind::Control, origin, action);
        let _ = self.append(&rec);
        self.event(EventLevel::Info, msg);
        Ok(msg.into())
    }

    // ----- router writes ------------------------------------------------

    /// Journals the intent, then hands the write to a task of its own. A
    /// rollback preempts any write in flight; nothing else starts while one
    /// is in flight.
    #[allow(clippy::too_many_arguments)]
    fn start_write(
        &mut self,
        action: &str,
        to: Split,
        origin: Origin,
        reason: Option<String>,
        forced: bool,
        readings: Vec<ReadingRecord>,
        reply: Option<oneshot::Sender<Reply>>,
    ) {
        let rollback = action == "rollback";
        if let Some(f) = self.inflight.take() {
            if !rollback {
                // Callers check `ready_for_write` first; keep the write.
                self.inflight = Some(f);
                if let Some(tx) = reply {
                    self.answer(Some(tx), Err("busy: a traffic change is in flight".into()));
                }
                return;
            }
            // The router contract makes an abandoned write land on the old or
            // the new split; the rollback below settles it at 0 either way.
            f.task.abort();
            let _ = self.journal_outcome(&f, "preempted", None, Some("preempted by rollback"));
            self.event(
                EventLevel::Warn,
                format!(
                    "{} {} → {} preempted by rollback",
                    f.change.action,
                    show(f.change.from),
                    f.change.to
                ),
            );
            for tx in f.replies {
                self.answer(Some(tx), Err("preempted by rollback".into()));
            }
        }
        let from = self.state.split;
        let mut rec = self.record(RecordKind::Intent, origin, action);
        rec.from = from.map(Split::green);
        rec.to = Some(to.green());
        rec.reason = reason.clone();
        rec.forced = forced;
        rec.readings = readings;
        if let Err(e) = self.append(&rec) {
            if !rollback {
                if let Some(tx) = reply {
                    self.answer(Some(tx), Err(format!("{e}; traffic not moved")));
                }
                return;
            }
            // A rollback is never blocked, not even by the journal.
            self.event(EventLevel::Error, format!("{e}; rolling back anyway"));
        }
        let router = self.router.clone();
        let task = tokio::spawn(async move {
            let write = async {
                // By the router's contract a refused write left the old split.
                let applied = router.set_split(to).await.map_err(|error| WriteFailure {
                    error,
                    maybe_applied: false,
                })?;
                // From here on the router took the write: a failure to confirm
                // it means traffic may have moved.
                let unverified = |error| WriteFailure {
                    error,
                    maybe_applied: true,
                };
                let verified = router.verify(to).await.map_err(unverified)?;
                if applied.split != to || !verified {
                    return Err(unverified(RouterError::Rejected(format!(
                        "router reports {} after setting {to}",
                        applied.split
                    ))));
                }
                Ok(applied)
            };
            tokio::time::timeout(WRITE_TIMEOUT, write)
                .await
                .unwrap_or_else(|_| {
                    Err(WriteFailure {
                        error: RouterError::Unavailable(format!(
                            "no answer in {}s",
                            WRITE_TIMEOUT.as_secs()
                        )),
                        maybe_applied: true,
                    })
                })
        });
        let change = PendingChange {
            from,
            to,
            started: Instant::now(),
            action: action.to_string(),
        };
        let verb = if forced {
            format!("{action} (forced)")
        } else {
            action.to_string()
        };
        self.event(
            EventLevel::Traffic,
            match reason.as_deref() {
                // An auto-rollback's reason already says who.
                Some(r) if r.starts_with(origin.name()) => {
                    format!("{verb} {} → {to}: {r}", show(from))
                }
                Some(r) => format!("{verb} {} → {to} by {}: {r}", show(from), origin.name()),
                None => format!("{verb} {} → {to} by {}", show(from), origin.name()),
            },
        );
        self.state.pending = Some(change.clone());
        self.write_gen += 1;
        self.inflight = Some(InFlight {
            task,
            change,
            origin,
            reason,
            forced,
            replies: reply.into_iter().collect(),
        });
    }

    fn on_written(&mut self, result: Result<WriteResult, tokio::task::JoinError>) {
        let Some(f) = self.inflight.take() else {
            return;
        };
        self.write_gen += 1;
        self.state.pending = None;
        let ms = f.change.started.elapsed().as_millis();
        let result = result.unwrap_or_else(|e| {
            Err(WriteFailure {
                error: RouterError::Unavailable(format!("router task failed: {e}")),
                maybe_applied: true,
            })
        });
        let (msg, reply): (String, fn(String) -> Reply) = match result {
            Ok(applied) => {
                let journaled = self.journal_outcome(&f, "ok", Some(&applied.detail), None);
                self.applied(&f, applied.split);
                let mut msg = format!(
                    "{} {} → {} applied in {ms} ms ({})",
                    f.change.action,
                    show(f.change.from),
                    applied.split,
                    applied.detail
                );
                if let Err(e) = journaled {
                    msg.push_str(&format!("; NOT JOURNALED: {e}"));
                }
                self.event(EventLevel::Traffic, msg.clone());
                (msg, Ok)
            }
            Err(WriteFailure {
                error,
                maybe_applied,
            }) => {
                let outcome = if maybe_applied {
                    "unverified"
                } else {
                    "failed"
                };
                let _ = self.journal_outcome(&f, outcome, None, Some(&error.to_string()));
                let loud = match (f.change.action == "rollback", maybe_applied) {
                    (true, _) => "ROLLBACK FAILED",
                    (false, true) => "UNVERIFIED (traffic may have moved)",
                    (false, false) => "failed, previous split still in force",
                };
                let msg = format!(
                    "{} {} → {} {loud} after {ms} ms: {error}",
                    f.change.action,
                    show(f.change.from),
                    f.change.to
                );
                self.event(EventLevel::Error, msg.clone());
                if f.origin == Origin::Autopilot {
                    self.autopilot_after = Some(Instant::now() + self.retry_after());
                }
                // Learn what is really in force rather than assume.
                self.reconcile = true;
                self.start_read();
                (msg, Err)
            }
        };
        for tx in f.replies {
            self.answer(Some(tx), reply(msg.clone()));
        }
    }

    /// How long the autopilot waits after a failed write.
    fn retry_after(&self) -> Duration {
        self.config.source.interval.max(Duration::from_secs(2))
    }

    /// The router confirmed `split`: move the phase and its clocks.
    fn applied(&mut self, f: &InFlight, split: Split) {
        let now = Instant::now();
        self.state.split = Some(split);
        self.state.split_read_at = Some(now);
        self.state.router_error = None;
        self.state.breach_streak = 0;
        self.state.dwell_until = None;
        self.state.dwell_left = None;
        self.state.bake_until = None;
        self.step_entered = now;
        self.split_since = now;
        self.autopilot_after = None;
        self.bake_hold_reported = false;
        if f.change.action == "rollback" {
            let reason = f.reason.clone().unwrap_or_else(|| "rollback".into());
            self.state.phase = Phase::RolledBack {
                reason: reason.clone(),
            };
            self.state.standby_until = None;
            if self.options.autopilot {
                self.state.outcome = Some(Outcome::RolledBack { reason });
            }
            return;
        }
        self.state.phase = self.plan.phase_for(split);
        match self.state.phase {
            Phase::Canary { .. } => self.state.dwell_until = Some(now + self.plan.dwell),
            Phase::Baking => self.state.bake_until = Some(now + self.plan.bake),
            _ => {}
        }
        self.state.standby_until = None;
    }

    // ----- router reads -------------------------------------------------

    fn start_read(&mut self) {
        if self.read_in_flight {
            return;
        }
        self.read_in_flight = true;
        self.last_read = Some(Instant::now());
        let router = self.router.clone();
        let tx = self.read_tx.clone();
        let generation = self.write_gen;
        tokio::spawn(async move {
            let r = tokio::time::timeout(READ_TIMEOUT, router.get_split())
                .await
                .unwrap_or_else(|_| {
                    Err(RouterError::Unavailable(format!(
                        "no answer in {}s",
                        READ_TIMEOUT.as_secs()
                    )))
                });
            let _ = tx.send((generation, r)).await;
        });
    }

    fn on_read(&mut self, (generation, r): ReadResult) {
        self.read_in_flight = false;
        if self.inflight.is_some() {
            // The write's own read-back is the word that counts.
            return;
        }
        if generation != self.write_gen {
            // Started before a write that has landed since: stale. Ask again.
            self.start_read();
            return;
        }
        let now = Instant::now();
        match r {
            Err(e) => {
                let text = e.to_string();
                if self.state.router_error.as_deref() != Some(text.as_str()) {
                    self.event(EventLevel::Error, format!("router: {text}"));
                }
                self.state.router_error = Some(text);
            }
            Ok(split) => {
                self.state.router_error = None;
                self.state.split_read_at = Some(now);
                let reconcile = std::mem::take(&mut self.reconcile);
                match self.state.split {
                    None => self.first_read(split, now),
                    Some(known) if known != split => {
                        let text = if reconcile {
                            format!(
                                "after the failed change the router reports {split} (was {known})"
                            )
                        } else {
                            format!(
                                "split changed outside cutover: {known} → {split} (the router's word is shown)"
                            )
                        };
                        self.event(EventLevel::Warn, text);
                        self.enter_split(split, now);
                    }
                    Some(_) => {}
                }
            }
        }
    }

    /// Takes `split` as the one in force from `now`, with the phase and
    /// clocks of an ordinary step there.
    fn enter_split(&mut self, split: Split, now: Instant) {
        self.state.split = Some(split);
        self.state.phase = self.plan.phase_for(split);
        self.state.dwell_until = None;
        self.state.dwell_left = None;
        self.state.bake_until = None;
        self.state.breach_streak = 0;
        self.step_entered = now;
        self.split_since = now;
        match self.state.phase {
            Phase::Canary { .. } => self.state.dwell_until = Some(now + self.plan.dwell),
            Phase::Baking => self.state.bake_until = Some(now + self.plan.bake),
            _ => {}
        }
    }

    /// The first word from the router: a non-zero split is a cutover in
    /// progress at the nearest step.
    fn first_read(&mut self, split: Split, now: Instant) {
        self.state.split = Some(split);
        if let Some(u) = &self.recovery.unfinished {
            self.event(
                EventLevel::Warn,
                format!(
                    "the last run stopped during {} {} → {}%; the router now says {split}",
                    u.action,
                    u.from
                        .map(|f| format!("{f}%"))
                        .unwrap_or_else(|| "?".into()),
                    u.to.unwrap_or(0)
                ),
            );
        }
        self.step_entered = now;
        self.split_since = now;
        if split.green() > 0
            && let Some(rb) = self.recovery.failed_rollback.clone()
        {
            self.resume_failed_rollback(split, rb);
            return;
        }
        match split.green() {
            0 => {
                self.state.phase = Phase::Ready;
                self.event(EventLevel::Info, "router reports 0 %: ready to start");
            }
            100 => match self.recovery.promoted_at {
                Some(at) => {
                    self.state.phase = Phase::Promoted;
                    self.state.standby_until = Some(at + self.plan.standby);
                    self.event(
                        EventLevel::Info,
                        "router reports 100 %: promoted earlier, blue is the standby",
                    );
                }
                None => {
                    self.state.phase = Phase::Baking;
                    self.state.bake_until = Some(now + self.plan.bake);
                    self.event(
                        EventLevel::Info,
                        "router reports 100 %: baking (the bake window starts now)",
                    );
                }
            },
            _ => {
                self.state.phase = self.plan.phase_for(split);
                self.state.dwell_until = Some(now + self.plan.dwell);
                let step = self.state.step_index().unwrap_or(0);
                self.event(
                    EventLevel::Info,
                    format!(
                        "router reports {split}: cutover in progress at step {}/{} ({}%); dwell restarts",
                        step + 1,
                        self.plan.steps.len(),
                        self.plan.steps[step]
                    ),
                );
            }
        }
    }

    /// The journal says a rollback was asked for and never confirmed, and
    /// the router still sends traffic to green. The autopilot finishes the
    /// rollback (the safe direction); an operator is stopped and told.
    fn resume_failed_rollback(&mut self, split: Split, rb: Record) {
        let why = rb.reason.unwrap_or_else(|| "rollback".into());
        let step = self.plan.nearest_step(split).unwrap_or(0);
        if self.options.autopilot && !self.options.readonly {
            let reason = format!("finishing the rollback that did not complete: {why}");
            self.event(EventLevel::Error, reason.clone());
            self.state.phase = Phase::Paused { step };
            self.start_write(
                "rollback",
                Split::ZERO,
                Origin::Autopilot,
                Some(reason),
                false,
                Vec::new(),
                None,
            );
            return;
        }
        self.state.phase = Phase::Paused { step };
        self.state.dwell_left = Some(self.plan.dwell);
        self.event(
            EventLevel::Error,
            format!("the last rollback ({why}) did not complete and the router still says {split}: paused; press r to finish it"),
        );
    }

    // ----- snapshots ----------------------------------------------------

    fn on_snapshot(&mut self, snap: Snapshot) {
        let split = self.state.split;
        let judgements = guardrail::evaluate(&snap, split, &self.config.guardrails);
        self.report_transitions(&judgements, split);
        self.report_warnings(&snap);
        for color in Color::BOTH {
            for metric in Metric::ALL {
                let value = snap.color(color).get(metric).value();
                self.state
                    .history
                    .push(color, metric, HistoryPoint { at: snap.at, value });
                if let Some(value) = value {
                    self.state
                        .set_last_value(color, metric, LastValue { value, at: snap.at });
                }
            }
        }
        let green_serves = split.is_none_or(|s| s.green() > 0);
        self.state.breach_streak = if green_serves {
            guardrail::next_streak(
                self.state.breach_streak,
                &judgements,
                self.config.auto_rollback.no_data,
            )
        } else {
            0
        };
        self.state.judgements = judgements;
        self.state.snapshot = Some(snap);
        self.maybe_auto_rollback();
    }

    fn maybe_auto_rollback(&mut self) {
        let st = &self.state;
        if !st.armed || st.breach_streak < st.breach_needed || st.split == Some(Split::ZERO) {
            return;
        }
        if self
            .inflight
            .as_ref()
            .is_some_and(|f| f.change.action == "rollback")
        {
            return;
        }
        let breaches = guardrail::green_breaches(&st.judgements);
        let why = if breaches.is_empty() {
            "green has no data".to_string()
        } else {
            breaches
                .iter()
                .map(|j| j.summary())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let reason = format!(
            "auto-rollback after {} consecutive polls with green in breach: {why}",
            st.breach_streak
        );
        let readings = st.judgements.iter().map(reading_record).collect();
        self.event(EventLevel::Error, reason.clone());
        self.start_write(
            "rollback",
            Split::ZERO,
            Origin::AutoRollback,
            Some(reason),
            false,
            readings,
            None,
        );
    }

    /// Logs a verdict when it changes, leaving out the no data that is
    /// expected of a colour with no traffic.
    fn report_transitions(&mut self, judgements: &[Judgement], split: Option<Split>) {
        for j in judgements {
            let key = (j.color, j.metric);
            let (prev, prev_reported) = self
                .prev_verdicts
                .get(&key)
                .copied()
                .unwrap_or((Verdict::NoData, false));
            if prev == j.verdict {
                continue;
            }
            // A colour with no traffic is not judged by anything: its window
            // is only draining, so its verdicts are not news.
            let idle = split.is_some_and(|s| s.share(j.color) == 0);
            let level = match j.verdict {
                _ if idle => None,
                Verdict::Breach | Verdict::Warn => Some(EventLevel::Warn),
                Verdict::NoData if matches!(j.no_data, Some(NoData::Baseline)) => None,
                Verdict::NoData => Some(EventLevel::Warn),
                // OK is news only when it ends a problem that was reported.
                Verdict::Ok if prev_reported => Some(EventLevel::Info),
                Verdict::Ok => None,
            };
            if let Some(level) = level {
                self.event(level, j.summary());
            }
            self.prev_verdicts.insert(key, (j.verdict, level.is_some()));
        }
    }

    fn report_warnings(&mut self, snap: &Snapshot) {
        let warnings: Vec<String> = Color::BOTH
            .iter()
            .flat_map(|c| {
                snap.color(*c)
                    .warnings
                    .iter()
                    .map(move |w| format!("{c}: {w}"))
            })
            .collect();
        if warnings != self.prev_warnings {
            let new: Vec<String> = warnings
                .iter()
                .filter(|w| !self.prev_warnings.contains(w))
                .cloned()
                .collect();
            for w in new {
                self.event(EventLevel::Warn, w);
            }
            self.prev_warnings = warnings;
        }
    }

    // ----- the clock ----------------------------------------------------

    /// Returns true when something shown changed.
    fn on_tick(&mut self) -> bool {
        let now = Instant::now();
        let before = (self.state.phase.clone(), self.state.event_seq);
        let reread = self.config.source.interval.max(Duration::from_secs(2));
        if self.inflight.is_none()
            && self
                .last_read
                .is_none_or(|t| now.duration_since(t) >= reread)
        {
            self.start_read();
        }
        if self.state.phase == Phase::Baking
            && let Some(until) = self.state.bake_until
            && now >= until
        {
            self.finish_bake(now);
        }
        if self.state.phase == Phase::Promoted
            && !self.standby_end_reported
            && self
                .state
                .standby_until
                .is_some_and(|u| SystemTime::now() >= u)
        {
            self.standby_end_reported = true;
            self.event(EventLevel::Info, "standby window over: blue may be retired");
        }
        before != (self.state.phase.clone(), self.state.event_seq)
    }

    /// The bake window is over: promote if green is clean, else hold and say why.
    fn finish_bake(&mut self, now: Instant) {
        let fresh = self
            .state
            .data_age(now)
            .is_some_and(|a| a <= self.stale_after())
            && self.data_covers_split();
        let green: Vec<&Judgement> = self
            .state
            .judgements
            .iter()
            .filter(|j| j.color == Color::Green)
            .collect();
        let clean = fresh && !green.is_empty() && green.iter().all(|j| j.verdict == Verdict::Ok);
        if !clean {
            if !self.bake_hold_reported {
                self.bake_hold_reported = true;
                let why = if fresh {
                    guardrail::gate_reasons(&self.state.judgements).join("; ")
                } else {
                    "no fresh data covering the bake at 100 %".into()
                };
                self.event(
                    EventLevel::Warn,
                    format!("bake window over, holding at 100 %: {why}"),
                );
            }
            return;
        }
        self.state.phase = Phase::Promoted;
        self.state.bake_until = None;
        self.state.standby_until = Some(SystemTime::now() + self.plan.standby);
        let mut rec = self.record(RecordKind::Promoted, Origin::Autopilot, "promoted");
        rec.to = Some(100);
        rec.detail = Some(format!(
            "blue kept as standby for {}",
            crate::format::span(self.plan.standby)
        ));
        rec.readings = self.state.judgements.iter().map(reading_record).collect();
        let _ = self.append(&rec);
        self.event(
            EventLevel::Traffic,
            format!(
                "promoted: bake passed; blue kept as standby for {}",
                crate::format::span(self.plan.standby)
            ),
        );
        if self.options.autopilot {
            self.state.outcome = Some(Outcome::Promoted);
        }
    }

    fn stale_after(&self) -> Duration {
        self.config.source.interval * 3
    }

    fn gate_check(&self) -> super::plan::GateCheck {
        let now = Instant::now();
        let green_up = self.state.snapshot.as_ref().is_some_and(|s| s.green.up);
        check_gate(&GateInput {
            now,
            split: self.state.split,
            phase: &self.state.phase,
            write_in_flight: self.inflight.is_some(),
            dwell_until: self.state.dwell_until,
            data_age: self.state.data_age(now),
            stale_after: self.stale_after(),
            green_up,
            guardrail_reasons: guardrail::gate_reasons(&self.state.judgements),
            router_error: self.state.router_error.as_deref(),
            data_predates_split: !self.data_covers_split(),
            rolled_back: matches!(self.state.phase, Phase::RolledBack { .. }),
        })
    }

    /// True when the latest snapshot's window lies wholly after the split
    /// last changed, so it measures this split and no other.
    fn data_covers_split(&self) -> bool {
        self.state.snapshot.as_ref().is_some_and(|s| {
            s.at.checked_sub(s.window)
                .is_some_and(|start| start >= self.split_since)
        })
    }

    /// Returns true when the gate changed.
    fn refresh_gate(&mut self) -> bool {
        let c = self.gate_check();
        let gate = Gate {
            open: c.open(),
            reasons: c.reasons(),
        };
        let changed = gate != self.state.gate;
        self.state.gate = gate;
        changed
    }

    /// Under the autopilot: advance whenever the gate is open; roll back
    /// when a step (or the bake) has not moved on by the progress deadline.
    /// Returns true when it started a change.
    fn autopilot(&mut self) -> bool {
        if !self.options.autopilot
            || self.options.readonly
            || self.inflight.is_some()
            || self.state.outcome.is_some()
        {
            return false;
        }
        let now = Instant::now();
        let deadline = self.plan.progress_deadline;
        let (waited_for, what) = match self.state.phase {
            Phase::Ready | Phase::Canary { .. } => (self.plan.dwell, "the gate has stayed closed"),
            Phase::Baking => (self.plan.bake, "the bake has not passed"),
            _ => return false,
        };
        if !deadline.is_zero() && now.duration_since(self.step_entered) > waited_for + deadline {
            let reason = format!(
                "progress deadline: {what} for {} past the {}: {}",
                countdown(deadline),
                if self.state.phase == Phase::Baking {
                    "bake"
                } else {
                    "dwell"
                },
                self.state.gate.reasons.join("; ")
            );
            self.event(EventLevel::Error, reason.clone());
            let readings = self.state.judgements.iter().map(reading_record).collect();
            self.start_write(
                "rollback",
                Split::ZERO,
                Origin::Autopilot,
                Some(reason),
                false,
                readings,
                None,
            );
            return true;
        }
        if self.state.phase == Phase::Baking
            || !self.state.gate.open
            || self.autopilot_after.is_some_and(|t| now < t)
        {
            return false;
        }
        let Ok((to, _)) = self.advance_target(false) else {
            return false;
        };
        self.start_write(
            "advance",
            to,
            Origin::Autopilot,
            None,
            false,
            Vec::new(),
            None,
        );
        true
    }

    // ----- journal and events --------------------------------------------

    fn record(&self, kind: RecordKind, origin: Origin, action: &str) -> Record {
        Record::new(kind, &self.config.service.name, origin.name(), action)
    }

    /// Appends and fsyncs; a failure is an event and an error for the caller.
    fn append(&mut self, rec: &Record) -> Result<(), String> {
        self.journal.append(rec).map_err(|e| {
            let msg = format!("journal {} unwritable: {e}", self.journal.path().display());
            self.event(EventLevel::Error, msg.clone());
            msg
        })
    }

    fn journal_outcome(
        &mut self,
        f: &InFlight,
        outcome: &str,
        detail: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), String> {
        let mut rec = self.record(RecordKind::Outcome, f.origin, &f.change.action);
        rec.from = f.change.from.map(Split::green);
        rec.to = Some(f.change.to.green());
        rec.reason = f.reason.clone();
        rec.forced = f.forced;
        rec.outcome = Some(outcome.to_string());
        rec.detail = detail.or(error).map(str::to_string);
        rec.duration_ms = Some(f.change.started.elapsed().as_millis() as u64);
        self.append(&rec)
    }

    fn journal_start(&mut self) {
        let mut rec = self.record(RecordKind::Start, Origin::Cli, "start");
        rec.detail = Some(format!(
            "router {}, source {}{}{}",
            self.state.router_kind,
            self.state.source_kind,
            if self.options.autopilot {
                ", autopilot"
            } else {
                ""
            },
            if self.options.readonly {
                ", read-only"
            } else {
                ""
            },
        ));
        let _ = self.append(&rec);
        if self.recovery.bad_lines > 0 {
            self.event(
                EventLevel::Warn,
                format!(
                    "journal: {} unreadable line(s) skipped",
                    self.recovery.bad_lines
                ),
            );
        }
        if self.options.readonly {
            self.event(
                EventLevel::Info,
                "read-only: this cockpit moves no traffic; auto-rollback is off here",
            );
        }
    }

    fn event(&mut self, level: EventLevel, text: impl Into<String>) {
        let text = text.into();
        match level {
            EventLevel::Error => tracing::error!("{text}"),
            EventLevel::Warn => tracing::warn!("{text}"),
            _ => tracing::info!("{text}"),
        }
        self.state.push_event(level, text);
    }
}

fn show(s: Option<Split>) -> String {
    s.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
}

fn reading_record(j: &Judgement) -> ReadingRecord {
    ReadingRecord {
        color: j.color.to_string(),
        metric: j.metric.key().to_string(),
        value: j.value,
        verdict: j.verdict.word().to_string(),
        bounds: j.checks.iter().map(|c| c.bound_text(j.metric)).collect(),
        no_data: j.no_data.as_ref().map(|n| n.to_string()),
    }
}
