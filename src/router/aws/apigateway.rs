//! `aws-apigateway`: a REST API stage. All or nothing (`steps = [100]`)
//! switches the stage variable (`replace /variables/NAME`); a weighted
//! step is a canary on the stage whose variable override points at green
//! for `percentTraffic` % of the requests. 0 and 100 % remove the canary.
//!
//! API Gateway keeps no revision for a stage: a write reads the stage
//! first and compares the variable and canary with the engine's revision
//! (an advance on a changed stage is refused; a rollback is written anyway
//! and says so). The answer to `UpdateStage` is the stage as written,
//! read back; the verification reads it again.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;

use super::apigateway_stage::{self as st, Names, Stage};
use super::{AwsRouter, router_error};
use crate::aws::{APIGATEWAY, AwsClient, seg};
use crate::config::AwsApiGatewayConfig;
use crate::router::{
    Applied, Revision, RouterError, RouterRead, TrafficRouter, Workload, WriteRequest,
    rollback_goes_on,
};

pub struct ApiGatewayRouter {
    client: Arc<AwsClient>,
    cfg: AwsApiGatewayConfig,
    path: String,
    what: String,
}

impl ApiGatewayRouter {
    pub fn new(cfg: &AwsApiGatewayConfig) -> anyhow::Result<Self> {
        Ok(Self::with_client(cfg, Arc::new(AwsClient::new(&cfg.aws)?)))
    }

    pub fn with_client(cfg: &AwsApiGatewayConfig, client: Arc<AwsClient>) -> Self {
        ApiGatewayRouter {
            client,
            path: format!(
                "/restapis/{}/stages/{}",
                seg(&cfg.rest_api_id),
                seg(&cfg.stage)
            ),
            what: format!("stage {} of REST API {}", cfg.stage, cfg.rest_api_id),
            cfg: cfg.clone(),
        }
    }

    fn names(&self) -> Names<'_> {
        Names {
            variable: &self.cfg.variable,
            blue: &self.cfg.blue_value,
            green: &self.cfg.green_value,
        }
    }

    fn parse(&self, v: &Value) -> Result<Stage, RouterError> {
        st::read(v, &self.names())
            .map_err(|e| RouterError::Unreadable(format!("{}: {e}", self.what)))
    }

    async fn look(&self) -> Result<Stage, RouterError> {
        let v = self
            .client
            .rest_json(APIGATEWAY, Method::GET, &self.path, None)
            .await
            .map_err(|e| router_error(&self.what, e, false))?;
        self.parse(&v)
    }
}

#[async_trait]
impl TrafficRouter for ApiGatewayRouter {
    fn kind(&self) -> &'static str {
        "aws-apigateway"
    }

    async fn get_split(&self) -> Result<RouterRead, RouterError> {
        let s = self.look().await?;
        Ok(RouterRead {
            split: s.split,
            revision: Some(Revision(s.revision)),
        })
    }

    async fn set_split(&self, req: WriteRequest) -> Result<Applied, RouterError> {
        let split = req.split;
        let now = self.look().await?;
        let mut note = String::new();
        if let Some(exp) = &req.expected
            && exp.0 != now.revision
        {
            let text = format!(
                "{} was changed: {} -> {}; the split is now {}",
                self.what, exp.0, now.revision, now.split
            );
            let text = rollback_goes_on(text, split)?;
            note = format!("; the rollback was written over a change: {text}");
        }
        // The last safe point: once the PATCH is sent it is finished.
        if req.cancel.is_cancelled() {
            return Err(RouterError::Cancelled);
        }
        let body = st::patch(split, &now, &self.names());
        let v = self
            .client
            .rest_json(APIGATEWAY, Method::PATCH, &self.path, Some(&body))
            .await
            .map_err(|e| router_error(&self.what, e, true))?;
        let after = self.parse(&v).map_err(|e| {
            RouterError::Unreadable(format!("written, but the answer cannot be read: {e}"))
        })?;
        let how = match split.green() {
            0 | 100 => format!(
                "{} = {}",
                self.cfg.variable, v["variables"][&self.cfg.variable]
            ),
            g => format!(
                "canary {g}% with {} = {}",
                self.cfg.variable, self.cfg.green_value
            ),
        };
        Ok(Applied {
            split: after.split,
            revision: Some(Revision(after.revision)),
            detail: format!("UpdateStage {}: {how}{note}", self.what),
        })
    }
}

/// A stage has no replicas to read or scale.
impl Workload for ApiGatewayRouter {}

impl AwsRouter for ApiGatewayRouter {
    fn client(&self) -> &AwsClient {
        &self.client
    }

    fn what(&self) -> &str {
        &self.what
    }
}
