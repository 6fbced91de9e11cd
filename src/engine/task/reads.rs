//! Router reads: the split as the router reports it, on start and every
//! few seconds after, and what the journal says happened before us.

use std::time::Instant;

use super::job::within;
use super::{Engine, READ_TIMEOUT, ReadResult};

use crate::engine::clock::now;
use crate::engine::command::Origin;
use crate::engine::journal::RecordAction;
use crate::engine::journal::{Record, RecordKind};
use crate::engine::state::{EventLevel, Phase};
use crate::model::{Color, Split};
use crate::router::{Readiness, RouterError, RouterRead};

impl Engine {
    pub(super) fn start_read(&mut self) {
        if self.jobs.read.pending() {
            return;
        }
        self.jobs.last_read = Some(now());
        let router = self.router.clone();
        let workload = self.jobs.workload.clone();
        let generation = self.lane.generation();
        // The first read of a run believes nothing the data plane has not
        // been brought in line with (a reload a killed process never made).
        let first = !std::mem::replace(&mut self.jobs.reconciled, true);
        // A watcher moves nothing, not even by reconciling.
        let reconcile = first && !self.options.readonly;
        self.jobs.read.start(async move {
            let reconciled = match reconcile {
                true => Some(within(READ_TIMEOUT, router.reconcile()).await),
                false => None,
            };
            let split = within(READ_TIMEOUT, router.get_split()).await;
            // Replicas ride along with the periodic read: they feed the gate.
            let ready = within(READ_TIMEOUT, workload.readiness()).await;
            ReadResult {
                generation,
                split,
                ready,
                reconciled,
                first,
            }
        });
    }

    /// What the first read brought besides the split: the router's word on
    /// reconciling with the data plane (journaled when it did something).
    fn on_reconciled(&mut self, reconciled: Option<Result<Option<String>, RouterError>>) {
        match reconciled {
            Some(Ok(Some(text))) => {
                let mut rec =
                    self.record(RecordKind::Control, Origin::Cli, RecordAction::Reconcile);
                rec.detail = Some(text.clone());
                if !self.options.readonly {
                    let _ = self.append(&rec);
                }
                self.event(
                    EventLevel::Warn,
                    format!("reconciled with the data plane: {text}"),
                );
            }
            Some(Err(e)) => self.event(
                EventLevel::Error,
                format!("could not bring the data plane in line with the router: {e}"),
            ),
            _ => {}
        }
    }

    /// Keeps the replicas the router reported; says when green has none
    /// ready (the gate closes) or blue has none (rollback still allowed,
    /// but it would land on nothing).
    fn on_readiness(&mut self, ready: Result<Readiness, RouterError>) {
        let ready = match ready {
            Ok(r) => Some(r),
            Err(e) => {
                if self.state.traffic.readiness.is_some() {
                    self.event(EventLevel::Warn, format!("replicas unreadable: {e}"));
                }
                None
            }
        };
        let before = self.state.traffic.readiness;
        self.state.traffic.readiness = ready;
        let zero =
            |r: Option<Readiness>, c: Color| r.and_then(|r| r.get(c)).is_some_and(|x| x.ready == 0);
        for c in Color::BOTH {
            if zero(ready, c) && !zero(before, c) {
                let desired = ready.and_then(|r| r.get(c)).map_or(0, |x| x.desired);
                let text = match c {
                    Color::Green => {
                        format!("green has 0 of {desired} replicas ready: the gate stays closed")
                    }
                    Color::Blue => format!(
                        "blue has 0 of {desired} replicas ready: a rollback would send traffic to no one"
                    ),
                };
                self.event(EventLevel::Warn, text);
            }
        }
    }

    pub(super) fn on_read(&mut self, read: ReadResult) {
        let ReadResult {
            generation,
            split: r,
            ready,
            reconciled,
            first,
        } = read;
        self.on_reconciled(reconciled);
        // What the data plane serves, once, so the split is shown beside
        // its age from the start; on a task of its own, as a probe may be slow.
        if first && let Ok(read) = &r {
            self.check_data_plane(read.split);
        }
        if self.lane.writing() {
            // The write's own read-back is the word that counts.
            return;
        }
        if generation != self.lane.generation() {
            // Started before a write that has landed since: stale. Ask again.
            self.start_read();
            return;
        }
        self.on_readiness(ready);
        let now = now();
        match r {
            Err(e) => {
                let text = e.to_string();
                if self.state.traffic.router_error.as_deref() != Some(text.as_str()) {
                    self.event(EventLevel::Error, format!("router: {text}"));
                }
                self.state.traffic.router_error = Some(text);
            }
            Ok(RouterRead { split, revision }) => {
                self.lane.set_revision(revision);
                self.state.traffic.router_error = None;
                self.state.traffic.split_read_at = Some(now);
                let reconcile = self.lane.take_reconcile();
                match self.state.traffic.split {
                    None => self.first_read(split, now),
                    // A failing rollback leaves its 0 % written (nginx's
                    // include) while the data plane still serves the old
                    // split: the router's word is not yet the truth, so the
                    // split shown stays what is served until the rollback lands.
                    Some(_) if self.lane.retry().is_some() && split == Split::ZERO => {}
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
                        if !reconcile && split == Split::ZERO {
                            self.learn_outside_rollback();
                        }
                    }
                    Some(_) => {}
                }
            }
        }
    }

    /// Takes `split` as the one in force from `now`, with the phase and
    /// clocks of an ordinary step there.
    /// Every change of split goes through here (our writes, outside
    /// changes, the first read), so all per-step state is reset in one place.
    pub(super) fn enter_split(&mut self, split: Split, now: Instant) {
        // The first read is no change: the metric window already holds it.
        if self.state.traffic.split.is_some_and(|s| s != split) {
            self.state.traffic.split_changed_at = Some(now);
        }
        self.state.traffic.split = Some(split);
        self.state.phase = self.plan.phase_for(split);
        self.state.clock.dwell_until = None;
        self.state.clock.dwell_left = None;
        self.state.clock.bake_until = None;
        self.state.clock.standby_until = None;
        self.state.guard.breach_streak = 0;
        self.clock.enter(now);
        self.said.bake_hold = false;
        match self.state.phase {
            Phase::Canary { .. } => self.state.clock.dwell_until = Some(now + self.plan.dwell),
            Phase::Baking => self.state.clock.bake_until = Some(now + self.plan.bake),
            _ => {}
        }
    }

    /// The first word from the router: a non-zero split is a cutover in
    /// progress at the nearest step.
    pub(super) fn first_read(&mut self, split: Split, now: Instant) {
        self.state.traffic.split = Some(split);
        if let Some(u) = &self.journal.recovery.unfinished {
            self.event(
                EventLevel::Warn,
                format!(
                    "the last run stopped during {} {} → {}%; the router now says {split}",
                    u.action.as_ref().map_or("", RecordAction::word),
                    u.from
                        .map(|f| format!("{f}%"))
                        .unwrap_or_else(|| "?".into()),
                    u.to.unwrap_or(0)
                ),
            );
        }
        self.clock.first_read(now);
        if let Some(rb) = self.journal.recovery.failed_rollback.clone() {
            self.resume_failed_rollback(split, rb);
            return;
        }
        // Ready, a canary step or baking, with their clocks starting now.
        self.enter_split(split, now);
        if self.first_read_after_rollback(split) {
            return;
        }
        match split.green() {
            0 => self.event(EventLevel::Info, "router reports 0 %: ready to start"),
            100 => match self.journal.recovery.promoted_at {
                Some(at) => {
                    self.state.phase = Phase::Promoted;
                    self.state.clock.bake_until = None;
                    self.state.clock.standby_until = Some(at + self.plan.standby);
                    self.event(
                        EventLevel::Info,
                        "router reports 100 %: promoted earlier, blue is the standby",
                    );
                }
                None => self.event(
                    EventLevel::Info,
                    "router reports 100 %: baking (the bake window starts now)",
                ),
            },
            _ => {
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

    /// The journal says a rollback was asked for and never landed
    /// (interrupted or failing). Whatever the router reads (its file may
    /// say 0 % while the data plane never took it), the rollback's split is
    /// written again at once: 0 % is the safe direction. A watcher only
    /// says so.
    pub(super) fn resume_failed_rollback(&mut self, split: Split, rb: Record) {
        let why = rb.reason.unwrap_or_else(|| "rollback".into());
        let step = self.plan.nearest_step(split).unwrap_or(0);
        self.state.phase = Phase::Paused { step };
        if !self.options.readonly {
            let origin = if self.options.autopilot {
                Origin::Autopilot
            } else {
                Origin::AutoRollback
            };
            let reason =
                format!("finishing the rollback that did not land (router reads {split}): {why}");
            self.roll_back_automatically(origin, reason, Vec::new());
            return;
        }
        self.state.clock.dwell_left = Some(self.plan.dwell);
        self.event(
            EventLevel::Error,
            format!("the last rollback ({why}) did not land and the router says {split}: only the cockpit that writes can finish it"),
        );
    }
}
