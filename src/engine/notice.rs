//! What the engine tells whoever listens (the alert task) once a decision
//! is journaled: a rollback that landed or failed, green reaching 100 %, the
//! first poll of a breach. Sent on an unbounded channel with a plain
//! `send`, which never waits: an alert can never hold up the engine, and so
//! never the traffic change it reports.

use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use crate::config::AlertEvent;
use crate::model::Split;

use super::command::Origin;

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub event: AlertEvent,
    /// When it happened (the engine's wall clock).
    pub wall: SystemTime,
    pub service: String,
    pub green_version: Option<String>,
    pub origin: Origin,
    /// Green's share before the change; `None` for a breach or when unknown.
    pub from: Option<Split>,
    /// Green's share after the change (for a failed rollback, what it was
    /// asked to be), or at the breach.
    pub split: Option<Split>,
    /// Why: the rollback's reason, or the breaching readings.
    pub reason: Option<String>,
    /// Green's readings at the decision, one `Judgement::summary` each.
    pub readings: Vec<String>,
    /// For a breach: the keys of the metrics in breach (`error_rate`), or
    /// `no data` when missing data counts as one; alerts are rate-limited
    /// per metric.
    pub metrics: Vec<String>,
    /// The change did not land: the router's error.
    pub failed: Option<String>,
    /// How long the change took, from the decision to the router's word.
    pub took: Option<Duration>,
}

pub type NoticeSender = mpsc::UnboundedSender<Notice>;
pub type NoticeReceiver = mpsc::UnboundedReceiver<Notice>;
