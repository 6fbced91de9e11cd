//! The router factory: `[router]` in, a running [`TrafficRouter`] out.
//! A new router kind adds one arm here (the match is exhaustive, so the
//! compiler asks for it).

use std::sync::Arc;

use anyhow::Context;

use crate::config::RouterConfig;
use crate::demo::Fleet;
use crate::model::Split;

use super::demo::{DemoRouter, SharedSplit};
use super::{Routing, aws};

/// Pods simulated per colour in the demo: their counters are summed, as
/// for a real service.
pub const DEMO_PODS: usize = 2;

/// A router and what it needs to stay alive.
pub struct Built {
    /// The router, and the workloads behind it.
    pub router: Routing,
    /// The simulated fleet, when the router is the demo's: it is the
    /// traffic the demo router moves, and the demo source reads it. Keep it
    /// until the engine has stopped.
    pub fleet: Option<Fleet>,
}

pub async fn build(config: &RouterConfig) -> anyhow::Result<Built> {
    match config {
        RouterConfig::Demo(demo) => {
            let scenario = demo.scenario;
            let split = SharedSplit::new(Split::ZERO);
            let fleet = Fleet::start_on(
                scenario,
                demo.rps,
                DEMO_PODS,
                split.clone(),
                demo.metrics_port,
            )
            .await
            .context("cannot start the demo fleet")?;
            Ok(Built {
                router: Arc::new(DemoRouter::new(split, demo.apply_delay)).into(),
                fleet: Some(fleet),
            })
        }
        RouterConfig::Kubernetes(k) => {
            let router = super::kubernetes::KubernetesRouter::connect(k)
                .await
                .context("cannot connect to the Kubernetes cluster")?;
            tracing::info!("kubernetes router: {}", router.describe());
            Ok(Built {
                router: Arc::new(router).into(),
                fleet: None,
            })
        }
        RouterConfig::AwsLambda(c) => aws_router(super::aws::lambda::LambdaRouter::new(c)),
        RouterConfig::AwsSageMaker(c) => aws_router(super::aws::sagemaker::SageMakerRouter::new(c)),
        RouterConfig::AwsApiGateway(c) => {
            aws_router(super::aws::apigateway::ApiGatewayRouter::new(c))
        }
        RouterConfig::Nginx(nginx) => Ok(Built {
            router: Arc::new(super::nginx::NginxRouter::new(nginx.clone())?).into(),
            fleet: None,
        }),
    }
}

/// An AWS router, its client described in the log.
fn aws_router<R>(router: anyhow::Result<R>) -> anyhow::Result<Built>
where
    R: aws::AwsRouter + super::Workload + 'static,
{
    let router = router.context("cannot set up the AWS client")?;
    tracing::info!(
        "{} router: {}, {}",
        router.kind(),
        router.what(),
        router.client().describe()
    );
    Ok(Built {
        router: Arc::new(router).into(),
        fleet: None,
    })
}
