//! Blue's and green's Deployments: readiness (ready of desired replicas)
//! and scaling through the `deployments/scale` subresource, the one verb on
//! Deployments the RBAC Role grants besides `get`.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::errors::{Failure, classify};
use crate::router::{Replicas, RouterError};

pub fn replicas(d: &Deployment) -> Replicas {
    // Kubernetes omits zero counts from status and defaults spec.replicas
    // to 1: these are the API's own meanings, not missing data.
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = d
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    Replicas {
        ready: ready.max(0) as u32,
        desired: desired.max(0) as u32,
    }
}

pub async fn read(api: &Api<Deployment>, ns: &str, name: &str) -> Result<Replicas, RouterError> {
    let what = format!("Deployment {ns}/{name}");
    api.get(name)
        .await
        .map(|d| replicas(&d))
        .map_err(|e| match classify(&what, false, e) {
            Failure::Conflict(m) => RouterError::Unreadable(m),
            Failure::Other(e) => e,
        })
}

/// A scale action's outcome, for the caller's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaled {
    pub deployment: String,
    pub from: u32,
    pub to: u32,
}

impl std::fmt::Display for Scaled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Deployment {} scaled {} -> {} replicas",
            self.deployment, self.from, self.to
        )
    }
}

/// Reads the scale, then patches `spec.replicas` conditioned on the scale's
/// `resourceVersion`, so a concurrent change (an autoscaler, a person) is a
/// conflict, not overwritten.
pub async fn scale(
    api: &Api<Deployment>,
    ns: &str,
    name: &str,
    replicas: u32,
    manager: &str,
) -> Result<Scaled, RouterError> {
    let what = format!("Deployment {ns}/{name} (scale)");
    let fail = |writing: bool| {
        let what = what.clone();
        move |e| match classify(&what, writing, e) {
            Failure::Conflict(m) => {
                RouterError::Conflict(format!("{what} changed while scaling: {m}"))
            }
            Failure::Other(e) => e,
        }
    };
    let current = api.get_scale(name).await.map_err(fail(false))?;
    let from = current
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(0)
        .max(0) as u32;
    let rv = current
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    let patch = json!({
        "metadata": { "resourceVersion": rv },
        "spec": { "replicas": replicas },
    });
    let pp = PatchParams {
        field_manager: Some(manager.to_string()),
        ..Default::default()
    };
    api.patch_scale(name, &pp, &Patch::Merge(&patch))
        .await
        .map_err(fail(true))?;
    Ok(Scaled {
        deployment: format!("{ns}/{name}"),
        from,
        to: replicas,
    })
}
