//! The traffic part of the published state: the split as the router, the
//! data plane and the metrics each tell it, and the write in flight.

use std::time::Instant;

use crate::engine::action::Action;
use crate::engine::reply::Change;
use crate::model::Split;
use crate::router::Readiness;

/// Where the traffic stands: nothing known until the router is first read.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    /// The split the router last reported. `None` until it has been read.
    pub split: Option<Split>,
    /// When the router last answered, and its error if the last read failed.
    pub split_read_at: Option<Instant>,
    /// When the engine last entered a new split (our write or an outside
    /// change), so a front end can tell a metric window that still holds
    /// the old split. `None` until the split first changes.
    pub split_changed_at: Option<Instant>,
    pub router_error: Option<String>,
    /// A write in flight.
    pub pending: Option<PendingChange>,
    /// Ready and desired replicas per colour, as the router last reported
    /// them (read with the split); `None` until read or when it failed.
    pub readiness: Option<Readiness>,
    /// What the data plane was last seen to serve (a router's `verify`),
    /// and when: the data-plane split beside the router's word.
    pub verified: Option<Verified>,
    /// The router took a split; the data plane's check has not returned.
    pub verifying: Option<Verifying>,
    /// The split the traffic shows (from the rates), kept with its time
    /// when a later poll has no rates, so its age says how old it is.
    pub observed: Option<Observed>,
    /// The observed split has differed from the router's by more than the
    /// margin for a whole window.
    pub observed_disagrees: bool,
}

/// A router write that has been journaled as intent and not yet finished.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingChange {
    pub from: Option<Split>,
    pub to: Split,
    pub started: Instant,
    pub action: Action,
}

impl PendingChange {
    /// The change, as messages name it.
    pub fn change(&self) -> Change {
        Change {
            action: self.action,
            from: self.from,
            to: self.to,
        }
    }
}

/// The split a router's verification saw the data plane serve.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub served: Split,
    pub at: Instant,
    pub detail: String,
}

/// A split the router has taken whose effect on the data plane is being
/// checked (shown as *verifying* until the check returns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verifying {
    pub split: Split,
    pub since: Instant,
}

/// The split the metrics show: green's share of the requests both colours
/// served over the window, and when that window ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    /// Percent of the requests on green, 0..=100.
    pub green: f64,
    pub at: Instant,
}
