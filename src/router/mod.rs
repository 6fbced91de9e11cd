//! Traffic routers: the only code that moves traffic.
//!
//! The trait is deliberately small, in the spirit of Flagger's
//! `SetRoutes/GetRoutes` and Argo Rollouts' `SetWeight/VerifyWeight`: read the
//! split, set a split, verify that it took effect.

pub mod demo;

use std::time::Duration;

use async_trait::async_trait;

use crate::model::Split;

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The router could not be reached or did not answer.
    #[error("router unavailable: {0}")]
    Unavailable(String),
    /// The change was refused and the previous split is still in force.
    #[error("change rejected, previous split still in force: {0}")]
    Rejected(String),
    /// The router answered with something we cannot interpret.
    #[error("router state unreadable: {0}")]
    Unreadable(String),
}

/// What a successful write reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The split the router reports after the write (read back, not assumed).
    pub split: Split,
    /// Free-form detail for the journal, e.g. `nginx -t ok, reload 12 ms`.
    pub detail: String,
}

#[async_trait]
pub trait TrafficRouter: Send + Sync {
    /// A short name for the header, e.g. `nginx` or `demo`.
    fn kind(&self) -> &'static str;

    /// Reads the split currently in force. The router is the source of truth.
    async fn get_split(&self) -> Result<Split, RouterError>;

    /// Sets the split. On error the previous split must still be in force.
    ///
    /// Must be cancel-safe: if the future is dropped (a rollback preempts
    /// it), the router is left at either the old or the new split, and a
    /// following `set_split` or `get_split` sees the true state.
    async fn set_split(&self, split: Split) -> Result<Applied, RouterError>;

    /// Checks that the data plane serves `split`. The default reads the
    /// split back; adapters that can observe the data plane do better.
    async fn verify(&self, split: Split) -> Result<bool, RouterError> {
        Ok(self.get_split().await? == split)
    }

    /// How long a write is expected to take; the engine shows a write as
    /// slow beyond this.
    fn expected_latency(&self) -> Duration {
        Duration::from_secs(2)
    }
}
