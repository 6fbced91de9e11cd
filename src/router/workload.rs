//! The workloads behind a router: their readiness, and what is done to
//! them beyond traffic (green scaled down after a rollback, blue retired
//! after a promotion). Kept apart from [`super::TrafficRouter`], which is
//! about the split only, as Flagger keeps its deployment controller apart
//! from its routers. Every method has a default: a router that cannot see
//! or scale its workloads (nginx, the demo) implements it empty.

use std::sync::Arc;

use async_trait::async_trait;

use super::{RouterError, TrafficRouter};
use crate::model::Color;

/// Ready and desired replicas of one colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicas {
    pub ready: u32,
    pub desired: u32,
}

/// Each colour's replicas; `None` where the router cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    pub blue: Option<Replicas>,
    pub green: Option<Replicas>,
}

impl Readiness {
    pub fn get(&self, c: Color) -> Option<Replicas> {
        match c {
            Color::Blue => self.blue,
            Color::Green => self.green,
        }
    }
}

#[async_trait]
pub trait Workload: Send + Sync {
    /// Ready and desired replicas per colour. Advancing is refused while
    /// green has none ready; rollback never is.
    async fn readiness(&self) -> Result<Readiness, RouterError> {
        Ok(Readiness::default())
    }

    /// Run by the engine after a rollback has landed, on a task of its own
    /// (it never delays the rollback): what is done to green beyond its
    /// traffic, such as scaling its Deployment to 0 where configured.
    /// `Ok(None)`: nothing to do. The text is journaled.
    async fn after_rollback(&self) -> Result<Option<String>, RouterError> {
        Ok(None)
    }

    /// Whether blue can be retired (scaled to 0) once green has all the
    /// traffic and the standby window is over.
    fn can_decommission_blue(&self) -> bool {
        false
    }

    /// Retires blue: scales it to 0. Refused unless green has all traffic.
    /// The engine checks the phase and the standby window first; the text
    /// is journaled.
    async fn decommission_blue(&self) -> Result<String, RouterError> {
        Err(RouterError::Unsupported(
            "this router cannot scale blue: retire it by hand".into(),
        ))
    }
}

/// A router as the engine holds it: its traffic face and its workload
/// face, usually one object seen through both traits.
#[derive(Clone)]
pub struct Routing {
    pub traffic: Arc<dyn TrafficRouter>,
    pub workload: Arc<dyn Workload>,
}

impl<R: TrafficRouter + Workload + 'static> From<Arc<R>> for Routing {
    fn from(router: Arc<R>) -> Self {
        Routing {
            traffic: router.clone(),
            workload: router,
        }
    }
}
