//! The engine task: one loop that owns the cutover. Commands, snapshots,
//! router answers and the clock all arrive here, one at a time, so the state
//! never needs a lock. The router and the metric source run on tasks of
//! their own: a slow reload or a hung Prometheus never delays a command,
//! and a rollback can always preempt a write in flight.
//!
//! This file holds the loop and the journal; each kind of wake-up has a
//! file of its own: `commands`, `writes` (router writes), `reads` (router
//! reads), `judging` (snapshots) and `clock` (timers, gate, autopilot).

mod checks;
mod chores;
mod clock;
mod commands;
mod gate_paths;
mod judging;
mod notices;
mod observed_split;
mod reads;
mod rollback_memory;
mod rollback_retry;
mod rollback_time;
mod samples;
mod verify;
mod write_task;
mod writes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::metrics::MetricSource;
use crate::model::{Color, Metric, NoData, Snapshot, Split, Verdict};
use crate::router::{
    Applied, Readiness, Revision, RouterError, RouterRead, Routing, TrafficRouter, Workload,
};

use super::EngineHandle;
use super::action::{Action, WriteOutcome};
use super::clock::{WallClock, now};
use super::command::{Command, Origin, Reply, Request};
use super::guardrail::{self, Judgement};
use super::journal::{Journal, ReadingRecord, Record, RecordKind, Recovery};
use super::plan::{GateCheck, GateInput, Plan, check_gate};
use super::state::{
    EventLevel, Gate, HistoryPoint, LastValue, Outcome, PendingChange, Phase, PlanView, State,
    Verified,
};
use crate::format::countdown;
use write_task::{WriteDone, WriteFailure};

/// How long a router write may take before it is given up as failed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a router read may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the engine looks at its clocks (dwell, bake, deadlines).
const TICK: Duration = Duration::from_millis(250);
/// How long shutdown waits for a write in flight to finish and be journaled.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a rollback waits for a cancelled write to reach a safe point.
/// After that the write is abandoned (journaled) and the rollback goes
/// ahead: 0 % is the safe direction whatever the write left behind.
pub const PREEMPT_DEADLINE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Advance whenever the gate opens, roll back at the progress deadline,
    /// and report the outcome (`cutover run`).
    pub autopilot: bool,
    /// Move no traffic at all: refuse traffic commands and keep
    /// auto-rollback off (a second cockpit watching someone else's cutover).
    pub readonly: bool,
    /// Why read-only, when it was not asked for (another process holds the
    /// journal): said as an event on start.
    pub readonly_reason: Option<String>,
    /// Set when this process writes although another holds the journal
    /// (`rollback --force`): the holder, as said; every write is journaled
    /// as forced.
    pub forced_past: Option<String>,
    /// Start no smoke check or command gate on its own (a one-shot
    /// `cutover set` would only kill an eval suite as it exits); their
    /// gates stay closed until run or forced.
    pub no_auto_checks: bool,
    /// Stamps events and journal lines; the system clock by default.
    pub wall: WallClock,
    /// Told of rollbacks, promotes and first breaches once journaled (the
    /// alert task); `None`: nobody listens.
    pub notices: Option<super::notice::NoticeSender>,
}

/// Starts the engine and its metric poller. The returned task ends after
/// [`Command::Shutdown`] or when every handle is dropped. Fails when the
/// plan cannot be run.
pub fn spawn(
    config: &Config,
    router: impl Into<Routing>,
    source: Box<dyn MetricSource>,
    journal: Journal,
    options: EngineOptions,
) -> Result<(EngineHandle, JoinHandle<()>), String> {
    let Routing {
        traffic: router,
        workload,
    } = router.into();
    let plan = Plan::from_config(&config.plan)?;
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
    let (checks_tx, checks_rx) = mpsc::unbounded_channel();
    let (checks, check_states) = checks::CheckRunners::new(config, checks_tx)?;
    state.checks = check_states;
    let (state_tx, state_rx) = watch::channel(Arc::new(state.clone()));
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (rollback_tx, rollback_rx) = mpsc::unbounded_channel();
    let (snap_tx, snap_rx) = mpsc::channel(2);
    let (read_tx, read_rx) = mpsc::channel(4);
    let (verify_tx, verify_rx) = mpsc::unbounded_channel();
    let (chore_tx, chore_rx) = mpsc::unbounded_channel();
    // The charts' span: the history holds this many polls.
    let span = config.source.interval * super::state::History::CAPACITY as u32;
    let poller = spawn_poller(source, config.source.interval, span, snap_tx);
    let recovery = Journal::recover(journal.path()).unwrap_or_else(|e| {
        tracing::warn!("journal unreadable: {e}");
        Recovery {
            unreadable: Some(e.to_string()),
            ..Recovery::default()
        }
    });
    let t = now();
    let mut engine = Engine {
        config: config.clone(),
        plan,
        router,
        workload,
        journal,
        state,
        tx: state_tx,
        options,
        inflight: None,
        queued_rollback: None,
        read_tx,
        verify_tx,
        verify_rx: Some(verify_rx),
        verify_seq: 0,
        reconciled: false,
        retry: None,
        chore_tx,
        chores_running: 0,
        read_in_flight: false,
        last_read: None,
        revision: None,
        write_gen: 0,
        reconcile: false,
        step_entered: t,
        split_since: t,
        autopilot_after: None,
        prev_verdicts: HashMap::new(),
        prev_warnings: Vec::new(),
        bake_hold_reported: false,
        standby_end_reported: false,
        recovery,
        outbox: Vec::new(),
        dwell_restart_reported: false,
        disagreement: super::observed::DisagreementTracker::new(
            config.source.observed_split_margin,
            config.source.window,
        ),
        checks,
        sampler: super::sampling::Sampler::new(config.journal.sample_every),
        sample_failure_reported: false,
        zero_watch: None,
    };
    engine.restore_rollback_memory();
    let task = tokio::spawn(async move {
        engine
            .run(cmd_rx, rollback_rx, snap_rx, read_rx, chore_rx, checks_rx)
            .await;
        poller.abort();
    });
    Ok((EngineHandle::new(cmd_tx, rollback_tx, state_rx), task))
}

/// What the poller hands the engine.
enum Polled {
    /// History from before we started, for the charts only.
    Backfill(Vec<Snapshot>),
    Live(Box<Snapshot>),
}

/// Asks the source once for history over the charts' span, then polls it
/// once per interval, one poll in flight at a time. A stall is skipped,
/// not replayed as a burst.
fn spawn_poller(
    mut source: Box<dyn MetricSource>,
    interval: Duration,
    span: Duration,
    tx: mpsc::Sender<Polled>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let past = source.backfill(span, interval).await;
        if !past.is_empty() && tx.send(Polled::Backfill(past)).await.is_err() {
            return;
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            let snap = source.poll().await;
            if tx.send(Polled::Live(Box::new(snap))).await.is_err() {
                break;
            }
        }
    })
}

/// A router write in flight.
struct InFlight {
    task: JoinHandle<WriteDone>,
    /// Cancelled when a rollback preempts this write; the router stops at
    /// its next safe point.
    cancel: CancellationToken,
    change: PendingChange,
    origin: Origin,
    reason: Option<String>,
    forced: bool,
    /// Green's readings when the write was decided, for the alert.
    readings: Vec<String>,
    /// Everyone waiting for this write (a second `r` joins the rollback in
    /// flight rather than restarting it).
    replies: Vec<oneshot::Sender<Reply>>,
    /// A retry of a rollback that did not land: it has no intent line of
    /// its own, and its failure is journaled only when the reason changes.
    retry: bool,
}

/// A rollback waiting for the write it preempted to reach a safe point.
struct QueuedRollback {
    order: WriteOrder,
    /// Callers of later rollbacks that joined this one.
    joined: Vec<oneshot::Sender<Reply>>,
    /// When it was asked for: its measured time starts here, wait included.
    asked: Instant,
    /// When the write in flight is abandoned if it has not stopped.
    deadline: Instant,
}

/// What `start_write` is asked to do.
pub(super) struct WriteOrder {
    pub action: Action,
    pub to: Split,
    pub origin: Origin,
    pub reason: Option<String>,
    pub forced: bool,
    /// The readings behind an automatic decision.
    pub readings: Vec<ReadingRecord>,
    /// The wall time of the data behind an automatic decision.
    pub data_wall: Option<SystemTime>,
    pub reply: Option<oneshot::Sender<Reply>>,
}

impl WriteOrder {
    pub(super) fn new(action: Action, to: Split, origin: Origin) -> WriteOrder {
        WriteOrder {
            action,
            to,
            origin,
            reason: None,
            forced: false,
            readings: Vec::new(),
            data_wall: None,
            reply: None,
        }
    }
}

/// A router read, tagged with the write generation it started in: the
/// split and revision, and the replicas read alongside. The first read of
/// a run also brings what reconciling with the data plane did.
struct ReadResult {
    generation: u64,
    split: Result<RouterRead, RouterError>,
    ready: Result<Readiness, RouterError>,
    reconciled: Option<Result<Option<String>, RouterError>>,
    /// The run's first read: the data plane is checked once after it.
    first: bool,
}

enum Wake {
    Request(Option<Request>),
    Snapshot(Polled),
    Written(Result<WriteDone, tokio::task::JoinError>),
    PreemptDeadline,
    Read(ReadResult),
    Verified(verify::VerifyDone),
    Chore(chores::ChoreDone),
    Check(checks::CheckDone),
    Tick,
}

struct Engine {
    config: Config,
    plan: Plan,
    router: Arc<dyn TrafficRouter>,
    workload: Arc<dyn Workload>,
    journal: Journal,
    state: State,
    tx: watch::Sender<Arc<State>>,
    options: EngineOptions,
    inflight: Option<InFlight>,
    queued_rollback: Option<QueuedRollback>,
    read_tx: mpsc::Sender<ReadResult>,
    /// Where the check of the data plane after a rollback reports.
    verify_tx: mpsc::UnboundedSender<verify::VerifyDone>,
    /// Taken by `run`.
    verify_rx: Option<mpsc::UnboundedReceiver<verify::VerifyDone>>,
    /// Numbers those checks: only the latest one's answer counts.
    verify_seq: u64,
    /// The router was asked once, on start, to bring the data plane in
    /// line with its configuration (see `TrafficRouter::reconcile`).
    reconciled: bool,
    /// A rollback that did not land, retried until it does.
    retry: Option<rollback_retry::Retry>,
    /// Where chores (scaling) report; see `chores`.
    chore_tx: mpsc::UnboundedSender<chores::ChoreDone>,
    chores_running: usize,
    read_in_flight: bool,
    last_read: Option<Instant>,
    /// The router's revision as last read or written: every write expects
    /// it, so a change made by someone else is never overwritten blindly.
    revision: Option<Revision>,
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
    /// The current run of bad green polls has been said to restart the dwell.
    dwell_restart_reported: bool,
    /// The router's split against the one the traffic shows.
    disagreement: super::observed::DisagreementTracker,
    /// Smoke checks and command gates: runners and runs in flight.
    checks: checks::CheckRunners,
    /// Which polls are journaled as samples for the report's charts.
    sampler: super::sampling::Sampler,
    /// A sample could not be written, and that was said once.
    sample_failure_reported: bool,
    /// A rollback waiting for the traffic to show green at zero.
    zero_watch: Option<rollback_time::ZeroWatch>,
}

/// Waits for the write in flight, or forever when there is none.
async fn written(inflight: &mut Option<InFlight>) -> Result<WriteDone, tokio::task::JoinError> {
    match inflight {
        Some(f) => (&mut f.task).await,
        None => std::future::pending().await,
    }
}

/// Waits until a queued rollback stops waiting for the write it preempted.
async fn preempt_deadline(q: &Option<QueuedRollback>) {
    match q {
        Some(q) => tokio::time::sleep_until(q.deadline.into()).await,
        None => std::future::pending().await,
    }
}

impl Engine {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Request>,
        mut rollbacks: mpsc::UnboundedReceiver<Request>,
        mut snapshots: mpsc::Receiver<Polled>,
        mut reads: mpsc::Receiver<ReadResult>,
        mut chores: mpsc::UnboundedReceiver<chores::ChoreDone>,
        mut checks: mpsc::UnboundedReceiver<checks::CheckDone>,
    ) {
        let mut verified = self.verify_rx.take().expect("the engine runs once");
        self.journal_start();
        self.start_read();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            let wake = tokio::select! {
                // Rollbacks first, on a lane of their own that nothing else
                // can fill; then other commands: neither waits behind a
                // burst of snapshots or ticks.
                biased;
                Some(r) = rollbacks.recv() => Wake::Request(Some(r)),
                r = commands.recv() => Wake::Request(r),
                _ = preempt_deadline(&self.queued_rollback) => Wake::PreemptDeadline,
                r = written(&mut self.inflight) => Wake::Written(r),
                Some(r) = reads.recv() => Wake::Read(r),
                Some(v) = verified.recv() => Wake::Verified(v),
                Some(c) = chores.recv() => Wake::Chore(c),
                Some(c) = checks.recv() => Wake::Check(c),
                Some(s) = snapshots.recv() => Wake::Snapshot(s),
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
                Wake::PreemptDeadline => self.abandon_preempted(),
                Wake::Read(r) => self.on_read(r),
                Wake::Verified(v) => self.on_verified(v),
                Wake::Chore(c) => self.on_chore(c),
                Wake::Check(c) => self.on_check(c),
                Wake::Snapshot(Polled::Live(s)) => self.on_snapshot(*s),
                Wake::Snapshot(Polled::Backfill(past)) => self.on_backfill(past),
                Wake::Tick => {
                    changed = self.on_tick();
                    changed |= self.retry_if_due();
                    self.journal_deferred_checks(false);
                }
            }
            changed |= self.start_due_checks();
            changed |= self.refresh_gate();
            changed |= self.autopilot();
            if changed {
                self.publish();
            }
            self.flush_answers();
        }
        self.shutdown(&mut verified).await;
        self.publish();
        self.flush_answers();
    }

    /// Publishes a copy of the state. History and events are persistent
    /// vectors, so the copy shares them instead of cloning them.
    fn publish(&self) {
        self.tx.send_replace(Arc::new(self.state.clone()));
    }

    /// Quitting never moves traffic; a write already in flight is allowed to
    /// finish so that its outcome is journaled (and a rollback waiting on it
    /// then goes ahead).
    async fn shutdown(&mut self, verified: &mut mpsc::UnboundedReceiver<verify::VerifyDone>) {
        // A command gate dies with the cockpit: nothing it started outlives us.
        let killed = self.kill_commands();
        self.report_killed(killed, "killed: the cockpit stopped");
        self.journal_deferred_checks(true);
        while let Some(f) = &self.inflight {
            // A rollback is given every chance to land.
            let grace = if f.change.action == Action::Rollback {
                WRITE_TIMEOUT
            } else if self.queued_rollback.is_some() {
                PREEMPT_DEADLINE
            } else {
                SHUTDOWN_GRACE
            };
            match tokio::time::timeout(grace, written(&mut self.inflight)).await {
                Ok(r) => self.on_written(r),
                Err(_) if self.queued_rollback.is_some() => self.abandon_preempted(),
                Err(_) => {
                    let f = self.inflight.take().expect("checked above");
                    f.task.abort();
                    // A journal failure is already an event; nothing else to do.
                    let _ = self.journal_outcome(
                        &f,
                        WriteOutcome::Abandoned,
                        None,
                        Some("engine stopped while the write was in flight"),
                    );
                }
            }
        }
        // A rollback's check of the data plane is waited for (bounded), so
        // a one-shot command or a drill exits once the traffic has moved,
        // not merely once the router took it.
        if self.state.verifying.is_some()
            && let Ok(Some(v)) = tokio::time::timeout(READ_TIMEOUT, verified.recv()).await
        {
            self.on_verified(v);
        }
        self.stop_retrying();
    }

    // ----- journal and events --------------------------------------------

    fn record(&self, kind: RecordKind, origin: Origin, action: &str) -> Record {
        let mut rec = Record::at(
            self.options.wall.now(),
            kind,
            &self.config.service.name,
            origin.name(),
            action,
        );
        // Every record names the green it concerns, so a rollback is
        // remembered against that green and no other.
        rec.green_version = self.config.service.green_version.clone();
        rec
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
        outcome: WriteOutcome,
        detail: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), String> {
        let mut rec = self.record(RecordKind::Outcome, f.origin, f.change.action.name());
        rec.from = f.change.from.map(Split::green);
        rec.to = Some(f.change.to.green());
        rec.reason = f.reason.clone();
        rec.forced = f.forced;
        rec.outcome = Some(outcome);
        rec.detail = detail.or(error).map(str::to_string);
        rec.duration_ms = Some(
            now()
                .saturating_duration_since(f.change.started)
                .as_millis() as u64,
        );
        if f.change.action == Action::Rollback && outcome == WriteOutcome::Ok {
            self.rollback_fields(f, &mut rec);
        }
        self.append(&rec)
    }

    fn journal_start(&mut self) {
        if let Some(why) = self.options.readonly_reason.clone() {
            self.event(EventLevel::Warn, format!("read-only: {why}"));
        }
        // A watcher is not the writer: the journal is someone else's.
        if !self.options.readonly {
            self.journal_start_record();
        }
        self.start_events();
    }

    fn journal_start_record(&mut self) {
        let mut rec = self.record(RecordKind::Start, Origin::Cli, "start");
        rec.detail = Some(format!(
            "router {}, source {}{}",
            self.state.router_kind,
            self.state.source_kind,
            if self.options.autopilot {
                ", autopilot"
            } else {
                ""
            },
        ));
        let _ = self.append(&rec);
    }

    fn start_events(&mut self) {
        if self.recovery.bad_lines > 0 {
            self.event(
                EventLevel::Warn,
                format!(
                    "journal: {} unreadable line(s) skipped",
                    self.recovery.bad_lines
                ),
            );
        }
        let unsettable = self.plan.unsettable_steps(&self.router.capabilities());
        if !unsettable.is_empty() {
            let steps: Vec<String> = unsettable.iter().map(|s| format!("{s}%")).collect();
            self.event(
                EventLevel::Error,
                format!(
                    "plan steps {} cannot be set: the {} router can set {}",
                    steps.join(", "),
                    self.router.kind(),
                    self.router.capabilities().describe()
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
        let wall = self.options.wall.now();
        self.state.push_event(wall, level, text);
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
