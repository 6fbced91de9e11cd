//! Router reads: the split as the router reports it, on start and every
//! few seconds after, and what the journal says happened before us.

use super::*;

impl Engine {
    pub(super) fn start_read(&mut self) {
        if self.read_in_flight {
            return;
        }
        self.read_in_flight = true;
        self.last_read = Some(Instant::now());
        let router = self.router.clone();
        let tx = self.read_tx.clone();
        let generation = self.write_gen;
        tokio::spawn(async move {
            let r = tokio::time::timeout(READ_TIMEOUT, async {
                router.get_split().await.map(|r| r.split)
            })
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

    pub(super) fn on_read(&mut self, (generation, r): ReadResult) {
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
    /// Every change of split goes through here (our writes, outside
    /// changes, the first read), so all per-step state is reset in one place.
    pub(super) fn enter_split(&mut self, split: Split, now: Instant) {
        // The first read is no change: the metric window already holds it.
        if self.state.split.is_some_and(|s| s != split) {
            self.state.split_changed_at = Some(now);
        }
        self.state.split = Some(split);
        self.state.phase = self.plan.phase_for(split);
        self.state.dwell_until = None;
        self.state.dwell_left = None;
        self.state.bake_until = None;
        self.state.standby_until = None;
        self.state.breach_streak = 0;
        self.step_entered = now;
        self.split_since = now;
        self.autopilot_after = None;
        self.bake_hold_reported = false;
        match self.state.phase {
            Phase::Canary { .. } => self.state.dwell_until = Some(now + self.plan.dwell),
            Phase::Baking => self.state.bake_until = Some(now + self.plan.bake),
            _ => {}
        }
    }

    /// The first word from the router: a non-zero split is a cutover in
    /// progress at the nearest step.
    pub(super) fn first_read(&mut self, split: Split, now: Instant) {
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
        // Ready, a canary step or baking, with their clocks starting now.
        self.enter_split(split, now);
        if self.first_read_after_rollback(split) {
            return;
        }
        match split.green() {
            0 => self.event(EventLevel::Info, "router reports 0 %: ready to start"),
            100 => match self.recovery.promoted_at {
                Some(at) => {
                    self.state.phase = Phase::Promoted;
                    self.state.bake_until = None;
                    self.state.standby_until = Some(at + self.plan.standby);
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

    /// The journal says a rollback was asked for and never confirmed, and
    /// the router still sends traffic to green. The autopilot finishes the
    /// rollback (the safe direction); an operator is stopped and told.
    pub(super) fn resume_failed_rollback(&mut self, split: Split, rb: Record) {
        let why = rb.reason.unwrap_or_else(|| "rollback".into());
        let step = self.plan.nearest_step(split).unwrap_or(0);
        if self.options.autopilot && !self.options.readonly {
            self.state.phase = Phase::Paused { step };
            let reason = format!("finishing the rollback that did not complete: {why}");
            self.roll_back_automatically(Origin::Autopilot, reason, Vec::new());
            return;
        }
        self.state.phase = Phase::Paused { step };
        self.state.dwell_left = Some(self.plan.dwell);
        self.event(
            EventLevel::Error,
            format!("the last rollback ({why}) did not complete and the router still says {split}: paused; press r to finish it"),
        );
    }
}
