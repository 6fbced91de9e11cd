//! The Kubernetes router: moves traffic by writing the cluster's own
//! objects through the `kube` client (never kubectl). One file per mode
//! holds the pure reading and patch-building; this file does the calls.
//!
//! Every write is conditional: on the `resourceVersion` of the last read
//! (a merge patch carrying it, 409 if stale) or on JSON Patch `test` ops
//! (422 if they fail). On a conflict the object is re-read and the error
//! names the field manager that changed it and the split now in force. A
//! write to 0 % (a rollback) re-reads and retries a few times, because a
//! stale read must not block a rollback; the `Applied` detail says so, for
//! the journal, and a controller that rewrites the object every time is
//! named as such. Other API errors (a 500) are returned as they are: the
//! engine retries.

pub mod client;
mod deployments;
mod errors;
mod gateway_api;
mod ingress_nginx;
mod service_selector;

use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

pub use deployments::Scaled;
use errors::{Failure, classify, last_manager};

use crate::config::{KubernetesConfig, KubernetesMode};
use crate::model::{Color, Split};
use crate::router::{
    Applied, Capabilities, ROLLBACK_TRIES, Readiness, Revision, RouterError, RouterRead,
    TrafficRouter, Workload, WriteRequest, rollback_goes_on,
};

/// The field manager the cockpit writes as: what `managedFields` and
/// another operator's conflict message will name.
pub const FIELD_MANAGER: &str = "cutover";

enum Mode {
    Selector(service_selector::Selector),
    Ingress,
    Gateway(gateway_api::Route),
}

/// What a write needs from a read besides the revision.
#[derive(Debug, Clone)]
enum Layout {
    Selector,
    Ingress(ingress_nginx::Canary),
    Gateway(gateway_api::Backends),
}

/// One read of the object that carries the split.
#[derive(Debug, Clone)]
struct Seen {
    split: Split,
    revision: String,
    layout: Layout,
}

/// A read and who wrote the object last.
struct Look {
    seen: Seen,
    who: Option<String>,
}

pub struct KubernetesRouter {
    mode: Mode,
    kind: KubernetesMode,
    target: Api<DynamicObject>,
    name: String,
    /// `Service ml/chat-model`, for messages.
    what: String,
    namespace: String,
    deployments: Api<Deployment>,
    blue_deployment: String,
    green_deployment: String,
    scale_down_green_on_rollback: bool,
    /// The last read or write: a write conditioned on this revision needs
    /// no read first, so a rollback is one PATCH.
    last: Mutex<Option<Seen>>,
    describe: String,
}

impl KubernetesRouter {
    /// Connects as kubectl would (kubeconfig with `context`, else
    /// in-cluster) and checks nothing yet: the engine's first read does.
    pub async fn connect(cfg: &KubernetesConfig) -> anyhow::Result<Self> {
        Self::connect_with(cfg, None).await
    }

    /// As [`connect`](Self::connect), with the kubeconfig file named.
    pub async fn connect_with(
        cfg: &KubernetesConfig,
        kubeconfig: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let conn = client::connect(cfg, kubeconfig).await?;
        Self::new(cfg, conn)
    }

    fn new(cfg: &KubernetesConfig, conn: client::Connection) -> anyhow::Result<Self> {
        cfg.validate()
            .map_err(|(key, msg)| anyhow::anyhow!("{key}: {msg}"))?;
        let ns = conn.namespace.clone();
        // Checked by validate for the mode; a gap here is said, not a panic.
        fn need<T: Clone>(v: &Option<T>, key: &str) -> anyhow::Result<T> {
            v.clone()
                .ok_or_else(|| anyhow::anyhow!("router.kubernetes.{key} is missing"))
        }
        let (mode, resource, name) = match cfg.mode {
            KubernetesMode::ServiceSelector => (
                Mode::Selector(service_selector::Selector {
                    blue: need(&cfg.blue_selector, "blue_selector")?,
                    green: need(&cfg.green_selector, "green_selector")?,
                }),
                ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Service")),
                need(&cfg.service, "service")?,
            ),
            KubernetesMode::IngressNginx => (
                Mode::Ingress,
                ApiResource::from_gvk(&GroupVersionKind::gvk("networking.k8s.io", "v1", "Ingress")),
                need(&cfg.canary_ingress, "canary_ingress")?,
            ),
            KubernetesMode::GatewayApi => (
                Mode::Gateway(gateway_api::Route {
                    rule: cfg.rule,
                    blue_backend: need(&cfg.blue_backend, "blue_backend")?,
                    green_backend: need(&cfg.green_backend, "green_backend")?,
                }),
                ApiResource::from_gvk(&GroupVersionKind::gvk(
                    "gateway.networking.k8s.io",
                    "v1",
                    "HTTPRoute",
                )),
                need(&cfg.httproute, "httproute")?,
            ),
        };
        Ok(KubernetesRouter {
            what: format!("{} {ns}/{name}", resource.kind),
            target: Api::namespaced_with(conn.client.clone(), &ns, &resource),
            deployments: Api::namespaced(conn.client, &ns),
            mode,
            kind: cfg.mode,
            name,
            namespace: ns,
            blue_deployment: cfg.blue_deployment.clone(),
            green_deployment: cfg.green_deployment.clone(),
            scale_down_green_on_rollback: cfg.scale_down_green_on_rollback,
            last: Mutex::new(None),
            describe: conn.describe,
        })
    }

    /// Where the router is connected: cluster, context, namespace.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    pub fn mode(&self) -> KubernetesMode {
        self.kind
    }

    fn parse(&self, object: &DynamicObject) -> Result<Seen, RouterError> {
        let revision = object.metadata.resource_version.clone().ok_or_else(|| {
            RouterError::Unreadable(format!("{} has no resourceVersion", self.what))
        })?;
        let value = serde_json::to_value(object)
            .map_err(|e| RouterError::Unreadable(format!("{}: {e}", self.what)))?;
        let parsed = match &self.mode {
            Mode::Selector(s) => s.read(&value).map(|split| (split, Layout::Selector)),
            Mode::Ingress => ingress_nginx::read(&value).map(|(s, c)| (s, Layout::Ingress(c))),
            Mode::Gateway(r) => r.read(&value).map(|(s, b)| (s, Layout::Gateway(b))),
        };
        let (split, layout) =
            parsed.map_err(|e| RouterError::Unreadable(format!("{}: {e}", self.what)))?;
        Ok(Seen {
            split,
            revision,
            layout,
        })
    }

    fn remember(&self, seen: Option<&Seen>) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = seen.cloned();
    }

    fn remembered(&self, revision: &str) -> Option<Seen> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref().filter(|s| s.revision == revision).cloned()
    }

    /// GET the object, parse it, remember it.
    async fn look(&self) -> Result<Look, RouterError> {
        let object = self.target.get(&self.name).await.map_err(|e| {
            match classify(&self.what, false, e) {
                Failure::Conflict(m) => RouterError::Unreadable(m),
                Failure::Other(e) => e,
            }
        })?;
        let seen = self.parse(&object);
        self.remember(seen.as_ref().ok());
        Ok(Look {
            seen: seen?,
            who: last_manager(&object.metadata),
        })
    }

    fn conflict_text(&self, expected: &str, now: &Look) -> String {
        let by = match &now.who {
            Some(w) => format!("by {w}"),
            None => "(the server keeps no managedFields to say by whom)".into(),
        };
        format!(
            "{} was changed {by}: resourceVersion {expected} -> {}; the split is now {}",
            self.what, now.seen.revision, now.seen.split
        )
    }

    /// The one conditional PATCH that sets `split` on top of `base`.
    async fn patch(&self, split: Split, base: &Seen) -> Result<Seen, Failure> {
        let rv = base.revision.as_str();
        let pp = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        let patch: Patch<Value> = match (&self.mode, &base.layout) {
            (Mode::Selector(s), _) => Patch::Merge(s.patch(split, rv)),
            (Mode::Ingress, Layout::Ingress(c)) => Patch::Merge(c.patch(split, rv)),
            (Mode::Gateway(r), Layout::Gateway(at)) => {
                let ops = r.patch(split, rv, at);
                Patch::Json(serde_json::from_value(ops).map_err(|e| {
                    Failure::Other(RouterError::Rejected(format!("JSON Patch: {e}")))
                })?)
            }
            _ => {
                return Err(Failure::Other(RouterError::Unreadable(
                    "the last read does not fit this mode".into(),
                )));
            }
        };
        let object = self
            .target
            .patch(&self.name, &pp, &patch)
            .await
            .map_err(|e| classify(&self.what, true, e))?;
        let seen = self.parse(&object).map_err(|e| {
            Failure::Other(RouterError::Unreadable(format!(
                "written, but the answer cannot be read back: {e}"
            )))
        });
        self.remember(seen.as_ref().ok());
        seen
    }

    /// Writes `split` conditionally on `base`. A rollback that loses to a
    /// concurrent change re-reads and tries again, up to
    /// [`ROLLBACK_TRIES`] times in all, each on a fresh read; a controller
    /// that rewrites the object every time still wins, and the error says
    /// so. Anything else stops at the first conflict.
    async fn write_on(
        &self,
        split: Split,
        mut base: Seen,
        mut retried: Option<String>,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<Applied, RouterError> {
        let mut lost = 0;
        loop {
            // The last safe point: once the PATCH is sent it is finished.
            if cancel.is_cancelled() {
                return Err(RouterError::Cancelled);
            }
            match self.patch(split, &base).await {
                Ok(now) => return Ok(self.applied(&base, now, lost, retried.as_deref())),
                Err(Failure::Conflict(server)) => {
                    let look = self.look().await?;
                    let text = format!(
                        "{} (server: {server})",
                        self.conflict_text(&base.revision, &look)
                    );
                    lost += 1;
                    retried = Some(crate::router::after_conflict(
                        text,
                        split,
                        lost,
                        ROLLBACK_TRIES,
                        "a controller keeps changing it (stop it, or change its source of \
                         truth, so that the rollback can land)",
                    )?);
                    base = look.seen;
                }
                Err(Failure::Other(e)) => return Err(e),
            }
        }
    }

    /// What a landed write reports: the PATCH, and the conflicts a
    /// rollback went through on its way.
    fn applied(&self, base: &Seen, now: Seen, lost: u32, retried: Option<&str>) -> Applied {
        let mut detail = format!(
            "PATCH {} as `{FIELD_MANAGER}` (resourceVersion {} -> {})",
            self.what, base.revision, now.revision
        );
        if let Some(r) = retried {
            let times = match lost {
                0 | 1 => "once after a conflict".to_string(),
                n => format!("{n} times after conflicts"),
            };
            detail.push_str(&format!("; rollback re-read {times} and retried: {r}"));
        }
        if let Layout::Ingress(c) = &now.layout
            && let Some(n) = c.note()
        {
            detail.push_str(&format!("; {n}"));
        }
        Applied {
            split: now.split,
            revision: Some(Revision(now.revision)),
            detail,
        }
    }

    /// Scales one colour's Deployment through `deployments/scale`. The
    /// caller journals the outcome.
    pub async fn scale(&self, color: Color, replicas: u32) -> Result<Scaled, RouterError> {
        let name = match color {
            Color::Blue => &self.blue_deployment,
            Color::Green => &self.green_deployment,
        };
        deployments::scale(
            &self.deployments,
            &self.namespace,
            name,
            replicas,
            FIELD_MANAGER,
        )
        .await
    }

    /// After a rollback: scales green to 0 when
    /// `scale_down_green_on_rollback` is set, else does nothing (`None`).
    pub async fn after_rollback(&self) -> Result<Option<Scaled>, RouterError> {
        if !self.scale_down_green_on_rollback {
            return Ok(None);
        }
        self.scale(Color::Green, 0).await.map(Some)
    }

    /// Decommission blue: scales blue to 0, refused unless the router reads
    /// 100 % green (blue must carry no traffic). The caller confirms it and
    /// checks the standby window.
    pub async fn decommission_blue(&self) -> Result<Scaled, RouterError> {
        let now = self.look().await?.seen;
        if now.split != Split::FULL {
            return Err(RouterError::Rejected(format!(
                "blue still takes {}% of the traffic ({} reads {}); decommission only at 100% green",
                now.split.blue(),
                self.what,
                now.split
            )));
        }
        self.scale(Color::Blue, 0).await
    }
}

#[async_trait]
impl TrafficRouter for KubernetesRouter {
    fn kind(&self) -> &'static str {
        match self.kind {
            KubernetesMode::ServiceSelector => "k8s service",
            KubernetesMode::IngressNginx => "k8s ingress-nginx",
            KubernetesMode::GatewayApi => "k8s httproute",
        }
    }

    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        let look = self.look().await?;
        Ok(RouterRead {
            split: look.seen.split,
            revision: Some(Revision(look.seen.revision)),
        })
    }

    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        let split = req.split;
        if !self.capabilities().can_set(split) {
            return Err(RouterError::Unsupported(format!(
                "mode `{}` only flips between 0% and 100%; {split} needs a mode that can weight \
                 traffic: {}",
                self.kind.name(),
                KubernetesMode::WEIGHTING
            )));
        }
        if req.cancel.is_cancelled() {
            return Err(RouterError::Cancelled);
        }
        // A rollback must not be blocked by a stale read: it re-reads and
        // retries (see `write_on`). Anything else stops at the first conflict.
        let mut retried: Option<String> = None;
        let base = match &req.expected {
            Some(exp) => match (&self.mode, self.remembered(&exp.0)) {
                (_, Some(seen)) => seen,
                // A selector flip needs nothing from a read but the revision.
                (Mode::Selector(_), None) => Seen {
                    split,
                    revision: exp.0.clone(),
                    layout: Layout::Selector,
                },
                (_, None) => {
                    let look = self.look().await?;
                    if look.seen.revision != exp.0 {
                        let text = self.conflict_text(&exp.0, &look);
                        retried = Some(rollback_goes_on(text, split)?);
                    }
                    look.seen
                }
            },
            // Unconditional in the request, conditional on the wire.
            None => self.look().await?.seen,
        };
        self.write_on(split, base, retried, &req.cancel).await
    }

    fn capabilities(&self) -> Capabilities {
        match self.kind {
            KubernetesMode::ServiceSelector => Capabilities::Only(vec![0, 100]),
            _ => Capabilities::AnySplit,
        }
    }
}

/// The Deployments behind the route: their replicas, green scaled down
/// after a rollback where configured, blue retired after a promotion.
#[async_trait]
impl Workload for KubernetesRouter {
    async fn readiness(&self) -> Result<Readiness, RouterError> {
        let (blue, green) = tokio::try_join!(
            deployments::read(&self.deployments, &self.namespace, &self.blue_deployment),
            deployments::read(&self.deployments, &self.namespace, &self.green_deployment),
        )?;
        Ok(Readiness {
            blue: Some(blue),
            green: Some(green),
        })
    }

    async fn after_rollback(&self) -> Result<Option<String>, RouterError> {
        Ok(KubernetesRouter::after_rollback(self)
            .await?
            .map(|scaled| scaled.to_string()))
    }

    fn can_decommission_blue(&self) -> bool {
        true
    }

    async fn decommission_blue(&self) -> Result<String, RouterError> {
        KubernetesRouter::decommission_blue(self)
            .await
            .map(|scaled| scaled.to_string())
    }
}
