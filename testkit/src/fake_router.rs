//! One fake router for the engine tests, configured per test: a write's
//! delay (before or past the point of no return), conflicts, failures, a
//! data plane that can lag the configuration, capabilities and readiness.
//! Everything is in memory; the test sets and reads it through the lock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cutover::model::Split;
use cutover::router::{
    Applied, Capabilities, Readiness, Revision, RouterError, RouterRead, TrafficRouter,
    Verification, Workload, WriteRequest,
};

/// What the fake router holds and how it misbehaves; every field is the
/// test's to set.
#[derive(Debug)]
pub struct Plane {
    /// `kind()`, and the detail of every applied write.
    pub kind: &'static str,
    /// What the router's configuration says (read back).
    pub split: u8,
    /// What the data plane serves (what `verify` probes when `probe`).
    pub served: u8,
    /// Writes that reached the router, failed or not.
    pub writes: u32,
    /// Reads carry a revision (bumped on every change) and writes that
    /// expect another one meet a conflict.
    pub versioned: bool,
    pub revision: u64,
    /// How long a write takes before it changes anything.
    pub delay: Duration,
    /// Whether `delay` is before the point of no return: a cancelled
    /// write then ends early with `Cancelled`.
    pub delay_cancellable: bool,
    /// Conflicts to answer before writing, whatever the revision.
    pub conflicts: u32,
    /// Every write meets a conflict while set (a controller that rewrites
    /// the weight each time).
    pub fighting: bool,
    /// The next write is rejected with this (once).
    pub reject_once: Option<String>,
    /// Every write fails as unavailable with this while set.
    pub unavailable: Option<String>,
    /// Writes the data plane does not take (a reload that never happened).
    pub stuck: u32,
    /// `verify` probes the data plane (`served`) after `verify_delay`;
    /// otherwise it reads the configuration back, as routers do by default.
    pub probe: bool,
    pub verify_delay: Duration,
    /// What `reconcile` reports.
    pub reconcile: Option<String>,
    /// Only these splits can be set, when `Some`.
    pub only: Option<Vec<u8>>,
    pub readiness: Readiness,
    /// Reads and reconciles, in order.
    pub calls: Vec<&'static str>,
}

impl Default for Plane {
    fn default() -> Plane {
        Plane {
            kind: "fake",
            split: 0,
            served: 0,
            writes: 0,
            versioned: false,
            revision: 0,
            delay: Duration::ZERO,
            delay_cancellable: true,
            conflicts: 0,
            fighting: false,
            reject_once: None,
            unavailable: None,
            stuck: 0,
            probe: false,
            verify_delay: Duration::ZERO,
            reconcile: None,
            only: None,
            readiness: Readiness::default(),
            calls: Vec::new(),
        }
    }
}

#[derive(Clone, Default)]
pub struct FakeRouter(pub Arc<Mutex<Plane>>);

impl FakeRouter {
    /// A router at `split` (configuration and data plane), else default.
    pub fn at(split: u8) -> FakeRouter {
        FakeRouter::default().with(|p| {
            p.split = split;
            p.served = split;
        })
    }

    /// This router after `f` set it up.
    pub fn with(self, f: impl FnOnce(&mut Plane)) -> FakeRouter {
        self.set(f);
        self
    }

    pub fn set(&self, f: impl FnOnce(&mut Plane)) {
        f(&mut self.0.lock().unwrap())
    }

    pub fn get<T>(&self, f: impl FnOnce(&Plane) -> T) -> T {
        f(&self.0.lock().unwrap())
    }

    pub fn split(&self) -> u8 {
        self.get(|p| p.split)
    }

    pub fn writes(&self) -> u32 {
        self.get(|p| p.writes)
    }

    /// Someone else changes the router behind the engine's back.
    pub fn poke(&self, split: u8) {
        self.set(|p| {
            p.split = split;
            p.revision += 1;
        });
    }

    /// The write's checks, in order, once its delay is over.
    fn write(&self, req: &WriteRequest) -> Result<Applied, RouterError> {
        let mut p = self.0.lock().unwrap();
        p.writes += 1;
        if let Some(why) = &p.unavailable {
            return Err(RouterError::Unavailable(why.clone()));
        }
        if p.fighting {
            return Err(RouterError::Conflict(
                "the weight was rewritten by flagger-controller".into(),
            ));
        }
        if p.conflicts > 0 {
            p.conflicts -= 1;
            return Err(RouterError::Conflict("edited by the test".into()));
        }
        if let Some(want) = &req.expected
            && p.versioned
            && want.0 != p.revision.to_string()
        {
            return Err(RouterError::Conflict(format!(
                "revision {} is now {} (edited by the test)",
                want, p.revision
            )));
        }
        if let Some(why) = p.reject_once.take() {
            return Err(RouterError::Rejected(why));
        }
        p.split = req.split.green();
        p.revision += 1;
        if p.stuck > 0 {
            p.stuck -= 1;
        } else {
            p.served = req.split.green();
        }
        Ok(Applied {
            split: req.split,
            revision: p.versioned.then(|| Revision(p.revision.to_string())),
            detail: p.kind.into(),
        })
    }
}

#[async_trait]
impl TrafficRouter for FakeRouter {
    fn kind(&self) -> &'static str {
        self.get(|p| p.kind)
    }

    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        let mut p = self.0.lock().unwrap();
        p.calls.push("read");
        Ok(RouterRead {
            split: Split::new(p.split).unwrap(),
            revision: p.versioned.then(|| Revision(p.revision.to_string())),
        })
    }

    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        let (delay, cancellable) = self.get(|p| (p.delay, p.delay_cancellable));
        if cancellable {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = req.cancel.cancelled() => return Err(RouterError::Cancelled),
            }
        } else {
            tokio::time::sleep(delay).await;
        }
        self.write(&req)
    }

    async fn verify(&self, split: Split) -> Result<Verification, RouterError> {
        let (probe, delay) = self.get(|p| (p.probe, p.verify_delay));
        if !probe {
            let read = self.get_split().await?;
            return Ok(Verification {
                ok: read.split == split,
                served: None,
                detail: format!("read back {}", read.split),
            });
        }
        tokio::time::sleep(delay).await;
        let served = Split::new(self.get(|p| p.served)).unwrap();
        Ok(Verification {
            ok: served == split,
            served: Some(served),
            detail: format!("probe: {served} served"),
        })
    }

    async fn reconcile(&self) -> Result<Option<String>, RouterError> {
        let mut p = self.0.lock().unwrap();
        p.calls.push("reconcile");
        Ok(p.reconcile.clone())
    }

    fn capabilities(&self) -> Capabilities {
        match &self.get(|p| p.only.clone()) {
            Some(v) => Capabilities::Only(v.clone()),
            None => Capabilities::AnySplit,
        }
    }
}

/// Its workloads: the configured readiness; nothing to scale.
#[async_trait]
impl Workload for FakeRouter {
    async fn readiness(&self) -> Result<Readiness, RouterError> {
        Ok(self.get(|p| p.readiness))
    }
}
