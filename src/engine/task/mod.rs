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
mod evidence;
mod gate_paths;
mod job;
mod judging;
mod lane;
mod notices;
mod observed_split;
mod parts;
mod poller;
mod reads;
mod rollback_memory;
mod rollback_retry;
mod rollback_time;
mod said_once;
mod samples;
mod start;
mod step_clock;
mod verify;
mod write_task;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::EngineHandle;
use super::action::{Action, WriteOutcome};
use super::clock::{WallClock, now};
use super::command::{Origin, Request};
use super::guardrail::Judgement;
use super::journal::{Journal, ReadingRecord, Record, RecordAction, RecordKind, Recovery};
use super::journal_writer::JournalWriter;
use super::observed::DisagreementTracker;
use super::plan::Plan;
use super::sampling::Sampler;
use super::state::{EventLevel, History, PlanView, State};
use crate::config::Config;
use crate::metrics::MetricSource;
use crate::model::Split;
use crate::router::{Readiness, RouterError, RouterRead, Routing, TrafficRouter};
use job::{Finished, Job};
use lane::{InFlight, LaneWake, WriteLane};
use parts::{Answers, Books, Inbox, Jobs, Out, TrafficWatch};
use poller::{Polled, spawn_poller};
use said_once::SaidOnce;
use step_clock::StepClock;
use write_task::WriteDone;

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
    let mut state = initial_state(config, &plan, router.kind(), source.kind(), &options)?;
    let (checks_tx, checks_rx) = mpsc::unbounded_channel();
    let (checks, check_states) = checks::CheckRunners::new(config, checks_tx)?;
    state.checks = check_states;
    let (state_tx, state_rx) = watch::channel(Arc::new(state.clone()));
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (rollback_tx, rollback_rx) = mpsc::unbounded_channel();
    let (snap_tx, snap_rx) = mpsc::channel(2);
    // The charts' span: the history holds this many polls.
    let span = config.source.interval * History::CAPACITY as u32;
    let poller = spawn_poller(source, config.source.interval, span, snap_tx);
    let recovery = recover(&journal);
    // Lines are written and fsynced on a thread of their own.
    let writer = JournalWriter::spawn(journal).map_err(|e| format!("journal thread: {e}"))?;
    let evidence = evidence::Evidence::new(&state.metrics, &config.source.kind);
    let mut engine = Engine {
        config: config.clone(),
        plan,
        router,
        options,
        state,
        out: Out {
            tx: state_tx,
            answers: Vec::new(),
        },
        journal: Books {
            writer,
            recovery,
            sampler: Sampler::new(config.journal.sample_every),
        },
        lane: WriteLane::default(),
        jobs: Jobs {
            workload,
            read: Job::new(),
            last_read: None,
            reconciled: false,
            verify: Job::new(),
            chores: Job::new(),
            checks,
        },
        clock: StepClock::new(now()),
        said: SaidOnce::default(),
        traffic: TrafficWatch {
            disagreement: DisagreementTracker::new(
                config.source.observed_split_margin,
                config.source.window,
            ),
            zero_watch: None,
        },
        evidence,
    };
    engine.restore_rollback_memory();
    let inbox = Inbox {
        commands: cmd_rx,
        rollbacks: rollback_rx,
        snapshots: snap_rx,
        checks: checks_rx,
    };
    let task = tokio::spawn(async move {
        engine.run(inbox).await;
        poller.abort();
    });
    Ok((EngineHandle::new(cmd_tx, rollback_tx, state_rx), task))
}

/// What the journal says of the past; an unreadable one is said on start.
fn recover(journal: &Journal) -> Recovery {
    Journal::recover(journal.path()).unwrap_or_else(|e| {
        tracing::warn!("journal unreadable: {e}");
        Recovery {
            unreadable: Some(e.to_string()),
            ..Recovery::default()
        }
    })
}

/// The state before the router has answered, watching the config's
/// metrics (fails only for a config built in code with a bad metric).
fn initial_state(
    config: &Config,
    plan: &Plan,
    router_kind: &'static str,
    source_kind: &'static str,
    options: &EngineOptions,
) -> Result<State, String> {
    let mut state = State::new(
        config.service.name.clone(),
        router_kind,
        source_kind,
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
    state.metrics = config
        .metric_specs()
        .map(super::guardrail::shared)
        .map_err(|(key, why)| format!("{key}: {why}"))?;
    Ok(state)
}

/// A router read, tagged with the write generation it started in: the
/// split and revision, and the replicas read alongside. The first read of
/// a run also brings what reconciling with the data plane did.
pub(super) struct ReadResult {
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
    Read(Finished<ReadResult>),
    Verified(Finished<verify::VerifyDone>),
    Chore(Finished<chores::ChoreDone>),
    Smoke(Finished<checks::SmokeDone>),
    Check(checks::CheckDone),
    Tick,
}

/// The engine: the cutover's one owner. Each part owns its state; this
/// holds them and the configuration they share.
struct Engine {
    config: Config,
    plan: Plan,
    router: Arc<dyn TrafficRouter>,
    options: EngineOptions,
    state: State,
    out: Out,
    journal: Books,
    lane: WriteLane,
    jobs: Jobs,
    clock: StepClock,
    said: SaidOnce,
    traffic: TrafficWatch,
    evidence: evidence::Evidence,
}

impl Engine {
    async fn run(mut self, mut inbox: Inbox) {
        let mut answers = Answers {
            read: self.jobs.read.receiver(),
            verify: self.jobs.verify.receiver(),
            chores: self.jobs.chores.receiver(),
            smoke: self.jobs.checks.smoke.receiver(),
        };
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
                Some(r) = inbox.rollbacks.recv() => Wake::Request(Some(r)),
                r = inbox.commands.recv() => Wake::Request(r),
                w = self.lane.wake() => match w {
                    LaneWake::PreemptDeadline => Wake::PreemptDeadline,
                    LaneWake::Written(r) => Wake::Written(r),
                },
                Some(r) = answers.read.recv() => Wake::Read(r),
                Some(v) = answers.verify.recv() => Wake::Verified(v),
                Some(c) = answers.chores.recv() => Wake::Chore(c),
                Some(c) = answers.smoke.recv() => Wake::Smoke(c),
                Some(c) = inbox.checks.recv() => Wake::Check(c),
                Some(s) = inbox.snapshots.recv() => Wake::Snapshot(s),
                _ = ticker.tick() => Wake::Tick,
            };
            let Some(changed) = self.on_wake(wake) else {
                break;
            };
            let mut changed = changed | self.start_due_checks();
            changed |= self.refresh_gate();
            changed |= self.autopilot();
            if changed {
                self.publish();
            }
            self.flush_answers();
        }
        self.shutdown(&mut answers.verify).await;
        self.finish_chores(&mut answers.chores).await;
        self.publish();
        self.flush_answers();
    }

    /// Handles one wake-up: whether what is shown changed, or `None` to stop.
    fn on_wake(&mut self, wake: Wake) -> Option<bool> {
        match wake {
            Wake::Request(None) => return None,
            Wake::Request(Some(req)) => {
                if self.on_request(req) {
                    return None;
                }
            }
            Wake::Written(r) => self.on_written(r),
            Wake::PreemptDeadline => self.abandon_preempted(),
            Wake::Read(r) => {
                if let Some(r) = self.jobs.read.finish(r) {
                    self.on_read(r);
                }
            }
            Wake::Verified(v) => {
                if let Some(v) = self.jobs.verify.finish(v) {
                    self.on_verified(v);
                }
            }
            Wake::Chore(c) => {
                if let Some(c) = self.jobs.chores.finish(c) {
                    self.on_chore(c);
                }
            }
            Wake::Smoke(s) => {
                if let Some(s) = self.jobs.checks.smoke.finish(s) {
                    self.on_smoke(s);
                }
            }
            Wake::Check(c) => self.on_check(c),
            Wake::Snapshot(Polled::Live(s)) => self.on_snapshot(*s),
            Wake::Snapshot(Polled::Backfill(past)) => self.on_backfill(past),
            Wake::Tick => {
                // A quiet tick changes nothing shown.
                let changed = self.on_tick() | self.retry_if_due();
                self.journal_deferred_checks(false);
                return Some(changed);
            }
        }
        // Anything but a quiet tick changes what is shown.
        Some(true)
    }

    /// Publishes a copy of the state. History and events are persistent
    /// vectors, so the copy shares them instead of cloning them.
    fn publish(&self) {
        self.out.tx.send_replace(Arc::new(self.state.clone()));
    }

    /// Quitting never moves traffic; a write already in flight is allowed to
    /// finish so that its outcome is journaled (and a rollback waiting on it
    /// then goes ahead).
    async fn shutdown(
        &mut self,
        verified: &mut mpsc::UnboundedReceiver<Finished<verify::VerifyDone>>,
    ) {
        // A command gate dies with the cockpit: nothing it started outlives us.
        let killed = self.kill_commands();
        self.report_killed(killed, "killed: the cockpit stopped");
        self.jobs.checks.smoke.cancel();
        self.journal_deferred_checks(true);
        while let Some(f) = self.lane.in_flight() {
            // A rollback is given every chance to land.
            let grace = if f.change.action == Action::Rollback {
                WRITE_TIMEOUT
            } else if self.lane.preempting() {
                PREEMPT_DEADLINE
            } else {
                SHUTDOWN_GRACE
            };
            match tokio::time::timeout(grace, self.lane.written()).await {
                Ok(r) => self.on_written(r),
                Err(_) if self.lane.preempting() => self.abandon_preempted(),
                Err(_) => {
                    let f = self.lane.abandon().expect("checked above");
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
        if self.state.traffic.verifying.is_some()
            && let Ok(Some(v)) = tokio::time::timeout(READ_TIMEOUT, verified.recv()).await
            && let Some(v) = self.jobs.verify.finish(v)
        {
            self.on_verified(v);
        }
        self.stop_retrying();
    }

    // ----- journal and events --------------------------------------------

    fn record(&self, kind: RecordKind, origin: Origin, action: impl Into<RecordAction>) -> Record {
        let mut rec = Record::at(
            self.options.wall.now(),
            kind,
            &self.config.service.name,
            origin,
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
        let mut rec = self.record(RecordKind::Outcome, f.decision.origin, f.change.action);
        rec.from = f.change.from.map(Split::green);
        rec.to = Some(f.change.to.green());
        rec.reason = f.decision.reason.clone();
        rec.forced = f.decision.forced;
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

fn reading_record(j: &Judgement) -> ReadingRecord {
    ReadingRecord {
        color: j.color,
        metric: j.id().to_string(),
        value: j.value,
        verdict: j.verdict,
        bounds: j.checks.iter().map(|c| c.bound_text(&j.metric)).collect(),
        no_data: j.no_data.as_ref().map(|n| n.to_string()),
    }
}

/// The latest judgements as the journal records them.
fn readings(state: &State) -> Vec<ReadingRecord> {
    state.guard.judgements.iter().map(reading_record).collect()
}
