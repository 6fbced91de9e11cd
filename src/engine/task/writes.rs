//! Router writes: journaled intent, the write on a task of its own,
//! preemption by a rollback, the outcome, and the phase it leads to.

use super::*;

impl Engine {
    /// Journals the intent, then hands the write to a task of its own. A
    /// rollback preempts any write in flight; nothing else starts while one
    /// is in flight.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_write(
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
                let applied = router
                    .set_split(crate::router::WriteRequest::to(to))
                    .await
                    .map_err(|error| WriteFailure {
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
                if applied.split != to || !verified.ok {
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

    pub(super) fn on_written(&mut self, result: Result<WriteResult, tokio::task::JoinError>) {
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
    pub(super) fn retry_after(&self) -> Duration {
        self.config.source.interval.max(Duration::from_secs(2))
    }

    /// The router confirmed `split`: move the phase and its clocks.
    pub(super) fn applied(&mut self, f: &InFlight, split: Split) {
        let now = Instant::now();
        self.state.split_read_at = Some(now);
        self.state.router_error = None;
        self.enter_split(split, now);
        self.update_rollback_memory(f, split);
        if f.change.action == "rollback" {
            let reason = f.reason.clone().unwrap_or_else(|| "rollback".into());
            self.state.phase = Phase::RolledBack {
                reason: reason.clone(),
            };
            if self.options.autopilot {
                self.state.outcome = Some(Outcome::RolledBack { reason });
            }
        }
    }

    /// A rollback the engine starts on its own (a breach, the progress
    /// deadline, an unfinished rollback found on start): said loudly, and
    /// journaled with the readings behind it.
    pub(super) fn roll_back_automatically(
        &mut self,
        origin: Origin,
        reason: String,
        readings: Vec<ReadingRecord>,
    ) {
        self.event(EventLevel::Error, reason.clone());
        self.start_write(
            "rollback",
            Split::ZERO,
            origin,
            Some(reason),
            false,
            readings,
            None,
        );
    }
}
