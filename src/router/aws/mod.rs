//! The AWS routers: a Lambda alias's routing config, a SageMaker endpoint's
//! variant weights, an API Gateway stage's variable and canary. Each is
//! built from its `[router.aws-*]` table (with `[aws]` copied in) over the
//! one signed client of [`crate::aws`].
//!
//! What each API offers for the write contract differs: Lambda checks a
//! `RevisionId` on the server, so its writes are conditional there;
//! SageMaker and API Gateway have no revision, so a write reads first and
//! compares what it read with the engine's revision (a fingerprint of the
//! fields that carry the split), which leaves a window of one round trip.

pub mod apigateway;
mod apigateway_stage;
pub mod lambda;
pub mod sagemaker;
mod sagemaker_endpoint;

use crate::aws::{AwsClient, AwsError, ErrorKind};
use crate::config::RouterConfig;
use crate::model::Split;
use crate::router::{RouterError, TrafficRouter};

/// An AWS error as the engine reads it. `writing`: a refusal means the
/// change was not made (rejected); on a read it means the state is unknown.
pub fn router_error(what: &str, e: AwsError, writing: bool) -> RouterError {
    let text = format!("{what}: {e}");
    match e.kind {
        ErrorKind::Network | ErrorKind::Server | ErrorKind::Throttled | ErrorKind::Credentials => {
            RouterError::Unavailable(text)
        }
        ErrorKind::Conflict => RouterError::Conflict(text),
        ErrorKind::Unreadable => RouterError::Unreadable(text),
        ErrorKind::NotFound | ErrorKind::Denied | ErrorKind::Invalid => {
            if writing {
                RouterError::Rejected(text)
            } else {
                RouterError::Unavailable(text)
            }
        }
    }
}

/// A weight in 0..=1 (Lambda's, SageMaker's ratio) as green's percentage.
pub fn percent(weight: f64) -> Option<Split> {
    if !(0.0..=1.0).contains(&weight) {
        return None;
    }
    Split::new((weight * 100.0).round() as u8)
}

/// What every AWS router tells `cutover check`.
pub trait AwsRouter: TrafficRouter {
    fn client(&self) -> &AwsClient;
    /// `alias live of function chat-model`.
    fn what(&self) -> &str;
}

/// Builds the AWS router of `config`; `None` for other routers.
fn build(config: &RouterConfig) -> Option<anyhow::Result<Box<dyn AwsRouter>>> {
    fn boxed<R: AwsRouter + 'static>(r: anyhow::Result<R>) -> anyhow::Result<Box<dyn AwsRouter>> {
        r.map(|r| Box::new(r) as Box<dyn AwsRouter>)
    }
    Some(match config {
        RouterConfig::AwsLambda(c) => boxed(lambda::LambdaRouter::new(c)),
        RouterConfig::AwsSageMaker(c) => boxed(sagemaker::SageMakerRouter::new(c)),
        RouterConfig::AwsApiGateway(c) => boxed(apigateway::ApiGatewayRouter::new(c)),
        _ => return None,
    })
}

/// What `cutover check` prints for an AWS router: where it reaches AWS,
/// whose credentials, and what it reads. `None` for other routers.
pub async fn check(config: &RouterConfig) -> Option<(Vec<String>, bool)> {
    let kind = config.kind();
    let router = match build(config)? {
        Ok(r) => r,
        Err(e) => return Some((vec![format!("{kind}: {e:#}")], false)),
    };
    let mut lines = vec![format!(
        "{kind}: {}, {}",
        router.what(),
        router.client().describe()
    )];
    match router.client().credentials_from().await {
        Ok(from) => lines.push(format!("{kind}: credentials from {from}")),
        Err(e) => {
            lines.push(format!("{kind}: no credentials: {e}"));
            return Some((lines, false));
        }
    }
    let ok = match router.get_split().await {
        Ok(read) => {
            let rev = read
                .revision
                .map(|r| format!(" (revision {r})"))
                .unwrap_or_default();
            lines.push(format!("{kind}: reads green {}%{rev}", read.split.green()));
            true
        }
        Err(e) => {
            lines.push(format!("{kind}: cannot read: {e}"));
            false
        }
    };
    Some((lines, ok))
}
