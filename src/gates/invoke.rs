//! A smoke check whose `url` is a Lambda version's ARN: one synchronous
//! Invoke of that version with `body` as the payload, through the signed
//! AWS client and `[aws]`'s credentials, in the ARN's own region. The
//! function's answer is judged like an HTTP body; a function that failed
//! (Lambda answers 200 with `X-Amz-Function-Error`) fails the check with
//! its error, whatever the expectations say.

use std::time::Duration;

use crate::aws::AwsClient;
use crate::config::{AwsConfig, LambdaArn};

use super::expect::{Expectation, excerpt};
// As much of the function's answer as of an HTTP body (Lambda allows 6 MB).
use super::smoke::MAX_BODY;

pub struct Invoke {
    arn: LambdaArn,
    client: AwsClient,
}

impl std::fmt::Debug for Invoke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Invoke({})", self.arn.arn)
    }
}

impl Invoke {
    /// A client for the ARN's region with `[aws]`'s other settings, each
    /// call cut off at the check's `timeout`.
    pub fn new(arn: LambdaArn, aws: &AwsConfig, timeout: Duration) -> Result<Invoke, String> {
        let cfg = AwsConfig {
            region: Some(arn.region.clone()),
            ..aws.clone()
        };
        let client = AwsClient::with_timeout(&cfg, timeout).map_err(|e| format!("{e:#}"))?;
        Ok(Invoke { arn, client })
    }

    /// Invokes the version; `Ok(summary)` when its answer passes.
    pub async fn run(&self, payload: String, expect: &Expectation) -> Result<String, String> {
        let answer = self
            .client
            .invoke(&self.arn.arn, payload.into_bytes())
            .await
            .map_err(|e| format!("Invoke {}:{}: {e}", self.arn.function, self.arn.qualifier))?;
        let body = &answer.body[..answer.body.len().min(MAX_BODY)];
        let body = String::from_utf8_lossy(body);
        if let Some(kind) = answer.headers.get("x-amz-function-error") {
            let kind = kind.to_str().unwrap_or("error");
            return Err(format!(
                "version {} of {} failed ({kind}){}",
                self.arn.qualifier,
                self.arn.function,
                excerpt(&body)
            ));
        }
        expect
            .judge(answer.status, &body)
            .map(|ok| format!("invoked version {}: {ok}", self.arn.qualifier))
    }
}
