//! Running smoke checks: one HTTP request each, through the project's one
//! client builder, or one Lambda invocation of green's version
//! ([`super::invoke`]), with the check's own timeout, its answer judged by
//! [`Expectation::judge`].

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::config::{AwsConfig, LambdaArn, SmokeCheck};
use crate::http::{HttpClient, HttpOptions};

use super::expect::Expectation;
use super::invoke::Invoke;

/// The most of a body read to judge it: an answer is a few KiB; a stream
/// that never ends must not fill memory.
pub(super) const MAX_BODY: usize = 1024 * 1024;

/// A smoke check ready to run: its client built, its pattern compiled.
#[derive(Debug)]
pub struct Prepared {
    pub name: String,
    body: Option<String>,
    timeout: Duration,
    expect: Expectation,
    target: Target,
}

/// What a check asks.
#[derive(Debug)]
enum Target {
    Http {
        method: reqwest::Method,
        url: String,
        client: Box<HttpClient>,
    },
    Lambda(Box<Invoke>),
}

/// One finished check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    pub reason: String,
    pub latency: Duration,
}

/// Builds the checks' clients; fails (naming the check) where the config
/// loader would have refused. `aws` is `[aws]`, for checks that invoke a
/// Lambda version.
pub fn prepare(checks: &[SmokeCheck], aws: Option<&AwsConfig>) -> Result<Vec<Prepared>, String> {
    checks
        .iter()
        .map(|c| {
            let fail = |e: String| format!("smoke check `{}`: {e}", c.name);
            let target = match LambdaArn::parse(&c.url) {
                Some(arn) => {
                    let arn = arn.map_err(fail)?;
                    let aws = aws.cloned().unwrap_or_default();
                    Target::Lambda(Box::new(Invoke::new(arn, &aws, c.timeout).map_err(fail)?))
                }
                None => http_target(c).map_err(fail)?,
            };
            Ok(Prepared {
                name: c.name.clone(),
                body: c.body.clone(),
                timeout: c.timeout,
                expect: Expectation::of(c).map_err(fail)?,
                target,
            })
        })
        .collect()
}

fn http_target(c: &SmokeCheck) -> Result<Target, String> {
    let client = HttpClient::build(&HttpOptions {
        timeout: c.timeout,
        headers: c
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..HttpOptions::default()
    })
    .map_err(|e| format!("{e:#}"))?;
    let method = reqwest::Method::from_bytes(c.method.as_bytes())
        .map_err(|_| format!("`{}` is not a method", c.method))?;
    Ok(Target::Http {
        method,
        url: c.url.clone(),
        client: Box::new(client),
    })
}

/// Runs every check at once; results in the checks' order.
pub async fn run_all(checks: &[Prepared]) -> Vec<Verdict> {
    join_all(checks.iter().map(run_one)).await
}

/// Runs one check. Never fails: every problem is a failed verdict with its
/// reason.
pub async fn run_one(p: &Prepared) -> Verdict {
    let started = Instant::now();
    // The client's timeout covers the whole request; this one is a backstop
    // for a body that trickles in forever.
    let r = tokio::time::timeout(p.timeout, request(p)).await;
    let latency = started.elapsed();
    let result = match r {
        Ok(r) => r,
        Err(_) => Err(format!(
            "timed out after {}",
            crate::format::span(p.timeout)
        )),
    };
    match result {
        Ok(summary) => Verdict {
            passed: true,
            reason: summary,
            latency,
        },
        Err(reason) => Verdict {
            passed: false,
            reason,
            latency,
        },
    }
}

async fn request(p: &Prepared) -> Result<String, String> {
    let (method, url, client) = match &p.target {
        Target::Http {
            method,
            url,
            client,
        } => (method, url, client),
        Target::Lambda(invoke) => {
            let payload = p.body.clone().unwrap_or_else(|| "{}".into());
            return invoke.run(payload, &p.expect).await;
        }
    };
    let headers = client.headers().map_err(|e| format!("{e:#}"))?;
    let mut req = client
        .client()
        .request(method.clone(), url)
        .headers(headers);
    if let Some(b) = &p.body {
        req = req.body(b.clone());
    }
    let mut resp = req.send().await.map_err(|e| describe(&e, p.timeout))?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        match resp.chunk().await.map_err(|e| describe(&e, p.timeout))? {
            Some(c) => body.extend_from_slice(&c),
            None => break,
        }
    }
    body.truncate(MAX_BODY);
    p.expect.judge(status, &String::from_utf8_lossy(&body))
}

/// A request error in a few words, without the URL (it is on screen
/// already and may carry a token in its query).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {}", crate::format::span(timeout));
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{what}: {cause}")
}
