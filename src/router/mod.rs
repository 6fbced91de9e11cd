//! Traffic routers: the only code that moves traffic.
//!
//! The trait is deliberately small, in the spirit of Flagger's
//! `SetRoutes/GetRoutes` and Argo Rollouts' `SetWeight/VerifyWeight`: read the
//! split, set a split, verify that it took effect. Everything else has a
//! default, so an adapter implements only what it can really do. What a
//! router can do to the workloads behind it (readiness, scaling) is the
//! [`Workload`] trait beside it, as Flagger keeps them apart.

pub mod aws;
pub mod build;
pub mod demo;
pub mod kubernetes;
pub mod nginx;
mod workload;

pub use build::build;
pub use workload::{Readiness, Replicas, Routing, Workload};

use std::fmt;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::model::Split;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    /// The router's state changed since it was last read (the expected
    /// revision no longer holds): someone else moved it. Nothing was
    /// written; the text says who or what changed, where the router knows.
    #[error("changed by someone else since it was read: {0}")]
    Conflict(String),
    /// The split cannot be expressed by this router (a Service selector has
    /// only 0 and 100 %). Nothing was written.
    #[error("not supported by this router: {0}")]
    Unsupported(String),
    /// The write was cancelled at a safe point before anything changed.
    #[error("cancelled before anything changed")]
    Cancelled,
}

/// An opaque version of the router's state: a Kubernetes `resourceVersion`,
/// a hash of the nginx include. A write names the revision it expects, so
/// it never overwrites a change it has not seen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Revision(pub String);

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a read of the router returns.
#[derive(Debug, Clone, PartialEq)]
pub struct RouterRead {
    pub split: Split,
    /// `None` for routers that keep no version (the demo router).
    pub revision: Option<Revision>,
}

impl RouterRead {
    pub fn unversioned(split: Split) -> Self {
        RouterRead {
            split,
            revision: None,
        }
    }
}

/// How many conditional writes in a row a rollback may lose, each on a
/// fresh read, before it names what keeps changing the resource: enough
/// to outlast an edit that raced it, few enough to stay quick.
pub const ROLLBACK_TRIES: u32 = 5;

/// A write that found the resource changed since the engine's read: an
/// advance stops there (`Err`); a rollback goes on over the change (`Ok`:
/// the conflict's text, for the journal), as it must not be blocked by a
/// stale read.
pub fn rollback_goes_on(text: String, split: Split) -> Result<String, RouterError> {
    if split != Split::ZERO {
        return Err(RouterError::Conflict(text));
    }
    Ok(text)
}

/// What a conditional write that lost to a concurrent change does next,
/// `lost` writes in: an advance stops at its first conflict; a rollback
/// must not be blocked by a stale read, so it goes on (`Ok`: the text of
/// this conflict, to retry on the fresh read) until it has lost `tries` in
/// a row, when `who` (what keeps changing the resource) is named.
pub fn after_conflict(
    text: String,
    split: Split,
    lost: u32,
    tries: u32,
    who: &str,
) -> Result<String, RouterError> {
    let text = rollback_goes_on(text, split)?;
    if lost >= tries {
        return Err(RouterError::Conflict(format!(
            "{text}; the rollback lost {lost} conditional writes in a row, each on a fresh read: \
             {who}"
        )));
    }
    Ok(text)
}

/// What a successful write reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The split the router reports after the write (read back, not assumed).
    pub split: Split,
    /// The revision after the write, to condition the next write on.
    pub revision: Option<Revision>,
    /// Free-form detail for the journal, e.g. `nginx -t ok, reload 12 ms`.
    pub detail: String,
}

/// What `set_split` is asked to do.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub split: Split,
    /// The revision of the engine's last read. `Some`: write only if the
    /// router is still at it, else fail with [`RouterError::Conflict`].
    /// `None`: write unconditionally.
    pub expected: Option<Revision>,
    /// Cancelled when a rollback preempts this write. The router checks it
    /// at its safe points: before the point of no return it stops and
    /// returns [`RouterError::Cancelled`] with nothing changed; after it, it
    /// finishes (or restores) so that the state is whole either way.
    pub cancel: CancellationToken,
}

impl WriteRequest {
    /// An unconditional, uncancellable write (tests, tools).
    pub fn to(split: Split) -> Self {
        WriteRequest {
            split,
            expected: None,
            cancel: CancellationToken::new(),
        }
    }
}

/// Which splits a router can set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Capabilities {
    /// Any split from 0 to 100 %.
    #[default]
    AnySplit,
    /// Only these green percentages (a Service selector: 0 and 100).
    Only(Vec<u8>),
}

impl Capabilities {
    pub fn can_set(&self, split: Split) -> bool {
        match self {
            Capabilities::AnySplit => true,
            Capabilities::Only(allowed) => allowed.contains(&split.green()),
        }
    }

    /// For messages: `any split` or `only 0% and 100%`.
    pub fn describe(&self) -> String {
        match self {
            Capabilities::AnySplit => "any split from 0% to 100%".into(),
            Capabilities::Only(v) => {
                let v: Vec<String> = v.iter().map(|p| format!("{p}%")).collect();
                format!("only {}", v.join(" and "))
            }
        }
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// Whether the data plane serves the split that was set (within the
    /// adapter's tolerance).
    pub ok: bool,
    /// The share the data plane was seen to serve green, where observed
    /// (a probe counting responses), else `None`.
    pub served: Option<Split>,
    /// For the journal and the event log: `probe: 48/200 green (24%)`.
    pub detail: String,
}

#[async_trait]
pub trait TrafficRouter: Send + Sync {
    /// A short name for the header, e.g. `nginx` or `demo`.
    fn kind(&self) -> &'static str;

    /// Reads the split currently in force and its revision. The router is
    /// the source of truth.
    async fn get_split(&self) -> Result<RouterRead, RouterError>;

    /// Sets the split. On error the previous split must still be in force
    /// (except where the error says it may not be, e.g. a timeout after the
    /// point of no return). Must stop only at safe points: see
    /// [`WriteRequest::cancel`].
    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError>;

    /// Checks that the data plane serves `split`. The default reads the
    /// split back; adapters that can observe the data plane do better.
    async fn verify(&self, split: Split) -> Result<Verification, RouterError> {
        let read = self.get_split().await?;
        Ok(Verification {
            ok: read.split == split,
            served: None,
            detail: format!("read back {}", read.split),
        })
    }

    /// Makes the data plane serve what the router's own configuration says,
    /// where it may not: a write whose reload or API call never ran (the
    /// process was killed midway). Called by the engine once on start,
    /// before the first read is believed. `Ok(None)`: nothing was out of
    /// step; `Ok(Some(text))`: what was done (journaled and shown), e.g.
    /// "nginx reloaded: the include was newer than its workers".
    async fn reconcile(&self) -> Result<Option<String>, RouterError> {
        Ok(None)
    }

    /// Which splits this router can set; the engine refuses others before
    /// any write.
    fn capabilities(&self) -> Capabilities {
        Capabilities::AnySplit
    }
}
