//! `aws-sagemaker`: the weights of an endpoint's blue and green production
//! variants, set with `UpdateEndpointWeightsAndCapacities` (always with
//! each variant's desired instance count). SageMaker then goes `Updating`
//! until the new weights serve (`InService`): while it does, a read is
//! refused with the status, so the header shows `Updating` and nothing
//! advances on a split in transition; a write waits for `InService` first
//! (SageMaker refuses updates to an updating endpoint); the verification
//! waits for `InService` and compares the weights served.
//!
//! SageMaker keeps no revision, so a write reads first and compares the
//! weights and counts it finds with the engine's revision: an advance on a
//! changed endpoint is refused; a rollback is written anyway (said in the
//! journal). After a rollback, green's instance count goes to 0 where the
//! config asks (`scale_down_green_on_rollback`), as the Kubernetes router
//! scales its Deployment; after a promotion, `decommission` takes blue's
//! to 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::sagemaker_endpoint::{self as ep, Endpoint};
use super::{AwsRouter, router_error};
use crate::aws::{AwsClient, SAGEMAKER};
use crate::config::AwsSageMakerConfig;
use crate::model::{Color, Split};
use crate::router::{
    Applied, Readiness, Replicas, Revision, RouterError, RouterRead, TrafficRouter, Verification,
    Workload, WriteRequest, rollback_goes_on,
};

pub struct SageMakerRouter {
    client: Arc<AwsClient>,
    cfg: AwsSageMakerConfig,
    what: String,
}

impl SageMakerRouter {
    pub fn new(cfg: &AwsSageMakerConfig) -> anyhow::Result<Self> {
        Ok(Self::with_client(cfg, Arc::new(AwsClient::new(&cfg.aws)?)))
    }

    pub fn with_client(cfg: &AwsSageMakerConfig, client: Arc<AwsClient>) -> Self {
        SageMakerRouter {
            client,
            what: format!("endpoint {}", cfg.endpoint),
            cfg: cfg.clone(),
        }
    }

    async fn call(&self, op: &str, body: &Value, writing: bool) -> Result<Value, RouterError> {
        self.client
            .json_rpc(SAGEMAKER, &format!("SageMaker.{op}"), "1.1", body)
            .await
            .map_err(|e| router_error(&self.what, e, writing))
    }

    /// DescribeEndpoint, read as blue's and green's variants.
    async fn describe(&self) -> Result<Endpoint, RouterError> {
        let v = self
            .call(
                "DescribeEndpoint",
                &json!({"EndpointName": self.cfg.endpoint}),
                false,
            )
            .await?;
        ep::read(&v, &self.cfg.blue_variant, &self.cfg.green_variant)
            .map_err(|e| RouterError::Unreadable(format!("{}: {e}", self.what)))
    }

    /// Polls until the endpoint is `InService`, within `update_timeout`;
    /// stops at `cancel` (before anything is written).
    async fn in_service(
        &self,
        cancel: Option<&CancellationToken>,
    ) -> Result<Endpoint, RouterError> {
        let deadline = Instant::now() + self.cfg.update_timeout;
        loop {
            let e = self.describe().await?;
            if e.in_service() {
                return Ok(e);
            }
            if Instant::now() >= deadline {
                return Err(RouterError::Unavailable(format!(
                    "{} still {} after {}",
                    self.what,
                    e.status,
                    humantime::format_duration(self.cfg.update_timeout)
                )));
            }
            let pause = tokio::time::sleep(self.cfg.poll_interval);
            match cancel {
                Some(c) => tokio::select! {
                    _ = c.cancelled() => return Err(RouterError::Cancelled),
                    _ = pause => {}
                },
                None => pause.await,
            }
        }
    }

    /// One UpdateEndpointWeightsAndCapacities on top of `now`, read back;
    /// `scale` sets one colour's desired instance count.
    async fn update(
        &self,
        now: &Endpoint,
        split: Split,
        scale: Option<(Color, u32)>,
    ) -> Result<Endpoint, RouterError> {
        let names = (
            self.cfg.blue_variant.as_str(),
            self.cfg.green_variant.as_str(),
        );
        let body = ep::update_body(&self.cfg.endpoint, names, now, split, scale);
        self.call("UpdateEndpointWeightsAndCapacities", &body, true)
            .await?;
        self.describe().await.map_err(|e| {
            RouterError::Unreadable(format!("written, but it cannot be read back: {e}"))
        })
    }

    /// `Updating (weights being applied: blue 1.00, green 0.00)`.
    fn status_text(&self, e: &Endpoint) -> String {
        format!(
            "{} is {} (weights being applied: blue {:.2}, green {:.2})",
            self.what, e.status, e.blue.desired_weight, e.green.desired_weight
        )
    }
}

#[async_trait]
impl TrafficRouter for SageMakerRouter {
    fn kind(&self) -> &'static str {
        "aws-sagemaker"
    }

    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        let e = self.describe().await?;
        if !e.in_service() {
            return Err(RouterError::Unavailable(self.status_text(&e)));
        }
        Ok(RouterRead {
            split: e.split,
            revision: Some(Revision(e.revision())),
        })
    }

    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        let split = req.split;
        let started = Instant::now();
        let now = self.in_service(Some(&req.cancel)).await?;
        let waited = started.elapsed();
        let mut notes = Vec::new();
        if waited >= self.cfg.poll_interval {
            notes.push(format!(
                "waited {} for InService",
                humantime::format_duration(round(waited))
            ));
        }
        if let Some(exp) = &req.expected
            && exp.0 != now.revision()
        {
            let text = format!(
                "{} was changed: weights and counts {} -> {}; the split is now {}",
                self.what,
                exp.0,
                now.revision(),
                now.split
            );
            let text = rollback_goes_on(text, split)?;
            notes.push(format!("the rollback was written over a change: {text}"));
        }
        // The last safe point: once the update is sent it is finished.
        if req.cancel.is_cancelled() {
            return Err(RouterError::Cancelled);
        }
        let after = self.update(&now, split, None).await?;
        let mut detail = format!(
            "UpdateEndpointWeightsAndCapacities {} (blue {:.2} x{}, green {:.2} x{}); {}",
            self.what,
            after.blue.desired_weight,
            after.blue.desired_count,
            after.green.desired_weight,
            after.green.desired_count,
            after.status
        );
        for n in notes {
            detail.push_str(&format!("; {n}"));
        }
        Ok(Applied {
            split: after.desired,
            revision: Some(Revision(after.revision())),
            detail,
        })
    }

    /// Waits for `InService`, then compares the weights served.
    async fn verify(&self, split: Split) -> Result<Verification, RouterError> {
        let started = Instant::now();
        let e = self.in_service(None).await?;
        Ok(Verification {
            ok: e.split == split,
            served: None,
            detail: format!(
                "InService after {}, serving green {}%",
                humantime::format_duration(round(started.elapsed())),
                e.split.green()
            ),
        })
    }
}

/// To tenths of a second, for messages.
fn round(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64 / 100 * 100)
}

/// The variants' instances: read for readiness, green's scaled to 0 after
/// a rollback where configured.
#[async_trait]
impl Workload for SageMakerRouter {
    async fn readiness(&self) -> Result<Readiness, RouterError> {
        let e = self.describe().await?;
        let r = |v: &ep::Variant| Replicas {
            ready: v.current_count,
            desired: v.desired_count,
        };
        Ok(Readiness {
            blue: Some(r(&e.blue)),
            green: Some(r(&e.green)),
        })
    }

    async fn after_rollback(&self) -> Result<Option<String>, RouterError> {
        if !self.cfg.scale_down_green_on_rollback {
            return Ok(None);
        }
        let now = self.in_service(None).await?;
        if now.split != Split::ZERO || now.desired != Split::ZERO {
            return Err(RouterError::Rejected(format!(
                "green still has traffic ({} serves green {}%): not scaled down",
                self.what,
                now.split.green()
            )));
        }
        let before = now.green.desired_count;
        self.update(&now, Split::ZERO, Some((Color::Green, 0)))
            .await?;
        Ok(Some(format!(
            "variant {} of {}: desired instances {before} -> 0",
            self.cfg.green_variant, self.what
        )))
    }

    fn can_decommission_blue(&self) -> bool {
        true
    }

    /// Blue's desired instance count to 0, its weight staying 0: refused
    /// unless the endpoint serves green all the traffic and is asked to.
    async fn decommission_blue(&self) -> Result<String, RouterError> {
        let now = self.in_service(None).await?;
        if now.split != Split::FULL || now.desired != Split::FULL {
            return Err(RouterError::Rejected(format!(
                "blue still takes {}% of the traffic ({} serves green {}%); decommission only at 100% green",
                now.split.blue(),
                self.what,
                now.split.green()
            )));
        }
        let before = now.blue.desired_count;
        self.update(&now, Split::FULL, Some((Color::Blue, 0)))
            .await?;
        Ok(format!(
            "variant {} of {}: desired instances {before} -> 0",
            self.cfg.blue_variant, self.what
        ))
    }
}

impl AwsRouter for SageMakerRouter {
    fn client(&self) -> &AwsClient {
        &self.client
    }

    fn what(&self) -> &str {
        &self.what
    }
}
