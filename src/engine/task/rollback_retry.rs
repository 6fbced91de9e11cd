//! A rollback that did not land is a state, not an event: it is retried
//! with backoff for as long as the engine runs, shown as ROLLBACK FAILED,
//! and nothing raises green's traffic meanwhile. The journal and the alerts
//! hear of it three times at most per reason: when it starts failing, when
//! the reason changes, and when it lands.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::Engine;
use super::lane::{Decision, InFlight};
use crate::engine::action::{Action, WriteOutcome};
use crate::engine::clock::now;
use crate::engine::command::Reply;
use crate::engine::journal::RecordAction;
use crate::engine::journal::RecordKind;
use crate::engine::reply::{Refusal, show};
use crate::engine::state::{EventLevel, PendingChange, RollbackRetry};
use crate::model::Split;

/// The wait before the first retry; it doubles after each failure.
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// The longest wait between two tries.
const MAX_RETRY: Duration = Duration::from_secs(4);

/// The `control` record written when a failing rollback's reason changes.
pub const ROLLBACK_RETRYING: RecordAction = RecordAction::RollbackRetrying;
/// The `control` record written when the engine stops with the rollback
/// still not landed.
pub const ROLLBACK_NOT_LANDED: RecordAction = RecordAction::RollbackNotLanded;

/// How long to wait after the `failures`-th failed try.
pub(super) fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(8);
    FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_RETRY)
}

/// The engine's side of a failing rollback (the state shows the rest).
pub(super) struct Retry {
    decision: Decision,
    readings: Vec<String>,
    decided: Instant,
    tries: u32,
    last_error: String,
    next_at: Option<Instant>,
    /// Callers waiting for the rollback to land.
    replies: Vec<oneshot::Sender<Reply>>,
}

impl Engine {
    /// A try of a rollback ended without landing, because of `why`.
    pub(super) fn rollback_try_failed(&mut self, f: InFlight, why: String, maybe_applied: bool) {
        let first = self.lane.retry().is_none();
        let changed = self.lane.retry().is_some_and(|r| r.last_error != why);
        let tries = self.lane.retry().map_or(0, |r| r.tries) + 1;
        let wait = backoff(tries);
        if !f.retry {
            // The try that journaled an intent gets its outcome.
            let outcome = if maybe_applied {
                WriteOutcome::Unverified
            } else {
                WriteOutcome::Failed
            };
            let _ = self.journal_outcome(&f, outcome, None, Some(&why));
        } else if first || changed {
            self.journal_retrying(&f, tries, &why);
        }
        if first || changed {
            self.notice_written(&f, Err(why.clone()));
            let since = now().saturating_duration_since(f.change.started);
            let text = if first {
                format!(
                    "ROLLBACK FAILED — retrying every few seconds until it lands ({} → 0 %, try {tries}, {} since the decision): {why}",
                    show(f.change.from),
                    crate::format::age(since)
                )
            } else {
                format!("ROLLBACK FAILED — retrying (try {tries}); the reason is now: {why}")
            };
            self.event(EventLevel::Error, text);
        }
        let retry = self.lane.retry_or(|| Retry {
            decision: f.decision.clone(),
            readings: f.readings.clone(),
            decided: f.change.started,
            tries: 0,
            last_error: String::new(),
            next_at: None,
            replies: Vec::new(),
        });
        retry.tries = tries;
        retry.last_error = why;
        retry.next_at = Some(now() + wait);
        self.after_failure(&f);
        self.lane.set_revision(None);
        if let Some(r) = self.lane.retry_mut() {
            r.replies.extend(f.replies);
        }
        self.show_retry();
    }

    fn journal_retrying(&mut self, f: &InFlight, tries: u32, why: &str) {
        let mut rec = self.record(RecordKind::Control, f.decision.origin, ROLLBACK_RETRYING);
        rec.from = f.change.from.map(Split::green);
        rec.to = Some(0);
        rec.reason = f.decision.reason.clone();
        rec.detail = Some(format!("try {tries}: {why}"));
        rec.duration_ms = Some(
            now()
                .saturating_duration_since(f.change.started)
                .as_millis() as u64,
        );
        let _ = self.append(&rec);
    }

    /// Mirrors the retry into the published state.
    fn show_retry(&mut self) {
        self.state.rollback.failed = self.lane.retry().map(|r| RollbackRetry {
            decided: r.decided,
            tries: r.tries,
            reason: r.last_error.clone(),
            next_at: r.next_at,
        });
    }

    /// Starts the next try when its time has come. True when it started one.
    pub(super) fn retry_if_due(&mut self) -> bool {
        let due = self
            .lane
            .retry()
            .and_then(|r| r.next_at)
            .is_some_and(|t| now() >= t);
        if due && !self.lane.writing() && !self.lane.preempting() {
            self.start_retry();
            return true;
        }
        false
    }

    /// A new rollback while one is failing: try again at once, and answer
    /// `reply` when it lands. True when a retry is pending (it took over).
    pub(super) fn retry_now(&mut self, reply: Option<oneshot::Sender<Reply>>) -> bool {
        let writing = self.lane.writing();
        let Some(r) = self.lane.retry_mut() else {
            return false;
        };
        r.replies.extend(reply);
        if r.next_at.is_some() && !writing {
            let tries = r.tries;
            self.event(
                EventLevel::Warn,
                format!("rollback: trying again now (after {tries} failed tries)"),
            );
            self.start_retry();
        }
        true
    }

    /// Writes 0 % again, unconditionally: whoever changed the router since,
    /// 0 % is the safe direction. No intent line: the decision was
    /// journaled when it was made.
    fn start_retry(&mut self) {
        let Some(r) = self.lane.retry_mut() else {
            return;
        };
        r.next_at = None;
        let (decision, readings, decided) = (r.decision.clone(), r.readings.clone(), r.decided);
        let (task, cancel) = self.spawn_write(Split::ZERO, None, true);
        let change = PendingChange {
            from: self.state.traffic.split,
            to: Split::ZERO,
            started: decided,
            action: Action::Rollback,
        };
        let f = InFlight {
            readings,
            retry: true,
            ..InFlight::new(task, cancel, change, decision)
        };
        self.track_write(f);
        self.show_retry();
    }

    /// The rollback landed: the retry ends. Returns what the outcome's
    /// detail adds (`landed on try 4, 9s after the decision`) if it had
    /// failed before, with the callers who waited for it.
    pub(super) fn retry_landed(&mut self) -> Option<(String, Vec<oneshot::Sender<Reply>>)> {
        let r = self.lane.take_retry()?;
        self.state.rollback.failed = None;
        let total = now().saturating_duration_since(r.decided);
        let text = format!(
            "landed on try {}, {} after the decision (it had failed: {})",
            r.tries + 1,
            crate::format::age(total),
            r.last_error
        );
        Some((text, r.replies))
    }

    /// True while a rollback is failing: nothing that raises green's
    /// traffic (or moves it anywhere but 0 %) is accepted.
    pub(super) fn retry_refusal(&self) -> Option<Refusal> {
        let r = self.lane.retry()?;
        Some(Refusal::RollbackFailing {
            tries: r.tries,
            error: r.last_error.clone(),
        })
    }

    /// The engine stops with the rollback not landed: said, journaled, and
    /// its callers told what the router was last seen at.
    pub(super) fn stop_retrying(&mut self) {
        let Some(r) = self.lane.take_retry() else {
            return;
        };
        let left = show(self.state.traffic.split);
        let text = format!(
            "stopped with the rollback NOT landed after {} tries over {}: {}; the router last read {left}",
            r.tries,
            crate::format::span(now().saturating_duration_since(r.decided)),
            r.last_error
        );
        let mut rec = self.record(RecordKind::Control, r.decision.origin, ROLLBACK_NOT_LANDED);
        rec.reason = r.decision.reason.clone();
        rec.to = Some(0);
        rec.detail = Some(text.clone());
        let _ = self.append(&rec);
        self.event(EventLevel::Error, text.clone());
        for tx in r.replies {
            self.out
                .answers
                .push((tx, Err(Refusal::NotLanded(text.clone()))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_retry_is_within_a_second_and_the_wait_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(40), MAX_RETRY);
    }
}
