//! The one AWS client the AWS routers and sources share: `[aws]` in, signed
//! calls out over our reqwest client ([`crate::http`]), in each protocol
//! the services speak: REST with JSON (Lambda, API Gateway), JSON-RPC with
//! `X-Amz-Target` (SageMaker, CloudWatch's JSON form) and the query form
//! with XML answers (STS, CloudWatch's query form). Throttling, 5xx answers
//! and lost connections are retried a few times with backoff; credentials
//! a service refused are fetched again once.
//!
//! Chosen over the SDK crates by measuring cold release builds on the
//! 2-core machine: docs/aws.md has the figures.

mod credentials;
mod error;
mod profile;
mod sign;
mod sources;
mod sso;
pub mod xml;

use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use serde_json::Value;

pub use credentials::Credentials;
pub use error::{AwsError, ErrorKind, clean};

use crate::config::AwsConfig;
use crate::http::{HttpClient, HttpOptions, ProxyUse, error_chain};

/// One AWS service: the name it signs with and its endpoint's host prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub signing_name: &'static str,
    pub host_prefix: &'static str,
}

impl Service {
    const fn new(signing_name: &'static str, host_prefix: &'static str) -> Service {
        Service {
            signing_name,
            host_prefix,
        }
    }
}

pub const LAMBDA: Service = Service::new("lambda", "lambda");
pub const SAGEMAKER: Service = Service::new("sagemaker", "api.sagemaker");
pub const APIGATEWAY: Service = Service::new("apigateway", "apigateway");
pub const CLOUDWATCH: Service = Service::new("monitoring", "monitoring");
pub const STS: Service = Service::new("sts", "sts");

/// Tries per call: the first and two retries.
const TRIES: u32 = 3;
/// The first pause before a retry; doubled each time.
const BACKOFF: Duration = Duration::from_millis(200);
/// One request's time limit.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One request as the caller means it.
pub struct Request<'a> {
    pub service: Service,
    pub method: Method,
    /// Path and query, percent-encoded (see [`seg`]).
    pub path_and_query: String,
    /// Extra headers (`x-amz-target`).
    pub headers: Vec<(&'static str, String)>,
    pub content_type: Option<&'a str>,
    pub body: Vec<u8>,
}

/// A successful answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The answer's headers (Lambda's `X-Amz-Function-Error`).
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Result<Value, AwsError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| AwsError::new(ErrorKind::Unreadable, format!("not JSON: {e}")))
    }
}

/// A path segment percent-encoded (a function ARN's colons, a name's
/// spaces): everything but RFC 3986's unreserved characters.
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub struct AwsClient {
    http: HttpClient,
    region: String,
    endpoint: Option<String>,
    chain: credentials::Chain,
}

impl AwsClient {
    /// Reads `[aws]`, the environment and the shared files for the region
    /// and the credential chain; fetches no credentials yet.
    pub fn new(cfg: &AwsConfig) -> anyhow::Result<AwsClient> {
        AwsClient::with_timeout(cfg, CALL_TIMEOUT)
    }

    /// As [`new`](Self::new), each call cut off at `timeout` instead of
    /// [`CALL_TIMEOUT`] (a smoke check's invocation of a model).
    pub fn with_timeout(cfg: &AwsConfig, timeout: Duration) -> anyhow::Result<AwsClient> {
        // A CA bundle and a proxy as the AWS CLI takes them: `[aws]`, else
        // the environment. An emulator named in `endpoint_url` is reached
        // directly unless `[aws] proxy` says otherwise.
        let ca_file = cfg.ca_file.clone().or_else(|| env_path("AWS_CA_BUNDLE"));
        let proxy = match (&cfg.proxy, &cfg.endpoint_url) {
            (Some(url), _) => ProxyUse::Url(url.clone()),
            (None, None) => ProxyUse::FromEnv,
            (None, Some(_)) => ProxyUse::Never,
        };
        let http = HttpClient::build(&HttpOptions {
            timeout,
            ca_file: ca_file.clone(),
            proxy,
            ..Default::default()
        })
        .context("the AWS client ([aws] ca_file, proxy, or AWS_CA_BUNDLE)")?;
        // The instance and container credential endpoints are on this
        // host's own link: never through a proxy.
        let local = HttpClient::build(&HttpOptions {
            timeout: CALL_TIMEOUT,
            ca_file,
            ..Default::default()
        })?;
        // The shared files, read once for the region and the chain.
        let (files, paths) = credentials::read_files();
        let region = region(cfg, &files)?;
        let endpoint = cfg
            .endpoint_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string());
        let sts = sources::Sts {
            url: endpoint.clone().unwrap_or_else(|| host(STS, &region)),
            region: region.clone(),
        };
        let chain = credentials::Chain::new(
            cfg.profile.clone(),
            (files, paths),
            http.client().clone(),
            local.client().clone(),
            sts,
        );
        Ok(AwsClient {
            http,
            region,
            endpoint,
            chain,
        })
    }

    /// As [`new`](Self::new), signing with `creds` alone instead of the
    /// chain: tools and tests against an emulator.
    pub fn with_credentials(cfg: &AwsConfig, creds: Credentials) -> anyhow::Result<AwsClient> {
        let mut c = AwsClient::new(cfg)?;
        c.chain = c.chain.fixed(creds);
        Ok(c)
    }

    /// `region us-east-1` or `region us-east-1 at http://127.0.0.1:5000`.
    pub fn describe(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("region {} at {e}", self.region),
            None => format!("region {}", self.region),
        }
    }

    /// Where the credentials come from (fetches them if need be).
    pub async fn credentials_from(&self) -> Result<String, AwsError> {
        Ok(self.chain.get().await?.from)
    }

    fn url(&self, service: Service, path_and_query: &str) -> String {
        let base = match &self.endpoint {
            Some(e) => e.clone(),
            None => host(service, &self.region),
        };
        format!("{base}{path_and_query}")
    }

    /// Sends `req`, signed, with retries. A non-2xx answer is an error.
    pub async fn send(&self, req: &Request<'_>) -> Result<Answer, AwsError> {
        let mut pause = BACKOFF;
        let mut refreshed = false;
        let mut tries = 0;
        loop {
            tries += 1;
            match self.once(req).await {
                Ok(a) => return Ok(a),
                Err(e) if e.kind == ErrorKind::Denied && !refreshed => {
                    // Rotated or expired under us: fetch them again once.
                    refreshed = true;
                    self.chain.forget().await;
                    tracing::debug!("AWS refused the credentials ({e}); fetching them again");
                }
                Err(e) if e.retryable() && tries < TRIES => {
                    tracing::debug!(
                        "AWS {}: {e}; retrying in {pause:?}",
                        req.service.signing_name
                    );
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn once(&self, req: &Request<'_>) -> Result<Answer, AwsError> {
        let creds = self.chain.get().await?;
        let url = self.url(req.service, &req.path_and_query);
        let mut headers: Vec<(&str, String)> =
            req.headers.iter().map(|(k, v)| (*k, v.clone())).collect();
        if let Some(ct) = req.content_type {
            headers.push(("content-type", ct.to_string()));
        }
        let unsigned = sign::Unsigned {
            method: req.method.as_str(),
            url: &url,
            headers: &headers,
            body: &req.body,
        };
        let signer = sign::Signer {
            creds: &creds,
            region: &self.region,
            service: req.service.signing_name,
        };
        let resp = sign::build(self.http.client(), &unsigned, Some(signer))
            .map_err(|e| AwsError::new(ErrorKind::Credentials, e))?
            .send()
            .await
            .map_err(|e| AwsError::new(ErrorKind::Network, error_chain(&e.without_url())))?;
        let status = resp.status().as_u16();
        let answer_headers = resp.headers().clone();
        let error_type = resp
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp
            .bytes()
            .await
            .map_err(|e| AwsError::new(ErrorKind::Network, error_chain(&e.without_url())))?
            .to_vec();
        if (200..300).contains(&status) {
            Ok(Answer {
                status,
                headers: answer_headers,
                body,
            })
        } else {
            Err(AwsError::from_answer(status, error_type.as_deref(), &body))
        }
    }

    /// A REST call with a JSON body and answer (Lambda, API Gateway).
    pub async fn rest_json(
        &self,
        service: Service,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, AwsError> {
        let req = Request {
            service,
            method,
            path_and_query: path.to_string(),
            headers: vec![("accept", "application/json".into())],
            content_type: body.map(|_| "application/json"),
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        };
        self.send(&req).await?.json()
    }

    /// Lambda's Invoke of `function` (a name or a qualified ARN) with
    /// `payload`, waiting for the answer. A function that failed still
    /// answers 200, with `X-Amz-Function-Error` set and the error as body.
    pub async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Answer, AwsError> {
        let req = Request {
            service: LAMBDA,
            method: Method::POST,
            path_and_query: format!("/2015-03-31/functions/{}/invocations", seg(function)),
            headers: vec![("x-amz-invocation-type", "RequestResponse".into())],
            content_type: Some("application/json"),
            body: payload,
        };
        self.send(&req).await
    }

    /// A JSON-RPC call: `X-Amz-Target: <target>` with the given JSON
    /// version (`1.1` for SageMaker, `1.0` for CloudWatch's JSON form).
    pub async fn json_rpc(
        &self,
        service: Service,
        target: &str,
        version: &str,
        body: &Value,
    ) -> Result<Value, AwsError> {
        let ct = format!("application/x-amz-json-{version}");
        let req = Request {
            service,
            method: Method::POST,
            path_and_query: "/".into(),
            headers: vec![("x-amz-target", target.to_string())],
            content_type: Some(&ct),
            body: body.to_string().into_bytes(),
        };
        self.send(&req).await?.json()
    }

    /// A query-protocol call (`Action=...&Version=...`); the XML answer as
    /// text (read it with [`xml`]).
    pub async fn query(
        &self,
        service: Service,
        params: &[(&str, &str)],
    ) -> Result<String, AwsError> {
        let req = Request {
            service,
            method: Method::POST,
            path_and_query: "/".into(),
            headers: Vec::new(),
            content_type: Some("application/x-www-form-urlencoded; charset=utf-8"),
            body: sources::form_body(params).into_bytes(),
        };
        let a = self.send(&req).await?;
        Ok(String::from_utf8_lossy(&a.body).into_owned())
    }
}

/// `https://<prefix>.<region>.amazonaws.com` (`.com.cn` in China).
fn host(service: Service, region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{}.{region}.{suffix}", service.host_prefix)
}

/// The environment variable `name`, when set and not blank: how every
/// part of the AWS client reads the environment, as the AWS CLI does.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A path from the environment variable `name`, when set and not empty.
fn env_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(Into::into)
}

/// `[aws] region`, else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's.
fn region(cfg: &AwsConfig, files: &profile::Files) -> anyhow::Result<String> {
    let profile = credentials::profile_name(cfg.profile.as_deref());
    cfg.region
        .clone()
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| files.region(&profile))
        .context("no AWS region: set `region` in [aws], AWS_REGION, or `region` in the profile")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_segments() {
        assert_eq!(
            host(SAGEMAKER, "eu-west-1"),
            "https://api.sagemaker.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            host(LAMBDA, "cn-north-1"),
            "https://lambda.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            seg("arn:aws:lambda:us-east-1:1:function:chat model"),
            "arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Achat%20model"
        );
    }
}
