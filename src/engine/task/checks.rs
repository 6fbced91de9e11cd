//! Smoke checks and command gates under the engine: when they start (green
//! at 0 % for smoke checks; the next advance reaching a command's
//! percentage), their results in the state and the journal, and the kill
//! on rollback and on quit. The runners work on tasks of their own; a
//! result arrives here like any other wake-up. A rollback kills a running
//! command first and journals it after: it never waits for a check.

use crate::gates::command::{self, Finished};
use crate::gates::smoke::{self, Verdict};
use crate::gates::{Checks, CommandRun, SmokeResult};

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Engine;
use super::job::Job;

use crate::config::Config;
use crate::engine::clock::now;
use crate::engine::command::{Origin, Reply};
use crate::engine::journal::RecordAction;
use crate::engine::journal::{Record, RecordKind};
use crate::engine::reply::{Done, Refusal};
use crate::engine::state::{EventLevel, Phase};
use crate::gates::CheckReason;
use crate::model::Split;

/// What a smoke run reports: a verdict per check, in order.
pub(super) type SmokeDone = Vec<Verdict>;

/// What a command gate's run reports.
#[derive(Debug)]
pub(super) struct CheckDone {
    index: usize,
    run: u64,
    finished: Finished,
}

/// The checks' runners and what is in flight (the results live in
/// `State::checks`).
pub(super) struct CheckRunners {
    pub smoke_checks: Arc<Vec<smoke::Prepared>>,
    /// The smoke run: a result of an older run is dropped.
    pub smoke: Job<SmokeDone>,
    pub smoke_origin: Origin,
    pub commands: Vec<crate::config::CommandGate>,
    /// The run in flight per command, with its id and who started it.
    pub running: Vec<Option<(command::Running, u64, Origin)>>,
    pub command_run: u64,
    pub tx: mpsc::UnboundedSender<CheckDone>,
    /// Records of runs killed by a rollback, written once no traffic change
    /// is in flight: the rollback's answer never waits for their fsync.
    pub unjournaled: Vec<Record>,
}

impl CheckRunners {
    pub fn new(
        config: &Config,
        tx: mpsc::UnboundedSender<CheckDone>,
    ) -> Result<(CheckRunners, Checks), String> {
        let prepared = smoke::prepare(&config.gates.smoke, config.aws.as_ref())?;
        let checks = Checks {
            smoke: config
                .gates
                .smoke
                .iter()
                .map(|s| crate::gates::SmokeStatus {
                    name: s.name.clone(),
                    running_since: None,
                    last: None,
                })
                .collect(),
            commands: config
                .gates
                .command
                .iter()
                .map(|c| crate::gates::CommandStatus {
                    name: c.name.clone(),
                    before: c.before.clone(),
                    running: None,
                    last: None,
                })
                .collect(),
        };
        Ok((
            CheckRunners {
                smoke_checks: Arc::new(prepared),
                smoke: Job::new(),
                smoke_origin: Origin::Autopilot,
                commands: config.gates.command.clone(),
                running: config.gates.command.iter().map(|_| None).collect(),
                command_run: 0,
                tx,
                unjournaled: Vec::new(),
            },
            checks,
        ))
    }
}

impl Engine {
    /// Starts the checks that are due and not yet run: smoke checks when
    /// green is at 0 %, command gates the next advance needs. Nothing
    /// starts while traffic is moving, after a rollback (going again is a
    /// deliberate act: `s`), or in a read-only cockpit. True when one
    /// started.
    pub(super) fn start_due_checks(&mut self) -> bool {
        if self.options.readonly
            || self.options.no_auto_checks
            || self.lane.busy()
            || self.state.checks.is_empty()
        {
            return false;
        }
        let Some(from) = self.state.traffic.split else {
            return false;
        };
        let mut started = false;
        let since = self.clock.split_since();
        if from.green() == 0
            && !self.jobs.checks.smoke.pending()
            && self
                .state
                .checks
                .smoke
                .iter()
                .any(|s| s.last.as_ref().is_none_or(|r| r.at < since))
        {
            started |= self.start_smoke(Origin::Autopilot);
        }
        if matches!(self.state.phase, Phase::RolledBack { .. })
            || self.state.rollback.rolled_back.is_some()
        {
            return started;
        }
        let Some(next) = self.plan.next_target(from) else {
            return started;
        };
        for i in self.state.checks.due(from.green(), next.green()) {
            if self.jobs.checks.running[i].is_none()
                && !self.state.checks.has_current_run(i, from.green(), since)
            {
                started |= self.start_command(i, Origin::Autopilot);
            }
        }
        started
    }

    /// `s` / `:smoke`: runs the smoke checks (at 0 %) and every command
    /// gate still ahead of the current split, again.
    pub(super) fn run_checks_now(&mut self, origin: Origin) -> Reply {
        if self.options.readonly {
            return Err(Refusal::ReadOnlyChecks);
        }
        let from = self.state.traffic.split.ok_or(Refusal::SplitUnknown)?;
        let mut names = Vec::new();
        if from.green() == 0 && !self.state.checks.smoke.is_empty() {
            if self.jobs.checks.smoke.pending() {
                names.push("smoke checks (already running)".to_string());
            } else if self.start_smoke(origin) {
                names.push(format!("{} smoke check(s)", self.state.checks.smoke.len()));
            }
        }
        for i in self.state.checks.due(from.green(), 100) {
            let name = self.state.checks.commands[i].name.clone();
            if self.jobs.checks.running[i].is_some() {
                names.push(format!("{name} (already running)"));
            } else if self.start_command(i, origin) {
                names.push(name);
            }
        }
        if names.is_empty() {
            return Err(if self.state.checks.is_empty() {
                Refusal::NoChecks
            } else {
                Refusal::NoChecksDue(from)
            });
        }
        Ok(Done::ChecksStarted(names))
    }

    fn start_smoke(&mut self, origin: Origin) -> bool {
        if self.jobs.checks.smoke_checks.is_empty() {
            return false;
        }
        let t = now();
        for s in &mut self.state.checks.smoke {
            s.running_since = Some(t);
        }
        self.jobs.checks.smoke_origin = origin;
        let prepared = self.jobs.checks.smoke_checks.clone();
        self.jobs
            .checks
            .smoke
            .start(async move { smoke::run_all(&prepared).await });
        true
    }

    fn start_command(&mut self, i: usize, origin: Origin) -> bool {
        let Some(split) = self.state.traffic.split else {
            return false;
        };
        let gate = self.jobs.checks.commands[i].clone();
        self.jobs.checks.command_run += 1;
        let run = self.jobs.checks.command_run;
        let tx = self.jobs.checks.tx.clone();
        let t = now();
        match command::spawn(&gate.argv, gate.timeout, move |finished| {
            let _ = tx.send(CheckDone {
                index: i,
                run,
                finished,
            });
        }) {
            Ok(running) => {
                self.jobs.checks.running[i] = Some((running, run, origin));
                self.state.checks.commands[i].running = Some((t, split.green()));
                self.event(
                    EventLevel::Info,
                    format!(
                        "{} started at {split} (timeout {})",
                        gate.name,
                        crate::format::span(gate.timeout)
                    ),
                );
                true
            }
            Err(why) => {
                let result = CommandRun {
                    passed: false,
                    reason: why,
                    split: split.green(),
                    started: t,
                    elapsed: Duration::ZERO,
                    output: Vec::new(),
                };
                self.finish_command(i, result, origin);
                true
            }
        }
    }

    /// A smoke run ended: each verdict shown, and journaled.
    pub(super) fn on_smoke(&mut self, verdicts: SmokeDone) {
        let origin = self.jobs.checks.smoke_origin;
        let t = now();
        for (i, v) in verdicts.into_iter().enumerate() {
            let Some(s) = self.state.checks.smoke.get_mut(i) else {
                continue;
            };
            s.running_since = None;
            s.last = Some(SmokeResult {
                passed: v.passed,
                reason: v.reason.clone(),
                latency: v.latency,
                at: t,
            });
            let name = s.name.clone();
            let mut rec = self.record(RecordKind::Check, origin, RecordAction::Smoke);
            rec.check = Some(name.clone());
            rec.passed = Some(v.passed);
            rec.detail = Some(v.reason.clone());
            rec.duration_ms = Some(v.latency.as_millis() as u64);
            let _ = self.append(&rec);
            let (level, word) = said(v.passed);
            self.event(
                level,
                format!(
                    "smoke {name} {word}: {} ({} ms)",
                    v.reason,
                    v.latency.as_millis()
                ),
            );
        }
    }

    /// A command gate's run ended (unless a newer run took its place).
    pub(super) fn on_check(&mut self, done: CheckDone) {
        let CheckDone {
            index,
            run,
            finished,
        } = done;
        let Some((_, id, origin)) = self.jobs.checks.running.get(index).and_then(|r| r.as_ref())
        else {
            return;
        };
        if *id != run {
            return;
        }
        let origin = *origin;
        // The task has ended: dropping the handle kills nothing alive.
        self.jobs.checks.running[index] = None;
        let (started, split) = self.state.checks.commands[index]
            .running
            .take()
            .unwrap_or((now(), self.state.traffic.split.map_or(0, Split::green)));
        let result = CommandRun {
            passed: finished.passed,
            reason: finished.reason,
            split,
            started,
            elapsed: finished.elapsed,
            output: finished.output,
        };
        self.finish_command(index, result, origin);
    }

    fn finish_command(&mut self, i: usize, result: CommandRun, origin: Origin) {
        let rec = self.command_record(i, &result, origin);
        let _ = self.append(&rec);
        self.show_command(i, result);
    }

    fn command_record(&self, i: usize, result: &CommandRun, origin: Origin) -> Record {
        let mut rec = self.record(RecordKind::Check, origin, RecordAction::Command);
        rec.check = Some(self.state.checks.commands[i].name.clone());
        rec.passed = Some(result.passed);
        rec.from = Some(result.split);
        rec.detail = Some(result.reason.clone());
        rec.duration_ms = Some(result.elapsed.as_millis() as u64);
        rec.output = result.output.clone();
        rec
    }

    fn show_command(&mut self, i: usize, result: CommandRun) {
        let name = self.state.checks.commands[i].name.clone();
        let (level, word) = said(result.passed);
        self.event(
            level,
            format!(
                "{name} {word}: {} after {}",
                result.reason,
                crate::gates::status::secs(result.elapsed)
            ),
        );
        self.state.checks.commands[i].running = None;
        self.state.checks.commands[i].last = Some(result);
    }

    /// Kills every command in flight at once (no IO, no waiting) and
    /// returns what to journal once the rollback is on its way.
    pub(super) fn kill_commands(&mut self) -> Vec<(usize, CommandRun, Origin)> {
        let mut killed = Vec::new();
        for i in 0..self.jobs.checks.running.len() {
            if let Some((running, _, origin)) = self.jobs.checks.running[i].take() {
                running.kill();
                let (started, split) = self.state.checks.commands[i]
                    .running
                    .take()
                    .unwrap_or((now(), 0));
                killed.push((
                    i,
                    CommandRun {
                        passed: false,
                        reason: String::new(),
                        split,
                        started,
                        elapsed: now().saturating_duration_since(started),
                        output: running.output(),
                    },
                    origin,
                ));
            }
        }
        killed
    }

    /// Shows commands killed by `why` now; their journal records wait in
    /// `unjournaled` until the traffic change is over.
    pub(super) fn report_killed(&mut self, killed: Vec<(usize, CommandRun, Origin)>, why: &str) {
        for (i, mut run, origin) in killed {
            run.reason = why.to_string();
            let rec = self.command_record(i, &run, origin);
            self.jobs.checks.unjournaled.push(rec);
            self.show_command(i, run);
        }
    }

    /// Writes the deferred records once no traffic change is in flight
    /// (or at shutdown, `force`).
    pub(super) fn journal_deferred_checks(&mut self, force: bool) {
        if self.jobs.checks.unjournaled.is_empty() || (!force && self.lane.busy()) {
            return;
        }
        for rec in std::mem::take(&mut self.jobs.checks.unjournaled) {
            let _ = self.append(&rec);
        }
    }

    /// The gate's reasons from the checks for a move to `to`.
    pub(super) fn check_reasons(&self, to: Option<Split>) -> Vec<CheckReason> {
        match (self.state.traffic.split, to) {
            (Some(from), Some(to)) => {
                self.state
                    .checks
                    .reasons(from.green(), to.green(), self.clock.split_since(), now())
            }
            _ => Vec::new(),
        }
    }
}

/// How a check's result is said: passed as news, a failure as a warning.
fn said(passed: bool) -> (EventLevel, &'static str) {
    if passed {
        (EventLevel::Info, "passed")
    } else {
        (EventLevel::Warn, "FAILED")
    }
}
