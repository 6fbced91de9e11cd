//! The engine's parts besides the write lane, the step clock and the
//! said-once flags: its jobs, what it sends out, its journal, and its
//! watch on the traffic; and what wakes it.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};

use super::job::{Finished, Job};
use super::poller::Polled;
use super::{ReadResult, checks, chores, rollback_time, verify};
use crate::engine::command::{Reply, Request};
use crate::engine::journal::{Record, Recovery};
use crate::engine::journal_writer::JournalWriter;
use crate::engine::observed::DisagreementTracker;
use crate::engine::sampling::Sampler;
use crate::engine::state::State;
use crate::router::Workload;

/// What wakes the engine besides its jobs: the front ends, the poller and
/// the command gates.
pub(super) struct Inbox {
    pub(super) commands: mpsc::Receiver<Request>,
    pub(super) rollbacks: mpsc::UnboundedReceiver<Request>,
    pub(super) snapshots: mpsc::Receiver<Polled>,
    pub(super) checks: mpsc::UnboundedReceiver<checks::CheckDone>,
}

/// Where the jobs' answers arrive.
pub(super) struct Answers {
    pub(super) read: mpsc::UnboundedReceiver<Finished<ReadResult>>,
    pub(super) verify: mpsc::UnboundedReceiver<Finished<verify::VerifyDone>>,
    pub(super) chores: mpsc::UnboundedReceiver<Finished<chores::ChoreDone>>,
    pub(super) smoke: mpsc::UnboundedReceiver<Finished<checks::SmokeDone>>,
}

/// The engine's work on tasks of its own, one [`Job`] per kind.
pub(super) struct Jobs {
    /// Readiness and scaling: asked by the reads and the chores.
    pub(super) workload: Arc<dyn Workload>,
    pub(super) read: Job<ReadResult>,
    /// When the last read started.
    pub(super) last_read: Option<Instant>,
    /// The router was asked once, on start, to bring the data plane in
    /// line with its configuration (see `TrafficRouter::reconcile`).
    pub(super) reconciled: bool,
    /// The data plane's check after a rollback (and on start): only the
    /// latest one's answer counts.
    pub(super) verify: Job<verify::VerifyDone>,
    /// Scaling after a rollback, retiring blue: every one is journaled.
    pub(super) chores: Job<chores::ChoreDone>,
    /// Smoke checks and command gates: runners and runs in flight.
    pub(super) checks: checks::CheckRunners,
}

/// What leaves the engine: the state it publishes, and the answers that
/// wait for the state they describe to be published.
pub(super) struct Out {
    pub(super) tx: watch::Sender<Arc<State>>,
    pub(super) answers: Vec<(oneshot::Sender<Reply>, Reply)>,
}

/// The journal: its writer, what it said on start, and which polls it
/// keeps as samples for the report's charts.
pub(super) struct Books {
    pub(super) writer: JournalWriter,
    pub(super) recovery: Recovery,
    pub(super) sampler: Sampler,
}

impl Books {
    pub(super) fn append(&self, rec: &Record) -> std::io::Result<()> {
        self.writer.append(rec)
    }

    pub(super) fn path(&self) -> &std::path::Path {
        self.writer.path()
    }
}

/// The split the traffic shows, watched beside the router's.
pub(super) struct TrafficWatch {
    /// The router's split against the one the traffic shows.
    pub(super) disagreement: DisagreementTracker,
    /// A rollback waiting for the traffic to show green at zero.
    pub(super) zero_watch: Option<rollback_time::ZeroWatch>,
}
