//! The engine task: one loop that owns the cutover. Commands, snapshots,
//! router answers and the clock all arrive here, one at a time, so the state
//! never needs a lock. The router and the metric source run on tasks of
//! their own: a slow reload or a hung Prometheus never delays a command,
//! and a rollback can always preempt a write in flight.
//!
//! This file holds the loop and the journal; each kind of wake-up has a
//! file of its own: `commands`, `writes` (router writes), `reads` (router
//! reads), `judging` (snapshots) and `clock` (timers, gate, autopilot).

mod clock;
mod commands;
mod gate_paths;
mod judging;
mod reads;
mod rollback_memory;
mod writes;

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
use super::plan::{GateCheck, GateInput, Plan, check_gate};
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
        Recovery {
            unreadable: Some(e.to_string()),
            ..Recovery::default()
        }
    });
    let now = Instant::now();
    let mut engine = Engine {
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
        dwell_restart_reported: false,
    };
    engine.restore_rollback_memory();
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
    /// The current run of bad green polls has been said to restart the dwell.
    dwell_restart_reported: bool,
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

    // ----- journal and events --------------------------------------------

    fn record(&self, kind: RecordKind, origin: Origin, action: &str) -> Record {
        let mut rec = Record::new(kind, &self.config.service.name, origin.name(), action);
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
