//! Running smoke checks: one HTTP request each, through the project's one
//! client builder, with the check's own timeout, its answer judged by
//! [`Expectation::judge`].

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::config::SmokeCheck;
use crate::http::{HttpClient, HttpOptions};

use super::expect::Expectation;

/// The most of a body read to judge it: an answer is a few KiB; a stream
/// that never ends must not fill memory.
const MAX_BODY: usize = 1024 * 1024;

/// A smoke check ready to run: its client built, its pattern compiled.
#[derive(Debug)]
pub struct Prepared {
    pub name: String,
    method: reqwest::Method,
    url: String,
    body: Option<String>,
    timeout: Duration,
    expect: Expectation,
    client: HttpClient,
}

/// One finished check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    pub reason: String,
    pub latency: Duration,
}

/// Builds the checks' clients; fails (naming the check) where the config
/// loader would have refused.
pub fn prepare(checks: &[SmokeCheck]) -> Result<Vec<Prepared>, String> {
    checks
        .iter()
        .map(|c| {
            let fail = |e: String| format!("smoke check `{}`: {e}", c.name);
            let client = HttpClient::build(&HttpOptions {
                timeout: c.timeout,
                headers: c
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..HttpOptions::default()
            })
            .map_err(|e| fail(format!("{e:#}")))?;
            let method = reqwest::Method::from_bytes(c.method.as_bytes())
                .map_err(|_| fail(format!("`{}` is not a method", c.method)))?;
            Ok(Prepared {
                name: c.name.clone(),
                method,
                url: c.url.clone(),
                body: c.body.clone(),
                timeout: c.timeout,
                expect: Expectation::of(c).map_err(fail)?,
                client,
            })
        })
        .collect()
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
    let headers = p.client.headers().map_err(|e| format!("{e:#}"))?;
    let mut req = p
        .client
        .client()
        .request(p.method.clone(), &p.url)
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
