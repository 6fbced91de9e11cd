//! The data plane's check after a rollback, on a task of its own: the
//! rollback is reported as soon as the router has taken it, and the new
//! split is shown as *verifying* until this check returns. A data plane
//! seen still serving green makes the rollback a failing one (retried).

use tokio_util::sync::CancellationToken;

use super::job::within;
use super::lane::{Decision, InFlight};
use super::write_task::{WriteDone, WriteFailure};
use super::{Engine, READ_TIMEOUT};

use crate::engine::action::Action;
use crate::engine::clock::now;
use crate::engine::command::Origin;
use crate::engine::state::Verifying;
use crate::engine::state::{EventLevel, PendingChange, Verified};
use crate::model::Split;
use crate::router::RouterError;
use crate::router::Verification;

/// What the check found.
pub(super) struct VerifyDone {
    split: Split,
    result: Result<Verification, RouterError>,
    /// Checks a rollback the router took (else: the check on start).
    rollback: bool,
}

impl Engine {
    /// Checks on a task of its own that the data plane serves `split`,
    /// the rollback the router has just taken.
    pub(super) fn start_verify(&mut self, split: Split) {
        self.state.traffic.verifying = Some(Verifying {
            split,
            since: now(),
        });
        self.spawn_verify(split, true);
    }

    /// What the data plane serves while the router reads `split` (on
    /// start): shown beside the router's word, with its age.
    pub(super) fn check_data_plane(&mut self, split: Split) {
        self.spawn_verify(split, false);
    }

    fn spawn_verify(&mut self, split: Split, rollback: bool) {
        let router = self.router.clone();
        // Only the latest check's answer counts.
        self.jobs.verify.start(async move {
            VerifyDone {
                split,
                result: within(READ_TIMEOUT, router.verify(split)).await,
                rollback,
            }
        });
    }

    pub(super) fn on_verified(&mut self, done: VerifyDone) {
        let took = self
            .state
            .traffic
            .verifying
            .take()
            .map(|v| now().saturating_duration_since(v.since));
        let took = took
            .map(|d| format!(" in {} ms", d.as_millis()))
            .unwrap_or_default();
        match done.result {
            Ok(v) => {
                if let Some(served) = v.served {
                    self.state.traffic.verified = Some(Verified {
                        served,
                        at: now(),
                        detail: v.detail.clone(),
                    });
                }
                if !done.rollback {
                    if !v.ok {
                        let text = format!(
                            "the router reads {} but the data plane serves otherwise: {}",
                            done.split, v.detail
                        );
                        self.event(EventLevel::Warn, text);
                    }
                    return;
                }
                if v.ok {
                    self.event(
                        EventLevel::Info,
                        format!("data plane confirmed {}{took}: {}", done.split, v.detail),
                    );
                } else {
                    let why = format!("not confirmed by the data plane: {}", v.detail);
                    self.rollback_unconfirmed(why);
                }
            }
            // The router took the rollback; that the data plane could not
            // be asked is no sign that it did not (and retrying would not
            // make it answer).
            Err(e) if done.rollback => self.event(
                EventLevel::Warn,
                format!(
                    "{} taken by the router; the data plane could not be checked: {e}",
                    done.split
                ),
            ),
            Err(e) => self.event(
                EventLevel::Warn,
                format!("the data plane could not be checked: {e}"),
            ),
        }
    }

    /// The rollback's check saw green still served: the rollback becomes a
    /// failing one and is retried (unless a newer change took its place).
    fn rollback_unconfirmed(&mut self, why: String) {
        if self.lane.writing() || self.state.traffic.split != Some(Split::ZERO) {
            self.event(EventLevel::Warn, why);
            return;
        }
        let Some(times) = self.state.rollback.last.clone() else {
            self.event(EventLevel::Warn, why);
            return;
        };
        let reason = self
            .state
            .rollback
            .rolled_back
            .as_ref()
            .map(|m| m.reason.clone())
            .unwrap_or(times.reason);
        // No write is in flight: the retry starts from a finished one.
        let done = tokio::spawn(async {
            WriteDone {
                result: Err(WriteFailure::refused(RouterError::Cancelled)),
                verification: None,
                retried: None,
            }
        });
        let change = PendingChange {
            from: Some(Split::ZERO),
            to: Split::ZERO,
            started: times.decided,
            action: Action::Rollback,
        };
        let decision = Decision {
            reason: Some(reason),
            ..Decision::by(Origin::AutoRollback)
        };
        let f = InFlight {
            // Its outcome was journaled as taken: this is a retry's news.
            retry: true,
            ..InFlight::new(done, CancellationToken::new(), change, decision)
        };
        self.rollback_try_failed(f, why, true);
    }
}
