//! The signed AWS client over our reqwest client: against moto's server
//! (signed REST and query calls, AWS error codes) and against the small
//! fake (throttling retried, then reported), and credentials whose debug
//! form hides the secret. The trace-level log is checked for keys in the
//! process users run (aws_lambda.rs: `cutover` itself with CUTOVER_LOG=trace):
//! a subscriber set for one thread of this test binary could miss events
//! whose interest another test's thread had cached first.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::support::aws_fake::{Answer, FakeAws};
use crate::support::moto::{self, Moto};
use crate::support::skip::{Server, skip_without};

use cutover::aws::{self, AwsClient, ErrorKind};
use cutover::config::AwsConfig;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "current_thread")]
async fn signed_calls_reach_moto_and_errors_carry_aws_codes() {
    if skip_without(
        Server::Moto,
        "signed_calls_reach_moto_and_errors_carry_aws_codes",
    ) {
        return;
    }
    let m = Moto::start();
    let c = m.client();
    let fns = c
        .rest_json(aws::LAMBDA, Method::GET, "/2015-03-31/functions", None)
        .await
        .unwrap();
    assert_eq!(fns["Functions"], json!([]));
    let who = c
        .query(
            aws::STS,
            &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
        )
        .await
        .unwrap();
    assert!(aws::xml::text(&who, "Account").is_some(), "{who}");
    let missing = c
        .rest_json(
            aws::LAMBDA,
            Method::GET,
            "/2015-03-31/functions/nope/aliases/live",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound, "{missing}");
    assert_eq!(missing.code.as_deref(), Some("ResourceNotFoundException"));
    assert_eq!(
        m.requests(),
        [
            "GET /2015-03-31/functions",
            "POST /",
            "GET /2015-03-31/functions/nope/aliases/live"
        ]
    );
    assert!(!format!("{:?}", moto::credentials()).contains(moto::SECRET));
}

#[tokio::test]
async fn throttling_is_retried_then_reported() {
    let n = std::sync::Arc::new(AtomicU32::new(0));
    let seen = n.clone();
    let fake = FakeAws::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) < 2 {
            Answer::error(429, "TooManyRequestsException", "Rate exceeded")
        } else {
            Answer::ok(json!({"Name": "live"}))
        }
    })
    .await;
    let cfg = AwsConfig {
        region: Some("eu-west-1".into()),
        endpoint_url: Some(fake.url()),
        ..Default::default()
    };
    let c = AwsClient::with_credentials(&cfg, moto::credentials()).unwrap();
    let v = c
        .rest_json(aws::LAMBDA, Method::GET, "/x", None)
        .await
        .unwrap();
    assert_eq!(v["Name"], "live");
    assert_eq!(n.load(Ordering::SeqCst), 3, "two throttled, one answered");
    let auth = fake.calls()[0].authorization.clone().unwrap();
    assert!(
        auth.contains(&format!("{}/", moto::KEY_ID)) && auth.contains("/eu-west-1/lambda/"),
        "{auth}"
    );

    let always = FakeAws::start(|_| Answer::error(400, "ThrottlingException", "slow down")).await;
    let cfg = AwsConfig {
        endpoint_url: Some(always.url()),
        ..cfg
    };
    let c = AwsClient::with_credentials(&cfg, moto::credentials()).unwrap();
    let e = c
        .json_rpc(
            aws::SAGEMAKER,
            "SageMaker.DescribeEndpoint",
            "1.1",
            &json!({}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled);
    assert_eq!(always.take_log().len(), 3, "three tries, then reported");
}
